// Analysis results on disk: the sidecar file FILE.analysis.h5 beside the session FILE.h5 (layout in
// docs/SESSION_FORMAT.md, section "Analysis sidecar"). The session file itself is never opened for writing.
// This file only maps an AnalysisResult to the store's plain SidecarImage and back; the HDF5 I/O (atomic
// rename, deterministic bytes, rank/shape/type checks, numeric version check) is store/analysis_sidecar.hpp.
//
// Threading: any thread; one call per output path at a time (HDF5 is the thread-safe build).
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "pipeline/analysis.hpp"
#include "store/analysis_sidecar.hpp"

namespace glutescope::pipeline {

using store::analysis_path_for;  // FILE.h5 → FILE.analysis.h5
using store::kAnalysisSuffix;

void write_analysis_file(const AnalysisResult& result, const std::filesystem::path& out);
// Throws std::runtime_error naming the path for a missing, foreign, older or newer-version analysis file,
// a dataset of the wrong rank, shape or type, a code out of range, or settings that cannot be parsed.
AnalysisResult read_analysis_file(const std::filesystem::path& path);
// The full settings an analysis file of any format version was made with. Throws std::runtime_error naming
// the path when they cannot be read or parsed (never the defaults instead).
AnalysisPipelineSettings read_analysis_file_settings(const std::filesystem::path& path);

}  // namespace glutescope::pipeline
