// Analysis results on disk: the sidecar file FILE.analysis.h5 beside the session FILE.h5 (layout in
// docs/SESSION_FORMAT.md, section "Analysis sidecar"). The session file itself is never opened for writing.
//
// Safe for many processes at once: write_analysis_file() writes `<out>.tmp-<pid>-<thread>` and renames it
// onto `out` (rename(2) is atomic within a file system), so a reader sees either the previous complete result
// or the new one, never a partial file; a failed write removes its temporary file.
//
// Threading: any thread; one call per output path at a time (HDF5 is the thread-safe build).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "pipeline/analysis.hpp"

namespace glutescope::pipeline {

inline constexpr std::string_view kAnalysisFormatName = "glutescope-analysis";
inline constexpr std::string_view kAnalysisFormatVersion = "2.0";
inline constexpr std::string_view kAnalysisSuffix = ".analysis.h5";

// FILE.h5 → FILE.analysis.h5 (any other name: NAME.analysis.h5).
std::filesystem::path analysis_path_for(const std::filesystem::path& session_path);

void write_analysis_file(const AnalysisResult& result, const std::filesystem::path& out);
// Throws std::runtime_error naming the path for a missing, foreign or newer-version analysis file.
AnalysisResult read_analysis_file(const std::filesystem::path& path);

}  // namespace glutescope::pipeline
