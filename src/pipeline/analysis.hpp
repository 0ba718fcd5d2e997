// The offline analysis of one session: EMG conditioning (dsp) → orientation and joint angles (motion) →
// repetitions per set (exercise::RepSegmenter) → per-rep amplitudes, glute-to-lumbar ratio and a verdict.
// The same stages run live in LiveAnalysis (live_analysis.hpp) with causal filters; offline may use
// zero-phase filters (settings.emg.zero_phase). Stage wiring and threading: docs/PIPELINE.md.
//
// Threading: analyse() is a pure function of its inputs (no globals, no threads): batch runs call it from
// several worker threads at once, one session per call, and get bit-identical results.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::pipeline {

// One session's samples in physical units, placed by sample index (the truth for time: a row missing from
// the file — a recorded gap — is filled with 0 µV / the previous IMU sample and counted in *_gap_samples).
struct SessionData {
  std::string source;        // the file path as given, or a session identifier
  std::string input_hash;    // content hash of the raw datasets (see session_content_hash)
  std::string subject_id;
  std::string session_start_time;
  Montage montage;
  double emg_rate_hz = 0.0;
  std::size_t emg_channels = 0;
  std::vector<double> emg_uv;  // [samples x channels], µV referred to the electrode
  std::uint64_t emg_gap_samples = 0;
  double imu_rate_hz = 0.0;
  struct Imu {
    Segment segment = Segment::other;
    std::vector<double> accel_g;   // [samples x 3]
    std::vector<double> gyro_dps;  // [samples x 3]
  };
  std::vector<Imu> imu;
  std::vector<Event> events;

  [[nodiscard]] std::size_t emg_samples() const noexcept {
    return emg_channels == 0 ? 0 : emg_uv.size() / emg_channels;
  }
};

// Reads a session file (store::SessionReader) into SessionData and hashes its raw datasets. Throws
// std::runtime_error (store::SessionFormatError for a foreign/newer/damaged file) naming the path.
SessionData load_session(const std::filesystem::path& path);

// What a rep's muscle activity says. Values are stored in analysis files: append only.
enum class Verdict : std::uint8_t {
  glutes_led = 0,          // glute/lumbar ≥ ratio_glutes_led: "glutes fired, back quiet"
  shared = 1,              // in between: "glutes and back shared the work"
  back_dominant = 2,       // glute/lumbar < ratio_back_dominant: "back did the work"
  hamstrings_dominant = 3, // bridge: hamstrings above the glutes
  glutes_silent = 4,       // glutes below min_glute_pct_mvc (%MVC only)
  no_emg = 5,              // the montage lacks the glute or lumbar channels
};
std::string_view to_string(Verdict verdict) noexcept;   // snake_case code (CSV, HDF5 labels)
std::string_view describe(Verdict verdict) noexcept;    // plain words for the clinician

struct RepResult {
  std::size_t set_index = 0;
  std::size_t rep_index = 0;  // 0-based within the set
  Exercise exercise = Exercise::bridge;
  double start_s = 0.0, concentric_end_s = 0.0, hold_end_s = 0.0, end_s = 0.0, peak_s = 0.0;  // session time
  double rom_deg = 0.0;
  bool partial = false;
  double pelvic_tilt_deviation_deg = 0.0;  // largest |tilt| relative to the set's start (deg), NaN if no pelvis IMU
  double pelvic_roll_deviation_deg = 0.0;
  std::vector<double> channel_amplitude;  // mean envelope over [start, end) per EMG channel (amplitude_unit)
  double glute = 0.0, lumbar = 0.0, hamstring = 0.0, tfl = 0.0;  // muscle-group means (amplitude_unit; NaN if absent)
  double glute_lumbar_ratio = 0.0;
  Verdict verdict = Verdict::no_emg;
  bool pelvis_rolled = false;  // clamshell: pelvic roll beyond max_pelvic_roll_deg
};

struct SetResult {
  std::size_t set_index = 0;
  Exercise exercise = Exercise::bridge;
  Side upper_side = Side::unknown;  // clamshell
  double start_s = 0.0, end_s = 0.0;
  std::size_t reps = 0, partial_reps = 0;
  std::vector<std::size_t> verdict_counts;  // indexed by Verdict
  double mean_glute_lumbar_ratio = 0.0;     // mean of the reps' ratios (mean-of-ratios; NaN without reps)
  double ratio_of_means = 0.0;              // mean glute / mean lumbar over the reps
  Verdict verdict = Verdict::no_emg;        // the verdict of the set's mean amplitudes (ratio_of_means)
};

struct AnalysisResult {
  std::string software_version;  // "glutescope X.Y.Z"
  std::string settings_toml;     // the effective settings (to_toml)
  std::string source;
  std::string input_hash;
  std::string subject_id;
  std::string session_start_time;
  std::string mode;              // "offline-zero-phase" | "offline-causal" | "live"
  std::string normalisation;     // "mvc" or "none"
  std::string amplitude_unit;    // "%MVC" or "uV"
  std::vector<std::string> channel_labels;
  std::vector<Muscle> channel_muscles;
  std::vector<Side> channel_sides;
  std::vector<double> mvc_uv;    // per channel MVC amplitude (NaN when none)
  std::vector<SetResult> sets;
  std::vector<RepResult> reps;
  double envelope_rate_hz = 0.0;
  std::vector<float> envelopes_uv;  // [rows x channels] block means of the envelope (µV), for plots
  std::vector<float> driving_angle_deg;  // at envelope_rate_hz; NaN outside sets
  std::uint64_t emg_gap_samples = 0;
};

// Runs the whole offline analysis. Throws std::invalid_argument for settings the session cannot use
// (band edge above its Nyquist), naming the key.
AnalysisResult analyse(const SessionData& session, const AnalysisPipelineSettings& settings);

// ---- shared by live and offline (pure, noexcept) ----

// Muscle-group means of one rep's per-channel amplitudes for an exercise; sets glute/lumbar/hamstring/tfl and
// glute_lumbar_ratio, then the verdict.
void score_rep(RepResult& rep, const std::vector<Muscle>& muscles, const std::vector<Side>& sides, Side upper_side,
               bool mvc_normalised, const ScoringSettings& scoring) noexcept;
Verdict verdict_for(Exercise exercise, double glute, double lumbar, double hamstring, bool mvc_normalised,
                    const ScoringSettings& scoring) noexcept;

// One line for the clinician: "set 1 rep 3 (bridge): glutes fired, back quiet — glute/lumbar 2.4 (%MVC)".
std::string format_rep_line(const RepResult& rep, const std::string& amplitude_unit);

}  // namespace glutescope::pipeline
