#include "pipeline/analysis_settings.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

namespace glutescope::pipeline {
namespace {

// The pipeline's own tables. The exercise tables are parsed by exercise::analysis_settings_from_toml.
constexpr const char* kPipelineTables[] = {"sets", "output", "live"};

bool is_pipeline_table(std::string_view name) {
  for (const char* t : kPipelineTables) {
    if (name == t) return true;
  }
  return false;
}

double number(const toml::node& node, const std::string& source, const std::string& key) {
  if (auto d = node.value_exact<double>()) return *d;
  if (auto i = node.value_exact<std::int64_t>()) return static_cast<double>(*i);
  throw ConfigError(fmt::format("{}: {} must be a number", source, key));
}

void check_range(double v, double lo, double hi, const std::string& source, const std::string& key,
                 const char* unit) {
  if (!std::isfinite(v) || v < lo || v > hi) {
    throw ConfigError(fmt::format("{}: {} = {}: must be between {} and {}{}{}", source, key, v, lo, hi,
                                  *unit ? " " : "", unit));
  }
}

}  // namespace

void set_exercise_without_markers(AnalysisPipelineSettings& s, const std::string& text,
                                  const std::string& source) {
  const std::string name = text.rfind("other:", 0) == 0 ? text.substr(6) : std::string();
  const bool name_ok =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
      });
  if (text == "bridge" || text == "clamshell") {
    s.sets.exercise_without_markers = text == "bridge" ? Exercise::bridge : Exercise::clamshell;
    s.sets.other_exercise_name.clear();
  } else if (name_ok) {
    s.sets.exercise_without_markers = Exercise::other;
    s.sets.other_exercise_name = name;
  } else {
    throw ConfigError(
        fmt::format("{}: exercise '{}' must be bridge, clamshell or other:NAME (NAME: letters, "
                    "digits, _)",
                    source, text.substr(0, 80)));
  }
}

std::string exercise_without_markers_text(const SetDefaults& sets) {
  if (sets.exercise_without_markers == Exercise::other) return "other:" + sets.other_exercise_name;
  return std::string(to_string(sets.exercise_without_markers));
}

namespace {

void parse_pipeline_table(AnalysisPipelineSettings& s, const std::string& table_name,
                          const toml::table& table, const std::string& source) {
  for (const auto& [name_key, node] : table) {
    const std::string name(name_key.str());
    const std::string key = fmt::format("{}.{}", table_name, name);
    if (key == "sets.exercise_without_markers") {
      const auto text = node.value_exact<std::string>();
      if (!text) throw ConfigError(fmt::format("{}: {} must be a string", source, key));
      set_exercise_without_markers(s, *text, fmt::format("{}: {}", source, key));
    } else if (key == "sets.score_without_markers") {
      const auto b = node.value_exact<bool>();
      if (!b) throw ConfigError(fmt::format("{}: {} must be true or false", source, key));
      s.sets.score_without_markers = *b;
    } else if (key == "output.envelope_rate_hz") {
      s.output.envelope_rate_hz = number(node, source, key);
    } else if (key == "live.queue_capacity_blocks") {
      const auto i = node.value_exact<std::int64_t>();
      if (!i) throw ConfigError(fmt::format("{}: {} must be an integer", source, key));
      check_range(static_cast<double>(*i), 16, 1e6, source, key, "blocks");
      s.live.queue_capacity_blocks = static_cast<std::size_t>(*i);
    } else if (key == "live.filter_lead_in_s") {
      // Obsolete since the live path streams its filters (no per-rep restart to warm up): still a number in
      // range so that older files load, otherwise ignored. Drop after one release.
      check_range(number(node, source, key), 0, 10, source, key, "s");
    } else if (key == "live.clamshell_upper_side") {
      const auto text = node.value_exact<std::string>();
      if (!text || (*text != "left" && *text != "right")) {
        throw ConfigError(fmt::format("{}: {} must be \"left\" or \"right\"", source, key));
      }
      s.live.clamshell_upper_side = *text == "left" ? Side::left : Side::right;
    } else if (key == "live.history_s") {
      s.live.history_s = number(node, source, key);
    } else {
      throw ConfigError(fmt::format(
          "{}: unknown settings key '{}' (glutescope config --print-defaults lists them)", source, key));
    }
  }
}

}  // namespace

