// Settings of the analysis pipeline (live and offline): ONE struct and ONE TOML file.
//
// The scoring maths has exactly one settings struct, exercise::AnalysisSettings (tables [emg], [onset],
// [verdicts], [fatigue], [motion], [motion.segmenter]; every field, unit and source in docs/SCORING.md). The
// pipeline adds only what the wiring needs: [sets] (what to do without set markers), [output] (stored plot
// envelopes) and [live] (the live consumer's queue and rep window). No threshold is defined twice.
// `AnalysisPipelineSettings{}` is the documented default (`glutescope config --print-defaults` prints it).
//
// Loading is strict: an unknown table or key, a value of the wrong type or out of range is a ConfigError
// whose message names the file and the key ("analysis.toml: verdicts.late_glute_delay_ms = -5: must be
// between 0 and 2000"). Every result stores the effective settings as TOML text (to_toml), so a result can be
// reproduced from its own file.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

#include "core/montage.hpp"
#include "exercise/analysis_settings.hpp"

namespace glutescope::pipeline {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SetDefaults {
  // A session without set_start/set_stop markers is analysed as one set of this exercise spanning the whole
  // recording (offline and live). "none" = not scored (the analysis reports that no set was marked).
  Exercise exercise_without_markers = Exercise::bridge;
  std::string other_exercise_name;  // NAME when exercise_without_markers is other ("other:NAME", issue 13)
  bool score_without_markers = true;
};

struct OutputSettings {
  double envelope_rate_hz = 50.0;  // rate of the RMS envelopes stored in the sidecar for plots (Hz)
};

struct LiveSettings {
  std::size_t queue_capacity_blocks = 4096;  // bounded queue between acquisition and analysis (drop + count)
  double history_s = 60.0;  // conditioned EMG kept for rep windows and MVC trials (s); older data is not
                            // scored. Must hold the longest rep window (checked at load).
  Side clamshell_upper_side = Side::left;  // the moving leg of a clamshell set whose marker names no side
                                           // (live must fix the driving angle at the set start; offline picks
                                           // the thigh that moved most)
};

struct AnalysisPipelineSettings {
  exercise::AnalysisSettings scoring = exercise::kDefaultAnalysisSettings;  // the one scoring implementation
  SetDefaults sets;
  OutputSettings output;
  LiveSettings live;
  // Not a setting (not in the TOML, not stored): threads one file's analysis may use
  // (exercise::analyse_session); the results are the same with any number.
  std::size_t threads = 1;
};

// "bridge", "clamshell" or "other:NAME" (NAME: letters, digits, '_') into sets.exercise_without_markers
// (analyze --exercise, the TOML key); ConfigError naming `source` otherwise.
void set_exercise_without_markers(AnalysisPipelineSettings& settings, const std::string& text,
                                  const std::string& source);
// The exercise without markers as set_exercise_without_markers reads it.
std::string exercise_without_markers_text(const SetDefaults& sets);
inline const AnalysisPipelineSettings kDefaultAnalysisPipelineSettings{};

// Throws ConfigError naming `source` and the key for a value out of range.
void validate(const AnalysisPipelineSettings& settings, const std::string& source = "settings");
// Parse TOML text (keys omitted keep their defaults). Throws ConfigError naming source and key.
AnalysisPipelineSettings parse_analysis_settings(const std::string& toml_text, const std::string& source);
AnalysisPipelineSettings load_analysis_settings(const std::string& path);
// The full effective settings as TOML (the exercise tables, then [sets], [output], [live]);
// parse_analysis_settings of the result gives back the same settings.
std::string to_toml(const AnalysisPipelineSettings& settings);

}  // namespace glutescope::pipeline
