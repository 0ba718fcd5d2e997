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

// For `glutescope report` and `glutescope demo`: reads FILE.analysis.h5 if it exists and belongs to this
// session (same input hash), otherwise analyses the session with the default settings (and writes the
// sidecar); prints the text report to `out`; writes the HTML report to html_out when given (temp + rename).
// Throws std::runtime_error naming the file.
AnalysisResult print_session_report(const std::filesystem::path& session_path, std::ostream& out,
                                    const std::optional<std::filesystem::path>& html_out = std::nullopt);

}  // namespace glutescope::pipeline
