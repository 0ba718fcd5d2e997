// The clinician's report of one analysed session: plain text (a minute's reading: each rep's verdict, set
// summaries, the normalisation used) and a self-contained HTML page with inline SVG plots (envelopes with
// reps and phases shaded, glute-to-lumbar ratio per rep; no scripts, no external resources: opens offline).
//
// Threading: pure functions of an AnalysisResult.
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>

#include "pipeline/analysis.hpp"

namespace glutescope::pipeline {

std::string format_text_report(const AnalysisResult& result);
// `s` with & < > " as HTML entities (also used by the cohort page, longitudinal.cpp).
std::string html_escape(const std::string& s);
std::string format_html_report(const AnalysisResult& result);

// For `glutescope report` and `glutescope demo`: prints the text report to `out` and writes the HTML report
// to html_out when given (temp + rename). The result comes from:
// - `config` given: a fresh analysis with those settings (the sidecar is replaced);
// - else FILE.analysis.h5 when it reads and belongs to this session (same input hash);
// - else, if that sidecar is stale (other raw data, older format, unreadable datasets): one "note:" line
//   saying why, then a fresh analysis with the settings the sidecar was made with (read from it; settings
//   that cannot be read or parsed are an error naming the file, never the defaults), replacing it;
// - else (no sidecar) a fresh analysis with the default settings, written as the sidecar.
// Throws std::runtime_error (ConfigError for `config`) naming the file.
AnalysisResult print_session_report(const std::filesystem::path& session_path, std::ostream& out,
                                    const std::optional<std::filesystem::path>& html_out = std::nullopt,
                                    const std::optional<std::filesystem::path>& config = std::nullopt);

}  // namespace glutescope::pipeline
