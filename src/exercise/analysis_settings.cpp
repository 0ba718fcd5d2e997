#include "exercise/analysis_settings.hpp"

#include <cmath>
#include <limits>
#include <map>
#include <sstream>
#include <stdexcept>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

namespace glutescope::exercise {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One settings key: where it lives, its unit and its allowed closed range. The same table drives loading,
// validation and both dumps, so a new field cannot be forgotten in one of them.
struct Field {
  std::string table;  // "emg", "motion.segmenter", ...
  std::string key;
  std::variant<double*, int*, bool*> value;
  std::string unit;
  double min = -kInf;
  double max = kInf;
};

template <class S>
std::vector<Field> fields_of(S& s) {
  auto& e = s.emg;
  auto& o = s.onset;
  auto& v = s.verdicts;
  auto& f = s.fatigue;
  auto& m = s.motion;
  auto& g = s.motion.segmenter;
  return {
      {"emg", "bandpass_order", &e.bandpass_order, "", 1, 8},
      {"emg", "bandpass_low_hz", &e.bandpass_low_hz, "Hz", 1, 1000},
      {"emg", "bandpass_high_hz", &e.bandpass_high_hz, "Hz", 10, 5000},
      {"emg", "lumbar_highpass_hz", &e.lumbar_highpass_hz, "Hz", 0, 200},
      {"emg", "mains_hz", &e.mains_hz, "Hz", 0, 70},
      {"emg", "notch_quality", &e.notch_quality, "", 1, 200},
      {"emg", "rms_window_ms", &e.rms_window_ms, "ms", 5, 1000},
      {"emg", "peak_window_ms", &e.peak_window_ms, "ms", 10, 3000},
      {"onset", "k_sd", &o.k_sd, "SD", 0.5, 50},
      {"onset", "min_active_ms", &o.min_active_ms, "ms", 1, 500},
      {"onset", "min_rest_ms", &o.min_rest_ms, "ms", 0, 500},
      {"onset", "smoothing_cutoff_hz", &o.smoothing_cutoff_hz, "Hz", 0, 500},
      {"onset", "baseline_ms", &o.baseline_ms, "ms", 50, 10000},
      {"onset", "baseline_offset_ms", &o.baseline_offset_ms, "ms", 0, 5000},
      {"onset", "pre_movement_ms", &o.pre_movement_ms, "ms", 0, 3000},
      {"onset", "rest_baseline", &o.rest_baseline, "", 0, 1},
      {"onset", "robust_baseline", &o.robust_baseline, "", 0, 1},
      {"onset", "rest_guard_ms", &o.rest_guard_ms, "ms", 0, 5000},
      {"onset", "local_baseline_min_ms", &o.local_baseline_min_ms, "ms", 50, 10000},
      {"verdicts", "glute_fired_min_pct_mvic", &v.glute_fired_min_pct_mvic, "%MVIC", 0, 100},
      {"verdicts", "lumbar_es_to_glute_ratio", &v.lumbar_es_to_glute_ratio, "", 0.01, 100},
      {"verdicts", "late_glute_delay_ms", &v.late_glute_delay_ms, "ms", 0, 2000},
      {"verdicts", "pelvic_roll_threshold_deg", &v.pelvic_roll_threshold_deg, "deg", 0, 90},
      {"verdicts", "pelvic_tilt_threshold_deg", &v.pelvic_tilt_threshold_deg, "deg", 0, 90},
      {"verdicts", "hamstring_to_gmax_ratio", &v.hamstring_to_gmax_ratio, "", 0.01, 100},
      {"verdicts", "tfl_to_gmed_ratio", &v.tfl_to_gmed_ratio, "", 0.01, 100},
      {"verdicts", "ratios_without_mvc", &v.ratios_without_mvc, "", 0, 1},
      {"verdicts", "saturation_fraction", &v.saturation_fraction, "", 0, 1},
      {"fatigue", "window_ms", &f.window_ms, "ms", 50, 5000},
      {"fatigue", "welch_segment_samples", &f.welch_segment_samples, "samples", 16, 65536},
      {"fatigue", "band_low_hz", &f.band_low_hz, "Hz", 1, 1000},
      {"fatigue", "band_high_hz", &f.band_high_hz, "Hz", 10, 5000},
      {"motion", "orientation_gain", &m.orientation_gain, "", 0, 10},
      {"motion", "still_period_s", &m.still_period_s, "s", 0.05, 10},
      {"motion", "accelerometer_lowpass_hz", &m.accelerometer_lowpass_hz, "Hz", 0.1, 20},
      {"motion.segmenter", "lowpass_cutoff_hz", &g.lowpass_cutoff_hz, "Hz", 0.1, 20},
      {"motion.segmenter", "baseline_period_s", &g.baseline_period_s, "s", 0, 10},
      {"motion.segmenter", "rom_reference_deg", &g.rom_reference_deg, "deg", 0, 180},
      {"motion.segmenter", "provisional_rom_deg", &g.provisional_rom_deg, "deg", 1, 180},
      {"motion.segmenter", "enter_fraction", &g.enter_fraction, "", 0.01, 0.99},
      {"motion.segmenter", "exit_fraction", &g.exit_fraction, "", 0.01, 0.99},
      {"motion.segmenter", "flank_fraction", &g.flank_fraction, "", 0.01, 0.99},
      {"motion.segmenter", "partial_fraction", &g.partial_fraction, "", 0.01, 1.0},
      {"motion.segmenter", "hold_velocity_fraction_per_s", &g.hold_velocity_fraction_per_s, "1/s", 0.001, 10},
      {"motion.segmenter", "velocity_window_s", &g.velocity_window_s, "s", 0.005, 0.6},
      {"motion.segmenter", "min_phase_s", &g.min_phase_s, "s", 0, 10},
      {"motion.segmenter", "min_rep_s", &g.min_rep_s, "s", 0, 60},
      {"motion.segmenter", "max_rep_s", &g.max_rep_s, "s", 0.5, 600},
      {"motion.segmenter", "refractory_s", &g.refractory_s, "s", 0, 60},
      {"motion.segmenter", "offline_rom_percentile", &g.offline_rom_percentile, "%", 1, 100},
  };
}

std::string full_key(const Field& f) { return f.table + "." + f.key; }

double as_double(const Field& f) {
  return std::visit([](auto* p) { return static_cast<double>(*p); }, f.value);
}

std::string format_value(const Field& f) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>)
          return *p ? "true" : "false";
        else if constexpr (std::is_same_v<T, int>)
          return std::to_string(*p);
        else
          return fmt::format("{}", *p);
      },
      f.value);
}