void validate(const AnalysisPipelineSettings& s, const std::string& source) {
  try {
    exercise::validate(s.scoring);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(fmt::format("{}: {}", source, e.what()));
  }
  check_range(s.output.envelope_rate_hz, 1, 1000, source, "output.envelope_rate_hz", "Hz");
  check_range(static_cast<double>(s.live.queue_capacity_blocks), 16, 1e6, source,
              "live.queue_capacity_blocks", "blocks");
  check_range(s.live.history_s, 10, 600, source, "live.history_s", "s");
  // The live rep window (pre-movement search, the longest rep, its tail and the centred envelope windows)
  // must fit in the conditioned history, or every long rep is "not scored".
  const exercise::AnalysisSettings& sc = s.scoring;
  const double longest_window_s = sc.onset.pre_movement_ms / 1000.0 + sc.motion.segmenter.max_rep_s + 0.3 +
                                  (sc.emg.rms_window_ms + sc.emg.peak_window_ms) / 1000.0;
  if (s.live.history_s < longest_window_s) {
    throw ConfigError(
        fmt::format("{}: live.history_s = {} s cannot hold the longest live rep window ({:.2f} s: "
                    "onset.pre_movement_ms + motion.segmenter.max_rep_s + 0.3 s + the envelope "
                    "windows)",
                    source, s.live.history_s, longest_window_s));
  }
  const Exercise ex = s.sets.exercise_without_markers;
  if (ex != Exercise::bridge && ex != Exercise::clamshell &&
      (ex != Exercise::other || s.sets.other_exercise_name.empty())) {
    throw ConfigError(
        fmt::format("{}: sets.exercise_without_markers must be bridge, clamshell or other:NAME", source));
  }
}

AnalysisPipelineSettings parse_analysis_settings(const std::string& toml_text, const std::string& source) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}:{}: TOML syntax error: {}", source, e.source().begin.line,
                                  e.source().begin.column, e.description()));
  }
  AnalysisPipelineSettings s;
  // Split the document: the pipeline's tables here, everything else to the exercise module's strict parser
  // (which names unknown tables and keys itself).
  toml::table scoring_tables;
  for (const auto& [name_key, node] : doc) {
    const std::string name(name_key.str());
    if (is_pipeline_table(name)) {
      const toml::table* table = node.as_table();
      if (table == nullptr)
        throw ConfigError(fmt::format("{}: '{}' must be a table ([{}])", source, name, name));
      parse_pipeline_table(s, name, *table, source);
    } else {
      scoring_tables.insert(name_key, node);
    }
  }
  std::ostringstream scoring_text;
  scoring_text << scoring_tables;
  try {
    s.scoring = exercise::analysis_settings_from_toml(scoring_text.str(), source);
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());  // already "<source>: <key> ..."
  }
  validate(s, source);
  return s;
}

AnalysisPipelineSettings load_analysis_settings(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(fmt::format("{}: cannot open the configuration file", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_analysis_settings(text.str(), path);
}

std::string to_toml(const AnalysisPipelineSettings& s) {
  std::string out = exercise::to_toml(s.scoring);
  out += "\n# ---- pipeline (docs/ANALYSIS.md \"Configuration\") ----\n";
  out += "\n[sets]\n";
  out += fmt::format("score_without_markers = {}  # no set markers: analyse the whole recording as one set\n",
                     s.sets.score_without_markers ? "true" : "false");
  out += fmt::format("exercise_without_markers = \"{}\"  # bridge | clamshell | other:NAME\n",
                     exercise_without_markers_text(s.sets));
  out += "\n[output]\n";
  out +=
      fmt::format("envelope_rate_hz = {}  # Hz, stored RMS envelopes for plots\n", s.output.envelope_rate_hz);
  out += "\n[live]\n";
  out += fmt::format("queue_capacity_blocks = {}  # blocks, bounded queue (drop and count when full)\n",
                     s.live.queue_capacity_blocks);
  out += fmt::format("history_s = {}  # s, conditioned EMG kept for rep windows and MVC trials\n",
                     s.live.history_s);
  out += fmt::format("clamshell_upper_side = \"{}\"  # left | right, when a clamshell marker names no side\n",
                     to_string(s.live.clamshell_upper_side));
  return out;
}

}  // namespace glutescope::pipeline
