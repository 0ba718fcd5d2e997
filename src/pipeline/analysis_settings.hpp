// Settings of the analysis pipeline (live and offline): EMG conditioning, motion, repetition segmentation,
// per-rep scoring and outputs. Plain data with units; `AnalysisPipelineSettings{}` is the documented default
// (docs/ANALYSIS.md, table "Configuration"; `glutescope config --print-defaults` prints it as TOML).
//
// Loading is strict: an unknown key, a value of the wrong type or out of range is a ConfigError whose message
// names the file and the key ("analysis.toml: emg.bandpass_high_hz = 1200 is out of range (> 0 and below
// Nyquist; at most 5000)"). Every result stores the effective settings as TOML text (to_toml), so a result
// can be reproduced from its own file.
#pragma once

#include <stdexcept>
#include <string>

#include "core/montage.hpp"

namespace glutescope::pipeline {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class EnvelopeKind { linear, rms };
enum class NormalisationChoice { automatic, mvc, none };

struct EmgConditioningSettings {
  int bandpass_order = 4;           // Butterworth N (2N poles), libemg default
  double bandpass_low_hz = 20.0;    // libemg 20-450 Hz (research emg-and-scoring.md §5)
  double bandpass_high_hz = 450.0;
  double notch_hz = 0.0;            // mains notch: 0 = off, else 50 or 60 (Hz), Q = 20
  int notch_harmonics = 0;          // extra multiples of notch_hz
  EnvelopeKind envelope = EnvelopeKind::linear;  // |x| then low-pass (pyemgpipeline) or moving RMS (Boren 2011)
  double envelope_cutoff_hz = 6.0;  // linear envelope low-pass (pyemgpipeline: 6 Hz)
  double rms_window_ms = 50.0;      // moving RMS window (Boren 2011: 50 ms)
  bool zero_phase = true;           // offline only: forward-backward filtering; live is always causal
};

struct MotionSettings {
  double orientation_gain = 0.5;        // Fusion AHRS gain (motion/orientation_filter.hpp)
  double baseline_period_s = 0.5;       // still period at the start of each set: angle calibration (s)
  double segmenter_lowpass_hz = 4.0;    // RepSegmenter low-pass of the driving angle (Hz)
  double enter_fraction = 0.35;         // rest -> concentric, fraction of the reference ROM
  double exit_fraction = 0.175;         // eccentric -> rest
  double partial_fraction = 0.55;       // rep below this fraction of the reference ROM = partial
  double min_rep_s = 1.0;
  double max_rep_s = 15.0;
  Exercise default_exercise = Exercise::bridge;  // when a session has no set markers
  Side clamshell_upper_side = Side::left;        // the moving (upper) leg when a set marker does not say
};

struct ScoringSettings {
  NormalisationChoice normalisation = NormalisationChoice::automatic;  // auto = %MVC if MVC trials, else µV
  double mvc_window_ms = 500.0;       // MVC amplitude = largest mean envelope over this window in the trial
  double ratio_glutes_led = 1.2;      // glute/lumbar ≥ this → "glutes fired, back quiet"
  double ratio_back_dominant = 0.8;   // glute/lumbar < this → "back did the work"
  double hamstring_over_glute = 1.2;  // bridge: hamstring/glute ≥ this → "hamstrings took over"
  double min_glute_pct_mvc = 10.0;    // %MVC below this → "glutes silent" (only with MVC normalisation)
  double max_pelvic_roll_deg = 10.0;  // clamshell: pelvis rolled back more than this → flagged
};

struct OutputSettings {
  double envelope_rate_hz = 50.0;  // decimated envelopes stored for reports/plots (Hz)
};

struct LiveSettings {
  std::size_t queue_capacity_blocks = 4096;  // bounded queue between acquisition and analysis (drop + count)
};

struct AnalysisPipelineSettings {
  EmgConditioningSettings emg;
  MotionSettings motion;
  ScoringSettings scoring;
  OutputSettings output;
  LiveSettings live;
};
inline const AnalysisPipelineSettings kDefaultAnalysisPipelineSettings{};

// Throws ConfigError naming `source` and the key for a value out of range.
void validate(const AnalysisPipelineSettings& settings, const std::string& source = "settings");
// Parse TOML text (keys omitted keep their defaults). Throws ConfigError naming source and key.
AnalysisPipelineSettings parse_analysis_settings(const std::string& toml_text, const std::string& source);
AnalysisPipelineSettings load_analysis_settings(const std::string& path);
// The full effective settings as TOML, with a comment per key (units, meaning); parse_analysis_settings of
// the result gives back the same settings.
std::string to_toml(const AnalysisPipelineSettings& settings);

std::string_view to_string(EnvelopeKind kind) noexcept;
std::string_view to_string(NormalisationChoice choice) noexcept;

}  // namespace glutescope::pipeline
