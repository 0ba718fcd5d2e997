// Every threshold and default of the offline session analysis (normalisation, onsets, per-rep scores,
// verdicts, summaries) as one plain struct with units, a documented default instance, TOML loading with
// key-naming errors, and TOML/JSON dumps of the effective values (recorded with every result).
// docs/SCORING.md lists each field with its source and says which values are project choices.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "dsp/onset.hpp"
#include "exercise/rep_segmenter.hpp"

namespace glutescope::exercise {

// EMG conditioning before amplitude and onset estimation (offline, zero-phase).
struct EmgProcessingSettings {
  int bandpass_order = 4;            // scipy's N (band-pass has 2N poles); libemg default
  double bandpass_low_hz = 20.0;     // libemg 20-450 Hz (research emg-and-scoring.md §1.4, §5)
  double bandpass_high_hz = 450.0;   // must be below half the EMG rate
  double lumbar_highpass_hz = 30.0;  // extra high-pass on lumbar ES channels against ECG (Drake & Callaghan
                                     // 2006 via pyemgpipeline); 0 = off
  double mains_hz = 0.0;             // mains notch at this frequency and its harmonics up to
                                     // bandpass_high_hz; 0 = no notch
  double notch_quality = 20.0;       // Q of the notch (libemg)
  double rms_window_ms = 50.0;       // moving-RMS amplitude envelope (Boren et al. 2011, "50 ms")
  double peak_window_ms = 500.0;     // peak amplitude = max of this moving average of the RMS envelope, in
                                     // MVC trials and in reps alike (project choice, see SCORING.md)
};

// Muscle onset: band-passed EMG -> TKEO -> |.| -> low-pass -> baseline mean + k SD (Solnik 2010; Li, Zhou &
// Aruin 2007), baseline from the rest the segmenter knows (exercise/onset_baseline.hpp, docs/SCORING.md
// "Onset baseline").
struct OnsetSettings {
  double k_sd =
      dsp::kDefaultOnsetThresholdSd;  // 5 SD: threshold multiplier (tuned on simulator seeds 1-3; research
                                      // §2.4 suggests ≈3 for streaming; project choice, docs/VALIDATION.md)
  double min_active_ms = 50.0;  // shortest run above threshold that counts as an onset (Hodges & Bui 1996
                                // compared 20-100 ms; 50 ms tuned on seeds 1-3)
  double min_rest_ms = 25.0;    // dips shorter than this are bridged
  double smoothing_cutoff_hz = 50.0;  // low-pass of |TKEO| (order 2, zero-phase); research §2.4 "LP ≈50 Hz"
  double baseline_ms = 500.0;         // length of the baseline window at the start of the set's still period
  double baseline_offset_ms = 100.0;  // skip this much after the set-start marker (operator's button press)
  double pre_movement_ms = 500.0;     // onsets are searched from this long before the rep's movement onset
  bool rest_baseline = true;     // baseline from the rests between reps, then the initial still period, with
                                 // per-rep local baselines and the tonic / not-quiet states (issue 14);
                                 // false: the initial still period or the quietest window, as before
  bool robust_baseline = true;   // median and 1.4826 x the upper-half MAD over each rest's settled part
                                 // (dsp::upper_robust_baseline_in_place; docs/SCORING.md) instead of mean
                                 // and SD: 25 % breakdown, a burst in the rest cannot inflate k SD
  double rest_guard_ms = 200.0;  // a rest between reps starts this long after the previous rep's end (the
                                 // angle's tangent-line end precedes the EMG's return to rest; project
                                 // choice, twice the segmenter's 100 ms velocity window)
  double local_baseline_min_ms = 250.0;  // a rest at least this long gives its rep a local baseline: 25
                                         // independent values of the 50 Hz-smoothed onset signal (Nyquist:
                                         // 2 x 50 Hz x 0.25 s), MAD-SD relative error about 1.17 / sqrt(25)
};

struct VerdictSettings {
  double glute_fired_min_pct_mvic =
      10.0;  // mean %MVIC over concentric+hold for "glute fired" (project choice)
  double lumbar_es_to_glute_ratio = 1.0;  // ES / glute (%MVIC) at or above this = lumbar dominant (project)
  double late_glute_delay_ms = 100.0;  // glute onset later than ES onset by more than this = late (project)
  double pelvic_roll_threshold_deg = 10.0;  // |pelvic roll| beyond this = pelvic compensation (research
                                            // imu-and-hdf5.md §1.3: "flag > ≈5-10 deg", estimate)
  double pelvic_tilt_threshold_deg = 10.0;  // bridge only: anterior pelvic tilt (below the starting posture)
                                            // beyond this (Kang 2016, Ishida 2011: anterior tilt accompanies
                                            // lumbar compensation; the value is a project choice)
  double hamstring_to_gmax_ratio = 1.0;  // bridge: BF / GMax at or above this = hamstring dominance (project)
  double tfl_to_gmed_ratio = 1.0;     // clamshell: TFL / GMed at or above this = TFL substitution (project)
  bool ratios_without_mvc = false;    // allow amplitude verdicts on the peak-of-set fallback (CEDE advises
                                      // against cross-muscle comparisons without MVC normalisation)
  double saturation_fraction = 0.01;  // rep channel invalid if more than this fraction of its samples sit
                                      // at the ADC rails (electrode off / clipping)
};

struct FatigueSettings {
  double window_ms = 500.0;  // spectral window centred on the rep's peak (research §4: 250-500 ms)
  int welch_segment_samples = 256;
  double band_low_hz = 20.0;
  double band_high_hz = 450.0;
};

struct MotionAnalysisSettings {
  double orientation_gain = 0.5;  // orientation filter feedback gain (Fusion recommendation)
  double still_period_s = 0.5;    // calibration of the starting posture after the set-start marker
  // IMUs without a gyroscope: corner of the zero-phase 2nd-order Butterworth low-pass that leaves the
  // gravity component of the accelerometer (Hz; docs/MOTION.md "Accelerometer only").
  double accelerometer_lowpass_hz = 2.0;
  RepSegmenterSettings segmenter = kDefaultRepSegmenterSettings;  // sample_rate_hz is taken from the device
};

struct AnalysisSettings {
  EmgProcessingSettings emg;
  OnsetSettings onset;
  VerdictSettings verdicts;
  FatigueSettings fatigue;
  MotionAnalysisSettings motion;
};

// The documented defaults (docs/SCORING.md, "Settings").
inline const AnalysisSettings kDefaultAnalysisSettings{};

// Throws std::invalid_argument naming the key ("verdicts.late_glute_delay_ms = -5 ms: must be >= 0") for a
// value outside its range or inconsistent with another.
void validate(const AnalysisSettings& settings);

// Parses TOML text (tables emg, onset, verdicts, fatigue, motion, motion.segmenter; every key optional, the
// rest keep their defaults). Throws std::invalid_argument for a syntax error, an unknown table or key, a
// value of the wrong type, or an out-of-range value, naming the key. `source` names the text in messages.
AnalysisSettings analysis_settings_from_toml(std::string_view toml_text,
                                             std::string_view source = "settings");

// Effective values of every key, loadable again by analysis_settings_from_toml.
std::string to_toml(const AnalysisSettings& settings);
nlohmann::json to_json(const AnalysisSettings& settings);

}  // namespace glutescope::exercise
