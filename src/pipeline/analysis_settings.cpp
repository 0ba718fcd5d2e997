#include "pipeline/analysis_settings.hpp"

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>
#include <vector>

#include <fmt/core.h>
#include <toml++/toml.h>

namespace glutescope::pipeline {
namespace {

using S = AnalysisPipelineSettings;

// One configurable key: where it lives, what it means, how to read/write it and its allowed range.
struct Key {
  std::string section;
  std::string name;
  std::string comment;  // units and meaning, printed above the key
  std::function<std::string(const S&)> print;
  // Returns an error text ("is out of range (...)") or empty on success.
  std::function<std::string(S&, const toml::node&)> parse;
  std::function<std::string(const S&)> check;  // range check on a complete settings value
};

std::string toml_double(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

std::string range_error(double v, double lo, double hi, bool lo_open) {
  if (!std::isfinite(v) || (lo_open ? v <= lo : v < lo) || v > hi) {
    return fmt::format("= {} is out of range ({} {} .. {})", v, lo_open ? ">" : ">=", lo, hi);
  }
  return {};
}

template <typename Ref>
Key number_key(std::string section, std::string name, std::string comment, Ref ref, double lo, double hi,
               bool lo_open = false) {
  Key k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.comment = std::move(comment);
  k.print = [ref](const S& s) { return toml_double(ref(const_cast<S&>(s))); };
  k.parse = [ref](S& s, const toml::node& n) -> std::string {
    if (auto d = n.value_exact<double>()) {
      ref(s) = *d;
    } else if (auto i = n.value_exact<std::int64_t>()) {
      ref(s) = static_cast<double>(*i);
    } else {
      return "must be a number";
    }
    return {};
  };
  k.check = [ref, lo, hi, lo_open](const S& s) { return range_error(ref(const_cast<S&>(s)), lo, hi, lo_open); };
  return k;
}

template <typename Ref>
Key int_key(std::string section, std::string name, std::string comment, Ref ref, long lo, long hi) {
  Key k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.comment = std::move(comment);
  k.print = [ref](const S& s) { return fmt::format("{}", ref(const_cast<S&>(s))); };
  k.parse = [ref](S& s, const toml::node& n) -> std::string {
    auto i = n.value_exact<std::int64_t>();
    if (!i) return "must be an integer";
    ref(s) = static_cast<std::remove_reference_t<decltype(ref(s))>>(*i);
    return {};
  };
  k.check = [ref, lo, hi](const S& s) -> std::string {
    const auto v = static_cast<long>(ref(const_cast<S&>(s)));
    if (v < lo || v > hi) return fmt::format("= {} is out of range ({} .. {})", v, lo, hi);
    return {};
  };
  return k;
}

template <typename Ref>
Key bool_key(std::string section, std::string name, std::string comment, Ref ref) {
  Key k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.comment = std::move(comment);
  k.print = [ref](const S& s) { return std::string(ref(const_cast<S&>(s)) ? "true" : "false"); };
  k.parse = [ref](S& s, const toml::node& n) -> std::string {
    auto b = n.value_exact<bool>();
    if (!b) return "must be true or false";
    ref(s) = *b;
    return {};
  };
  k.check = [](const S&) { return std::string(); };
  return k;
}

// An enumerated string key: `names` lists the allowed spellings with their values.
template <typename E, typename Ref>
Key enum_key(std::string section, std::string name, std::string comment, Ref ref,
             std::vector<std::pair<std::string, E>> names) {
  Key k;
  k.section = std::move(section);
  k.name = std::move(name);
  k.comment = std::move(comment);
  k.print = [ref, names](const S& s) {
    for (const auto& [text, value] : names) {
      if (value == ref(const_cast<S&>(s))) return fmt::format("\"{}\"", text);
    }
    return std::string("\"?\"");
  };
  k.parse = [ref, names](S& s, const toml::node& n) -> std::string {
    auto text = n.value_exact<std::string>();
    std::string allowed;
    for (const auto& [t, v] : names) allowed += (allowed.empty() ? "" : ", ") + t;
    if (!text) return fmt::format("must be a string, one of: {}", allowed);
    for (const auto& [t, v] : names) {
      if (t == *text) {
        ref(s) = v;
        return {};
      }
    }
    return fmt::format("= \"{}\" is not one of: {}", *text, allowed);
  };
  k.check = [](const S&) { return std::string(); };
  return k;
}

const std::vector<Key>& keys() {
  static const std::vector<Key> table = [] {
    std::vector<Key> k;
    // [emg]
    k.push_back(int_key("emg", "bandpass_order", "Butterworth band-pass order N (2N poles; libemg: 4)",
                        [](S& s) -> int& { return s.emg.bandpass_order; }, 1, 8));
    k.push_back(number_key("emg", "bandpass_low_hz", "band-pass lower edge (Hz; libemg 20)",
                           [](S& s) -> double& { return s.emg.bandpass_low_hz; }, 0.0, 1000.0, true));
    k.push_back(number_key("emg", "bandpass_high_hz", "band-pass upper edge (Hz; libemg 450; must be below Nyquist)",
                           [](S& s) -> double& { return s.emg.bandpass_high_hz; }, 0.0, 5000.0, true));
    k.push_back(number_key("emg", "notch_hz", "mains notch (Hz): 0 = off, 50 or 60; Q = 20",
                           [](S& s) -> double& { return s.emg.notch_hz; }, 0.0, 1000.0));
    k.push_back(int_key("emg", "notch_harmonics", "extra multiples of notch_hz also notched",
                        [](S& s) -> int& { return s.emg.notch_harmonics; }, 0, 20));
    k.push_back(enum_key<EnvelopeKind>(
        "emg", "envelope", "\"linear\" = |x| then low-pass (pyemgpipeline); \"rms\" = moving RMS (Boren 2011)",
        [](S& s) -> EnvelopeKind& { return s.emg.envelope; },
        {{"linear", EnvelopeKind::linear}, {"rms", EnvelopeKind::rms}}));
    k.push_back(number_key("emg", "envelope_cutoff_hz", "linear-envelope low-pass corner (Hz; pyemgpipeline 6)",
                           [](S& s) -> double& { return s.emg.envelope_cutoff_hz; }, 0.0, 100.0, true));
    k.push_back(number_key("emg", "rms_window_ms", "moving-RMS window (ms; Boren 2011: 50)",
                           [](S& s) -> double& { return s.emg.rms_window_ms; }, 0.0, 2000.0, true));
    k.push_back(bool_key("emg", "zero_phase", "offline: forward-backward (zero-phase) filters; live is always causal",
                         [](S& s) -> bool& { return s.emg.zero_phase; }));
    // [motion]
    k.push_back(number_key("motion", "orientation_gain", "AHRS feedback gain (Fusion default 0.5)",
                           [](S& s) -> double& { return s.motion.orientation_gain; }, 0.0, 10.0));
    k.push_back(number_key("motion", "baseline_period_s", "still period at each set start used as the neutral posture (s)",
                           [](S& s) -> double& { return s.motion.baseline_period_s; }, 0.0, 30.0, true));
    k.push_back(number_key("motion", "segmenter_lowpass_hz", "low-pass of the driving angle before segmentation (Hz)",
                           [](S& s) -> double& { return s.motion.segmenter_lowpass_hz; }, 0.0, 20.0, true));
    k.push_back(number_key("motion", "enter_fraction", "rest -> concentric threshold, fraction of the reference ROM",
                           [](S& s) -> double& { return s.motion.enter_fraction; }, 0.0, 1.0, true));
    k.push_back(number_key("motion", "exit_fraction", "eccentric -> rest threshold, fraction of the reference ROM",
                           [](S& s) -> double& { return s.motion.exit_fraction; }, 0.0, 1.0, true));
    k.push_back(number_key("motion", "partial_fraction", "a rep below this fraction of the reference ROM is partial",
                           [](S& s) -> double& { return s.motion.partial_fraction; }, 0.0, 1.0, true));
    k.push_back(number_key("motion", "min_rep_s", "shortest repetition (s)",
                           [](S& s) -> double& { return s.motion.min_rep_s; }, 0.0, 60.0, true));
    k.push_back(number_key("motion", "max_rep_s", "longest repetition (s)",
                           [](S& s) -> double& { return s.motion.max_rep_s; }, 0.0, 600.0, true));
    k.push_back(enum_key<Exercise>(
        "motion", "default_exercise", "exercise assumed when a session has no set markers",
        [](S& s) -> Exercise& { return s.motion.default_exercise; },
        {{"bridge", Exercise::bridge}, {"clamshell", Exercise::clamshell}}));
    k.push_back(enum_key<Side>(
        "motion", "clamshell_upper_side", "clamshell: the moving (upper) leg when the set marker does not say",
        [](S& s) -> Side& { return s.motion.clamshell_upper_side; }, {{"left", Side::left}, {"right", Side::right}}));
    // [scoring]
    k.push_back(enum_key<NormalisationChoice>(
        "scoring", "normalisation", "\"auto\" = %MVC when every scored muscle has an MVC trial, else µV; \"mvc\"; \"none\"",
        [](S& s) -> NormalisationChoice& { return s.scoring.normalisation; },
        {{"auto", NormalisationChoice::automatic}, {"mvc", NormalisationChoice::mvc}, {"none", NormalisationChoice::none}}));
    k.push_back(number_key("scoring", "mvc_window_ms", "MVC amplitude = largest mean envelope over this window (ms)",
                           [](S& s) -> double& { return s.scoring.mvc_window_ms; }, 0.0, 10000.0, true));
    k.push_back(number_key("scoring", "ratio_glutes_led", "glute/lumbar ratio at or above this: glutes led",
                           [](S& s) -> double& { return s.scoring.ratio_glutes_led; }, 0.0, 100.0, true));
    k.push_back(number_key("scoring", "ratio_back_dominant", "glute/lumbar ratio below this: back did the work",
                           [](S& s) -> double& { return s.scoring.ratio_back_dominant; }, 0.0, 100.0, true));
    k.push_back(number_key("scoring", "hamstring_over_glute", "bridge: hamstring/glute ratio at or above this: hamstrings took over",
                           [](S& s) -> double& { return s.scoring.hamstring_over_glute; }, 0.0, 100.0, true));
    k.push_back(number_key("scoring", "min_glute_pct_mvc", "glutes below this %MVC: silent (MVC normalisation only)",
                           [](S& s) -> double& { return s.scoring.min_glute_pct_mvc; }, 0.0, 100.0));
    k.push_back(number_key("scoring", "max_pelvic_roll_deg", "clamshell: pelvis rolling back more than this is flagged (deg)",
                           [](S& s) -> double& { return s.scoring.max_pelvic_roll_deg; }, 0.0, 90.0, true));
    // [output]
    k.push_back(number_key("output", "envelope_rate_hz", "rate of the decimated envelopes stored for reports (Hz)",
                           [](S& s) -> double& { return s.output.envelope_rate_hz; }, 0.0, 500.0, true));
    // [live]
    k.push_back(int_key("live", "queue_capacity_blocks",
                        "bounded queue between acquisition and live analysis (blocks; full = drop and count)",
                        [](S& s) -> std::size_t& { return s.live.queue_capacity_blocks; }, 16, 1 << 20));
    return k;
  }();
  return table;
}

}  // namespace

std::string_view to_string(EnvelopeKind kind) noexcept { return kind == EnvelopeKind::linear ? "linear" : "rms"; }
std::string_view to_string(NormalisationChoice choice) noexcept {
  switch (choice) {
    case NormalisationChoice::automatic: return "auto";
    case NormalisationChoice::mvc: return "mvc";
    case NormalisationChoice::none: return "none";
  }
  return "?";
}

void validate(const AnalysisPipelineSettings& settings, const std::string& source) {
  for (const Key& k : keys()) {
    if (std::string e = k.check(settings); !e.empty()) {
      throw ConfigError(fmt::format("{}: {}.{} {}", source, k.section, k.name, e));
    }
  }
  if (settings.emg.bandpass_low_hz >= settings.emg.bandpass_high_hz) {
    throw ConfigError(fmt::format("{}: emg.bandpass_low_hz ({}) must be below emg.bandpass_high_hz ({})", source,
                                  settings.emg.bandpass_low_hz, settings.emg.bandpass_high_hz));
  }
  if (settings.motion.exit_fraction >= settings.motion.enter_fraction) {
    throw ConfigError(fmt::format("{}: motion.exit_fraction ({}) must be below motion.enter_fraction ({})", source,
                                  settings.motion.exit_fraction, settings.motion.enter_fraction));
  }
  if (settings.motion.min_rep_s >= settings.motion.max_rep_s) {
    throw ConfigError(fmt::format("{}: motion.min_rep_s must be below motion.max_rep_s", source));
  }
  if (settings.scoring.ratio_back_dominant > settings.scoring.ratio_glutes_led) {
    throw ConfigError(fmt::format("{}: scoring.ratio_back_dominant must not exceed scoring.ratio_glutes_led", source));
  }
}

AnalysisPipelineSettings parse_analysis_settings(const std::string& toml_text, const std::string& source) {
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    throw ConfigError(fmt::format("{}:{}: {}", source, e.source().begin.line, e.description()));
  }
  AnalysisPipelineSettings s;
  for (const auto& [section_key, section_node] : doc) {
    const std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    bool known_section = false;
    for (const Key& k : keys()) known_section = known_section || k.section == section;
    if (!known_section || table == nullptr) {
      throw ConfigError(fmt::format("{}: unknown key '{}' (sections: emg, motion, scoring, output, live)", source,
                                    section));
    }
    for (const auto& [name_key, node] : *table) {
      const std::string name(name_key.str());
      const Key* found = nullptr;
      for (const Key& k : keys()) {
        if (k.section == section && k.name == name) found = &k;
      }
      if (found == nullptr) {
        throw ConfigError(fmt::format("{}: unknown key '{}.{}' (glutescope config --print-defaults lists them)",
                                      source, section, name));
      }
      if (std::string e = found->parse(s, node); !e.empty()) {
        throw ConfigError(fmt::format("{}: {}.{} {}", source, section, name, e));
      }
    }
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

std::string to_toml(const AnalysisPipelineSettings& settings) {
  std::string out =
      "# glutescope analysis settings (docs/ANALYSIS.md). Omitted keys keep these defaults;\n"
      "# unknown keys and out-of-range values are errors.\n";
  std::string section;
  for (const Key& k : keys()) {
    if (k.section != section) {
      section = k.section;
      out += fmt::format("\n[{}]\n", section);
    }
    out += fmt::format("# {}\n{} = {}\n", k.comment, k.name, k.print(settings));
  }
  return out;
}

}  // namespace glutescope::pipeline
