// Offline analysis of one session: EMG conditioning, MVC normalisation, IMU angles and repetition
// segmentation per exercise set, per-rep scores and verdicts, set and session summaries.
// Entry point: analyse_session(SessionData, AnalysisSettings). Pure computation on in-memory data.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <span>

#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/rep_scores.hpp"
#include "exercise/session_data.hpp"

namespace glutescope::exercise {

enum class SetStatus : std::uint8_t {
  ok = 0,
  no_movement = 1,  // the driving angle never made a repetition
  no_imu = 2,       // the IMUs needed for the exercise's driving angle are missing
  unsupported = 3,  // exercise other than bridge / clamshell
};
std::string_view to_string(SetStatus status) noexcept;

struct VerdictCounts {
  int yes = 0, no = 0, not_available = 0, invalid = 0;
};

struct SetSummary {
  int reps = 0, partial_reps = 0, valid_reps = 0;
  std::array<VerdictCounts, kVerdictCount> verdicts{};  // kVerdictNames order
  std::vector<double> median_mean_pct;      // per channel: median over valid reps of mean (concentric+hold)
  std::vector<double> median_peak_pct;      // per channel
  std::vector<double> median_onset_rel_ms;  // per channel
  SideRatios gmax_to_es;                    // set level: per side and combined, over reps (see SCORING.md)
  SideRatios gmed_to_es;
  double gmax_to_es_mean_of_rep_ratios = kNaN;  // mean over reps of each rep's ratio_of_means
  double gmed_to_es_mean_of_rep_ratios = kNaN;
  double gmax_symmetry_pct = kNaN;  // Robinson 1987 SI on the median mean amplitudes, R vs L
  double gmed_symmetry_pct = kNaN;
  std::vector<double> median_frequency_trend_pct_per_rep;  // per channel
  std::vector<double> finsm5_trend_pct_per_rep;            // per channel
};

struct SetAnalysis {
  Exercise exercise = Exercise::other;
  double start_s = 0.0, stop_s = 0.0;  // set markers
  SetStatus status = SetStatus::ok;
  std::string status_message;
  Side working_side = Side::unknown;  // clamshell: the upper (moving) leg; bridge: midline (both)
  Normalisation normalisation;
  std::vector<RepScore> reps;
  SetSummary summary;
  // The driving angle and pelvic angles over the set at the IMU rate (for plots and validation).
  std::vector<double> angle_time_s, driving_angle_deg, pelvic_tilt_rel_deg, pelvic_roll_rel_deg;
};

struct SessionAnalysis {
  std::string software_version;
  AnalysisSettings settings;
  std::vector<MvcTrial> mvc_trials;
  std::vector<double> mvc_reference_uv;  // per channel, NaN without a trial
  std::vector<SetAnalysis> sets;         // exercise sets in time order (MVC trials are not sets here)
  std::array<VerdictCounts, kVerdictCount> verdicts{};  // all sets together
  int reps = 0;
  std::vector<std::string> warnings;  // e.g. no set markers, unpaired markers
  // Optional plot output (analyse_session's envelope_rate_hz > 0): block means of each channel's moving-RMS
  // envelope (µV), [rows x channels], at envelope_rate_hz (EMG rate / whole block length).
  double envelope_rate_hz = 0.0;
  std::vector<float> envelope_uv;
};

// ---- Per-rep entry point (the offline per-set loop and the live consumer share it) ----------------------

// Conditioned EMG of one channel over a run of samples (µV): band-pass (+ lumbar ECG high-pass, mains
// notch), moving-RMS envelope, its peak_window_ms moving average, and the low-passed |TKEO| onset signal.
struct ChannelSignals {
  std::vector<double> filtered_uv;
  std::vector<double> smoothed_uv;
  std::vector<double> rms_uv;
  std::vector<double> onset_signal;
};
// `uv`: raw µV of one channel. causal = false: zero-phase band-pass and TKEO low-pass (offline); true:
// one forward pass of the same filters (live: the rep window plus a warm-up lead-in). The RMS and peak
// windows are centred in both cases (they run on a closed window). Throws std::invalid_argument for a
// zero-phase record shorter than the filter padding.
ChannelSignals condition_channel(std::vector<double> uv, Muscle muscle, double rate_hz,
                                 const AnalysisSettings& settings, bool causal = false);

// Half-open interval of sample indices.
struct Interval {
  std::size_t begin = 0, end = 0;
  [[nodiscard]] bool overlaps(std::size_t b, std::size_t e) const { return begin < e && b < end; }
};

// One channel's conditioned signals as the offline batch path produces them: filtered_uv and onset_signal are
// a column of an interleaved [samples x channels-of-the-group] buffer (element i at data[i * stride]),
// rms_uv is contiguous; same values as ChannelSignals. The smoothed envelope (ChannelSignals::smoothed_uv) is
// only ever used through its peak over a range (peak_amplitude: MVC trials, the set, each rep), so it is not
// materialised: range_peaks_uv[k] is peak_amplitude(smoothed_uv, peak_ranges[k].begin, peak_ranges[k].end).
struct StridedSignal {
  const double* data = nullptr;
  std::size_t stride = 1;
  std::size_t size = 0;
  double operator[](std::size_t i) const noexcept { return data[i * stride]; }
};
struct ChannelSignalsView {
  StridedSignal filtered_uv, onset_signal;
  std::span<const double> rms_uv;
  std::span<const double> range_peaks_uv;  // one per requested peak range
};

// Offline (zero-phase) conditioning of every EMG channel of a session, bit-identical to condition_channel
// (causal = false) on each channel's µV (counts x scale, samples inside EMG gaps held at 0), but cheaper:
// channels sharing a band-pass are filtered together, interleaved, so the filter kernels vectorise across
// channels (dsp::sosfiltfilt_interleaved, in place); the centred moving RMS takes its long-double prefix sums
// from two running sums (window head and tail) instead of a samples-long array; and the peaks of the smoothed
// envelope over peak_ranges are found from the prefix sums of the RMS without dividing at every sample (for a
// full window the division by the window length is monotonic, so the largest sum gives the largest average:
// one division per range piece, the same value peak_amplitude finds). Only one group of at most
// kConditioningGroupChannels channels is alive at a time (two [samples x group] buffers and one samples-long
// buffer, allocated once, not zeroed). visit(channel, view) is called once per channel, in group order; the
// view is valid only during the call. Throws std::invalid_argument as condition_channel does.
inline constexpr std::size_t kConditioningGroupChannels = 4;
void condition_session_offline(const SessionData& data, const AnalysisSettings& settings,
                               std::span<const Interval> peak_ranges,
                               const std::function<void(std::size_t, const ChannelSignalsView&)>& visit);

// Everything score_repetition needs about the set a rep belongs to. Sample indices are absolute (session
// EMG sample index); signals[c] and emg_counts start at first_sample.
struct RepScoringContext {
  const Montage* montage = nullptr;
  const AnalysisSettings* settings = nullptr;
  Exercise exercise = Exercise::bridge;
  Side working_side = Side::midline;  // clamshell: the upper leg
  double emg_rate_hz = 0.0;
  std::size_t first_sample = 0;              // EMG sample index of signals[c][0]
  std::size_t end_sample = 0;                // one past the last EMG sample available
  std::span<const ChannelSignals> signals;   // montage order
  std::span<const std::int32_t> emg_counts;  // [samples x channels] from first_sample (rail check)
  std::int32_t rail_low = -32768, rail_high = 32767;
  std::vector<dsp::Baseline> baseline;  // onset baseline per channel (the set's still period)
  Normalisation normalisation;
  bool have_pelvis = false;                     // a sacral IMU exists
  std::vector<std::vector<Interval>> lead_off;  // per channel, EMG samples
  std::vector<Interval> emg_gaps;               // EMG samples
  std::vector<Interval> imu_gaps;               // IMU samples
  double imu_rate_hz = 0.0;
  std::size_t imu_samples = 0;
};

// Scores one repetition (onsets, amplitudes, ratios, spectral indices, the six verdicts and the clinician's
// line). pelvic_tilt_min_deg: most anterior pelvic tilt relative to the start during the rep (NaN if none).
RepScore score_repetition(const RepScoringContext& context, const Repetition& rep,
                          double pelvic_tilt_min_deg);

// Throws std::invalid_argument for unusable data (no EMG channels, counts not a whole number of rows, rates
// not positive, IMU streams of different lengths) or invalid settings. A set that cannot be scored is not
// an error: it carries a status and a message.
// envelope_rate_hz > 0 also fills SessionAnalysis::envelope_uv (plots); 0 = not computed.
SessionAnalysis analyse_session(const SessionData& data,
                                const AnalysisSettings& settings = kDefaultAnalysisSettings,
                                double envelope_rate_hz = 0.0);

nlohmann::json to_json(const SessionAnalysis& analysis, const Montage& montage);

}  // namespace glutescope::exercise
