// Per-rep scores (offline per-set loop and live consumer alike): a rep's sample windows, validity (IMU and
// EMG gaps, lead-off, ADC rails), each channel's onset (baseline mean + k SD of the onset signal, held
// onset.min_active_ms; its state: onset_baseline.hpp, OnsetState), amplitudes (moving RMS over concentric /
// hold) and spectral indices, then the verdict step (verdicts.hpp). docs/SCORING.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/montage.hpp"
#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/emg_counts.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/onset_baseline.hpp"
#include "exercise/rep_scores.hpp"
#include "exercise/rep_segmenter.hpp"
#include "exercise/verdicts.hpp"

namespace glutescope::exercise {

// Sample index of time t_s (s) at rate_hz, rounded, clipped to [0, limit].
[[nodiscard]] std::size_t to_index(double t_s, double rate_hz, std::size_t limit);

// Everything score_repetition needs about the set a rep belongs to. Sample indices are absolute (session
// EMG sample index); signals[c] and emg_counts start at first_sample.
struct RepScoringContext {
  const Montage* montage = nullptr;
  const AnalysisSettings* settings = nullptr;
  Exercise exercise = Exercise::bridge;
  Side working_side = Side::midline;  // clamshell: the upper leg
  double emg_rate_hz = 0.0;
  std::size_t first_sample = 0;             // EMG sample index of signals[c][0]
  std::size_t end_sample = 0;               // one past the last EMG sample available
  std::span<const ChannelSignals> signals;  // montage order
  CountsView emg_counts;                    // [samples x channels] from first_sample (rail check)
  std::int32_t rail_low = -32768, rail_high = 32767;
  std::vector<RepOnsetBaseline> baseline;  // onset baseline per channel for the rep (onset_baseline.hpp)
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

// The verdict step's view of a rep's context (verdicts.hpp: decide_verdicts).
[[nodiscard]] VerdictContext verdict_context(const RepScoringContext& context);

// Sample indices of a rep (absolute, clipped to the context's end_sample): onset search from w0, movement m0,
// concentric end mc, hold end mh, end m1, and the centre of the spectral window.
struct RepWindow {
  std::size_t w0 = 0, m0 = 0, mc = 0, mh = 0, m1 = 0, centre = 0;
};
[[nodiscard]] RepWindow rep_window(const RepScoringContext& context, const Repetition& rep);

// Rep fields from the segmenter, rep-level validity (IMU gaps) and, in emg_gap_reason, why every channel is
// invalid (an EMG gap inside the rep; empty if none).
RepScore begin_repetition(const RepScoringContext& context, const Repetition& rep, double pelvic_tilt_min_deg,
                          std::string& emg_gap_reason);

// The onset search of one channel over a rep's window [w0, mc) at `threshold` (onset.min_active_ms held,
// dips shorter than onset.min_rest_ms bridged). A run that is active when the window opens and ends before
// the movement onset m0 is the previous contraction's tail and is skipped. A run active at w0 and still
// active at m0 began before the window: it is traced back to the end of the last rest (onset.min_rest_ms
// below threshold) at or after lookback_begin, which is its onset; with no such rest since lookback_begin
// (or the first sample held) the muscle never rested: already_active. onset_index is absolute (valid for
// `detected` only).
struct OnsetSearch {
  OnsetState state = OnsetState::not_detected;
  std::size_t onset_index = 0;
};
[[nodiscard]] OnsetSearch search_onset(const StridedSignal& onset, std::size_t first_sample,
                                       const RepWindow& window, std::size_t lookback_begin, double threshold,
                                       double rate_hz, const OnsetSettings& settings);

// The spectral (fatigue) window of a rep: fatigue.window_ms of filtered signal centred on the rep's peak,
// absolute sample indices; empty (begin == end == 0) when it does not fit inside [first_sample, end) or is
// 16 samples or shorter.
[[nodiscard]] Interval spectral_window(const RepScoringContext& context, const RepWindow& window,
                                       std::size_t end);

// What score_channel takes from the RMS envelope and the filtered signal of one rep, when the caller has
// computed it as the signals streamed past (the offline batch path: condition_session_offline keeps neither
// over the whole record). The means are mean_over the RMS envelope (µV; NaN over an empty range); the window
// is the filtered signal over spectral_window (empty when there is none).
struct RepEnvelopeValues {
  double mean_concentric_uv = kNaN, mean_hold_uv = kNaN, mean_uv = kNaN;  // [m0, mc), [mc, mh), [m0, mh)
  std::span<const double> spectral_window;
};

// Read-only view of one channel's conditioned signals (index 0 = the context's first_sample). With
// `precomputed`, filtered and rms are not read (they may be empty).
struct ChannelView {
  StridedSignal filtered, onset;
  std::span<const double> rms;
  const RepEnvelopeValues* precomputed = nullptr;
};

// The per-channel part of a rep's score: validity (gap, lead-off, rails), onset, amplitudes and spectral
// indices. The amplitude fields hold µV (decide_verdicts normalises them). peak_uv: peak of the smoothed
// envelope over [m0, mh). `scratch` holds the spectral window when the filtered signal is strided.
void score_channel(const RepScoringContext& context, const Repetition& rep, std::size_t channel,
                   const ChannelView& signals, double peak_uv, const RepOnsetBaseline& baseline,
                   bool rep_valid, const std::string& emg_gap_reason, ChannelRepScore& score,
                   std::vector<double>& scratch);

}  // namespace glutescope::exercise