[[noreturn]] void range_error(const Field& f, const std::string& source) {
  throw std::invalid_argument(fmt::format("{}: {} = {}{}{}: must be between {} and {}", source, full_key(f),
                                          format_value(f), f.unit.empty() ? "" : " ", f.unit, f.min, f.max));
}

void check_ranges(const AnalysisSettings& settings, const std::string& source) {
  auto& s = const_cast<AnalysisSettings&>(settings);  // fields_of needs mutable refs; nothing is written
  for (const Field& f : fields_of(s)) {
    const double v = as_double(f);
    if (!std::isfinite(v) || v < f.min || v > f.max) range_error(f, source);
  }
  if (s.emg.bandpass_low_hz >= s.emg.bandpass_high_hz) {
    throw std::invalid_argument(
        fmt::format("{}: emg.bandpass_low_hz = {} Hz must be below emg.bandpass_high_hz = {} Hz", source,
                    s.emg.bandpass_low_hz, s.emg.bandpass_high_hz));
  }
  if (s.fatigue.band_low_hz >= s.fatigue.band_high_hz) {
    throw std::invalid_argument(
        fmt::format("{}: fatigue.band_low_hz = {} Hz must be below fatigue.band_high_hz = {} Hz", source,
                    s.fatigue.band_low_hz, s.fatigue.band_high_hz));
  }
  if (s.motion.segmenter.exit_fraction >= s.motion.segmenter.enter_fraction) {
    throw std::invalid_argument(fmt::format(
        "{}: motion.segmenter.exit_fraction = {} must be below motion.segmenter.enter_fraction = {}", source,
        s.motion.segmenter.exit_fraction, s.motion.segmenter.enter_fraction));
  }
  if (s.motion.segmenter.min_rep_s >= s.motion.segmenter.max_rep_s) {
    throw std::invalid_argument(
        fmt::format("{}: motion.segmenter.min_rep_s = {} s must be below max_rep_s = {} s", source,
                    s.motion.segmenter.min_rep_s, s.motion.segmenter.max_rep_s));
  }
  // Settings the data can never satisfy, rejected here rather than failing at the first set (live: mid-
  // recording). A set without a still period before its first rep takes its onset baseline from the
  // quietest onset.baseline_ms window; live has only the rep's own window to search then (pre_movement_ms
  // before the movement plus the rep), so the baseline must fit into the shortest rep window.
  const double shortest_rep_window_ms = s.onset.pre_movement_ms + 1000.0 * s.motion.segmenter.min_rep_s;
  if (s.onset.baseline_ms > shortest_rep_window_ms) {
    throw std::invalid_argument(fmt::format(
        "{}: onset.baseline_ms = {} ms is longer than the shortest rep window (onset.pre_movement_ms + "
        "motion.segmenter.min_rep_s = {} ms) it may have to be found in",
        source, s.onset.baseline_ms, shortest_rep_window_ms));
  }
  // The spectral window is centred on the rep's peak: longer than the longest rep, it always reaches into
  // the neighbouring reps.
  if (s.fatigue.window_ms > 1000.0 * s.motion.segmenter.max_rep_s) {
    throw std::invalid_argument(fmt::format(
        "{}: fatigue.window_ms = {} ms is longer than the longest rep (motion.segmenter.max_rep_s = {} s)",
        source, s.fatigue.window_ms, s.motion.segmenter.max_rep_s));
  }
}

