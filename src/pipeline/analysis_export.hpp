// Export of a session with its analysis: gathers raw counts (store::SessionReader), full-rate envelopes (the
// offline EMG chain) and set/rep annotations (the analysis) and hands them to store/export.
#pragma once

#include <filesystem>

namespace glutescope::pipeline {

enum class ExportFormat { csv, bdf };

// Throws std::runtime_error naming the file.
void export_session(const std::filesystem::path& session_path, ExportFormat format,
                    const std::filesystem::path& out);

}  // namespace glutescope::pipeline
