// The review view (`glutescope view SESSION.h5`, docs/CLINICIAN.md "Review"): one session file loaded and
// analysed offline (pipeline::load_session + pipeline::analyse, the same analysis as `analyze`), served to
// the page as one "review" message; the page asks for each rep's detail.
//
//   text {"type":"review", ...}       file, subject, channels, the analysis (exercise::to_json: sets, reps,
//                                     verdicts), each rep's traffic light
//   from the page {"type":"rep_detail","set":S,"rep":R}
//   text {"type":"rep_detail", ...}   the rep's window (1 s either side): raw EMG (µV) as min/max per column,
//                                     the RMS envelope (µV), the driving angle (deg), onsets and phase times
//
// Threading: built on the calling thread, then read-only; handle() runs on the server thread.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "pipeline/analysis.hpp"

namespace glutescope::web {

class SessionReview {
 public:
  // Throws std::runtime_error / std::invalid_argument naming the file (unreadable, foreign, not analysable).
  SessionReview(const std::filesystem::path& session, const pipeline::AnalysisPipelineSettings& settings);

  [[nodiscard]] const std::string& hello() const noexcept { return hello_; }
  [[nodiscard]] std::size_t rep_count() const noexcept { return result_.rep_count(); }
  // A rep_detail request → its reply (an error reply for a set/rep that does not exist). Throws
  // std::invalid_argument for a message of another type or with non-integer indices.
  [[nodiscard]] std::string handle(const nlohmann::json& message) const;

 private:
  [[nodiscard]] nlohmann::json rep_detail(std::size_t set, std::size_t rep) const;

  pipeline::LoadedSession session_;
  pipeline::AnalysisResult result_;
  std::string hello_;
};

}  // namespace glutescope::web