// Walks every node of a settings file so that unknown tables and keys are reported, not ignored, and assigns
// each known key to its field after checking its type and range. (A named class, not a recursive generic
// lambda: clang-tidy 14 crashes on the latter.)
class SettingsWalker {
 public:
  SettingsWalker(const std::string& source, const std::map<std::string, Field*>& by_key,
                 const std::map<std::string, bool>& tables)
      : source_(source), by_key_(by_key), tables_(tables) {}

  void walk(const toml::table& table, const std::string& prefix) const {
    for (const auto& [k, node] : table) {
      const std::string name = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
      if (const toml::table* sub = node.as_table()) {
        check_table(name);
        walk(*sub, name);
        continue;
      }
      const auto it = by_key_.find(name);
      if (it == by_key_.end()) {
        throw std::invalid_argument(fmt::format("{}: unknown settings key '{}'", source_, name));
      }
      assign(*it->second, node, name);
    }
  }

 private:
  void check_table(const std::string& name) const {
    if (tables_.count(name)) return;
    // "motion" is both a table of keys and the parent of "motion.segmenter".
    bool is_parent = false;
    for (const auto& [t, unused] : tables_) is_parent = is_parent || t.rfind(name + ".", 0) == 0;
    if (!is_parent)
      throw std::invalid_argument(fmt::format("{}: unknown settings table [{}]", source_, name));
  }

  void assign(const Field& f, const toml::node& node, const std::string& name) const {
    std::visit(
        [&](auto* p) {
          using T = std::remove_pointer_t<decltype(p)>;
          if constexpr (std::is_same_v<T, bool>) {
            if (!node.is_boolean())
              throw std::invalid_argument(fmt::format("{}: {} must be true or false", source_, name));
            *p = node.as_boolean()->get();
          } else if constexpr (std::is_same_v<T, int>) {
            if (!node.is_integer())
              throw std::invalid_argument(fmt::format("{}: {} must be an integer", source_, name));
            const auto v = node.as_integer()->get();
            if (v < static_cast<std::int64_t>(f.min) || v > static_cast<std::int64_t>(f.max)) {
              throw std::invalid_argument(
                  fmt::format("{}: {} = {}: must be between {} and {}", source_, name, v, f.min, f.max));
            }
            *p = static_cast<int>(v);
          } else {
            if (node.is_integer())
              *p = static_cast<double>(node.as_integer()->get());
            else if (node.is_floating_point())
              *p = node.as_floating_point()->get();
            else
              throw std::invalid_argument(fmt::format("{}: {} must be a number ({})", source_, name, f.unit));
          }
        },
        f.value);
  }

  const std::string& source_;
  const std::map<std::string, Field*>& by_key_;
  const std::map<std::string, bool>& tables_;
};

}  // namespace

void validate(const AnalysisSettings& settings) { check_ranges(settings, "analysis settings"); }

AnalysisSettings analysis_settings_from_toml(std::string_view toml_text, std::string_view source_name) {
  const std::string source(source_name);
  toml::table root;
  try {
    root = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    throw std::invalid_argument(
        fmt::format("{}:{}:{}: TOML syntax error: {}", source, where.line, where.column, e.description()));
  }
  AnalysisSettings s = kDefaultAnalysisSettings;
  std::vector<Field> fields = fields_of(s);
  std::map<std::string, Field*> by_key;
  std::map<std::string, bool> tables;
  for (Field& f : fields) {
    by_key[full_key(f)] = &f;
    tables[f.table] = true;
  }

  SettingsWalker{source, by_key, tables}.walk(root, "");
  check_ranges(s, source);
  return s;
}

std::string to_toml(const AnalysisSettings& settings) {
  auto& s = const_cast<AnalysisSettings&>(settings);  // read only
  std::ostringstream out;
  out << "# glutescope analysis settings (effective values; docs/SCORING.md explains each)\n";
  std::string table;
  for (const Field& f : fields_of(s)) {
    if (f.table != table) {
      table = f.table;
      out << "\n[" << table << "]\n";
    }
    out << f.key << " = ";
    std::string v = format_value(f);
    // TOML floats need a decimal point or exponent to stay floats on reload (ints are accepted anyway).
    out << v;
    if (!f.unit.empty()) out << "  # " << f.unit;
    out << "\n";
  }
  return out.str();
}

nlohmann::json to_json(const AnalysisSettings& settings) {
  auto& s = const_cast<AnalysisSettings&>(settings);  // read only
  nlohmann::json j = nlohmann::json::object();
  for (const Field& f : fields_of(s)) {
    nlohmann::json* node = &j;
    std::string rest = f.table;
    std::size_t dot = 0;
    while ((dot = rest.find('.')) != std::string::npos) {
      node = &(*node)[rest.substr(0, dot)];
      rest = rest.substr(dot + 1);
    }
    node = &(*node)[rest];
    std::visit([&](auto* p) { (*node)[f.key] = *p; }, f.value);
  }
  return j;
}

}  // namespace glutescope::exercise
