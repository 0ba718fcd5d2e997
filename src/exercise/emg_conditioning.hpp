// EMG conditioning before amplitude and onset estimation: ONE chain, run two ways.
//
//   µV − DC offset → mains notch (causal, both modes) → band-pass (+ ECG high-pass on lumbar ES channels)
//   → filtered_uv → |TKEO| → low-pass → onset_signal;  filtered_uv → centred moving RMS → rms_uv
//   → centred moving average (peak_window_ms) → smoothed_uv (used only through its peak over a range)
//
// The filters, their orders and cut-offs come from one function (design_emg_conditioning), so the offline
// and live paths cannot drift apart:
//   - offline (the whole record, docs/SCORING.md "EMG conditioning"): band-pass and |TKEO| low-pass
//     zero-phase (forward-backward, in time blocks: ConditioningStream), DC offset = the record's mean.
//     condition_channel (one channel) and condition_session_offline (every channel, in vectorised groups) run
//     the same stream and give bit-identical results.
//   - live (EmgStreamConditioner): the same stages as stateful dsp objects (dsp::SosFilter, dsp::Tkeo) fed
//     sample by sample, block by block: the state lives for the whole session, so block boundaries never
//     change a result and no window is ever re-filtered from zero state. DC offset = the first sample.
//     The moving RMS / average windows are centred in both modes; live computes them over a closed window
//     of the streamed filtered signal when a rep ends (live_rms_and_smoothed).
//
// The band-pass top is min(emg.bandpass_high_hz, 0.45 × EMG rate) (effective_bandpass_high_hz): a Cyton at
// 250 Hz gets 112.5 Hz, a Daisy at 125 Hz per channel 56.25 Hz. Notch harmonics above that top (hence above
// Nyquist) are not designed. docs/DSP.md "Rate-adapted conditioning".
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/montage.hpp"
#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/zero_phase_stream.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/session_data.hpp"

namespace glutescope::exercise {

// Largest band-pass top as a fraction of the EMG rate: 0.9 × Nyquist keeps the Butterworth design away from
// the bilinear transform's warping at Nyquist (docs/DSP.md).
inline constexpr double kMaxBandpassFractionOfRate = 0.45;

// min(settings.emg.bandpass_high_hz, 0.45 × rate_hz): the band-pass top actually used at this rate.
[[nodiscard]] double effective_bandpass_high_hz(double rate_hz, const AnalysisSettings& settings) noexcept;
// Number of mains harmonics notched above the fundamental (all multiples of emg.mains_hz up to the
// effective band-pass top; at most 20). 0 when the notch is off.
[[nodiscard]] int notch_harmonics(double rate_hz, const AnalysisSettings& settings) noexcept;

// One line per way the chain at this rate differs from the settings as written (empty when it does not):
// the band-pass top lowered to 0.45 × the rate, mains harmonics dropped that the nominal band would have
// notched. Stored with the results (SessionAnalysis::warnings: sidecar, report, analyze output).
[[nodiscard]] std::vector<std::string> rate_adaptation_notes(double rate_hz,
                                                             const AnalysisSettings& settings);

// The filters of one channel's chain (coefficients only; no state).
struct EmgConditioningDesign {
  dsp::SosCoefficients notch;          // empty when emg.mains_hz is 0
  dsp::SosCoefficients bandpass;       // band-pass, + lumbar ECG high-pass for erector_spinae_lumbar
  dsp::SosCoefficients onset_lowpass;  // |TKEO| low-pass; empty when onset.smoothing_cutoff_hz is 0
  std::size_t rms_window = 1;          // samples (emg.rms_window_ms)
  std::size_t peak_window = 1;         // samples (emg.peak_window_ms), at least 1
};
// Throws std::invalid_argument (from dsp's designers) for a cut-off the rate cannot carry.
[[nodiscard]] EmgConditioningDesign design_emg_conditioning(Muscle muscle, double rate_hz,
                                                            const AnalysisSettings& settings);

// Conditioned EMG of one channel over a run of samples (µV): band-passed signal, moving-RMS envelope, its
// peak_window_ms moving average, and the low-passed |TKEO| onset signal.
struct ChannelSignals {
  std::vector<double> filtered_uv;
  std::vector<double> smoothed_uv;
  std::vector<double> rms_uv;
  std::vector<double> onset_signal;
};

// The offline chain over whole arrays (condition_channel's; ConditioningStream below, fed 4 096 rows at a
// time): `x` is [n x lanes] interleaved µV with the DC offset removed; on return x holds filtered_uv and psi
// (same layout) the onset signal. Causal notch from zero state, zero-phase band-pass and |TKEO| low-pass; the
// |TKEO| edges are copied from their neighbours (dsp::tkeo). Lanes never mix. Throws std::invalid_argument
// for a record not longer than the zero-phase padding.
void condition_zero_phase_interleaved(const EmgConditioningDesign& design, std::span<double> x,
                                      std::size_t lanes, std::span<double> psi);

// Rows of µV the offline paths build (from the counts or a channel's µV) and push into a ConditioningStream
// at a time: small enough to stay in cache with the stream's blocks.
inline constexpr std::size_t kConditioningPieceRows = 4096;

// The offline chain of one group of lanes for a record that arrives in pieces (time blocks): rows of µV
// with the DC offset removed, [rows x lanes], in; the band-passed rows (filtered_uv) and the onset signal's
// rows out, in order and each exactly once, through the two callbacks, as they become final (the band-pass
// rows trail the input by up to a block and a margin, the onset rows trail those). Causal notch with its
// state carried; band-pass and |TKEO| low-pass zero-phase through dsp::ZeroPhaseStream (bit-identical to
// whole-array filtering in the forward passes and within the record's last block + margin rows; elsewhere the
// backward pass starts a margin after each block from zero state, an error below 1e-17 of the state it leaves
// out). record_rows is the record's length (it also bounds the buffers). Throws std::invalid_argument from
// the constructor for a record not longer than the band-pass's zero-phase padding ("EMG record of N samples
// is too short to filter"), and from push() for a non-finite sample.
class ConditioningStream {
 public:
  using Emit = dsp::ZeroPhaseStream::Emit;
  ConditioningStream(const EmgConditioningDesign& design, std::size_t lanes, std::size_t record_rows,
                     Emit on_filtered, Emit on_onset);
  // Whole rows; the notch runs in place on them.
  void push(std::span<double> rows);
  void finish();

 private:
  void filtered(std::size_t first, std::span<const double> rows);
  void onset_rows(std::size_t first, std::span<double> psi);
  std::size_t lanes_ = 1;
  Emit on_filtered_, on_onset_;
  std::optional<dsp::SosFilter> notch_;
  std::optional<dsp::ZeroPhaseStream> bandpass_, lowpass_;
  std::vector<double> before_;    // band-passed rows j - 2 and j - 1
  std::vector<double> psi_;       // |TKEO| rows of the current piece
  std::vector<double> last_psi_;  // the newest |TKEO| row (copied to the record's last row)
};

// Offline (zero-phase) conditioning of one channel's raw µV. Throws std::invalid_argument for a record
// shorter than the filter padding.
ChannelSignals condition_channel(std::vector<double> uv, Muscle muscle, double rate_hz,
                                 const AnalysisSettings& settings);

// Half-open interval of sample indices.
struct Interval {
  std::size_t begin = 0, end = 0;
  [[nodiscard]] bool overlaps(std::size_t b, std::size_t e) const { return begin < e && b < end; }
};

// What the offline batch path computes from the moving-RMS envelope and the filtered signal as they stream
// past (neither is kept over the whole record), per channel:
//   - peak_ranges: the peak of the smoothed envelope (ChannelSignals::smoothed_uv) over each range:
//     peak_amplitude(smoothed_uv, begin, end) (MVC trials, sets, reps);
//   - mean_ranges: the mean of the RMS envelope over each range, clipped to the record, NaN when empty (the
//     sum in sample order, divided once: rep_scoring's amplitudes);
//   - filtered_windows: copies of the filtered signal over each range, clipped to the record (spectra);
//   - envelope_block: the mean of the RMS envelope over each whole block of this many samples from sample 0
//     (the plot envelope; 0: none).
struct ConditioningRequests {
  std::span<const Interval> peak_ranges, mean_ranges, filtered_windows;
  std::size_t envelope_block = 0;
};

// One channel's conditioned signals as the offline batch path produces them. onset_signal is a column of the
// group's interleaved [samples x channels-of-the-group] buffer (element i at data[i * stride]) over the whole
// record; the rest are the answers to ConditioningRequests, in request order: the same values as computed
// from condition_channel's ChannelSignals.
struct StridedSignal {
  const double* data = nullptr;
  std::size_t stride = 1;
  std::size_t size = 0;
  double operator[](std::size_t i) const noexcept { return data[i * stride]; }
};
struct ChannelSignalsView {
  StridedSignal onset_signal;
  std::span<const double> range_peaks_uv;     // one per peak range
  std::span<const double> range_means_uv;     // one per mean range
  std::span<const double> envelope_uv;        // one per whole envelope block
  std::span<const double> windows_uv;         // the filtered windows, concatenated in request order
  std::span<const std::size_t> window_start;  // window k = windows_uv[window_start[k], window_start[k + 1])
  [[nodiscard]] std::span<const double> filtered_window(std::size_t k) const {
    return windows_uv.subspan(window_start[k], window_start[k + 1] - window_start[k]);
  }
};

// Offline (zero-phase) conditioning of every EMG channel of a session, bit-identical to condition_channel
// on each channel's µV (counts x scale, samples inside EMG gaps held at 0), but cheaper in time and memory:
// channels sharing a band-pass are filtered together, interleaved, so the filter kernels vectorise across
// channels; the chain runs in time blocks (ConditioningStream, from the counts a piece at a time); the
// centred moving RMS and the moving average of the peaks run as streams over the filtered rows as they
// become final, with long-double running sums (window head and tail) in place of prefix arrays, and their
// consumers (requests) take what they need as the values pass: only the group's onset signal is kept over
// the whole record. The peaks of the smoothed envelope over the requested ranges are found from the running
// sums without dividing at every sample (for a full window the division by the window length is monotonic,
// so the largest sum gives the largest average: one division per range piece, the same value peak_amplitude
// finds). Only groups whose members fit one group of kConditioningGroupChannels together are alive at a time
// (a wave: consecutive groups, each in its own columns of one buffer). visit(channel, view) is called once
// per channel, the waves in order; the view is valid only during the call. With threads > 1 a wave's groups
// run side by side and the visits of a group's channels on up to that many threads at once (a visitor that
// writes only its own channel's results gives the same results as with one thread); an exception from a
// visit is rethrown after the wave's other work ends (the lowest group's, and in it the lowest channel's).
// Throws std::invalid_argument as condition_channel does.
inline constexpr std::size_t kConditioningGroupChannels = 4;
void condition_session_offline(const SessionData& data, const AnalysisSettings& settings,
                               const ConditioningRequests& requests,
                               const std::function<void(std::size_t, const ChannelSignalsView&)>& visit,
                               std::size_t threads = 1);

// Live (causal, streaming) conditioning of every channel of a device, with the filtered and onset signals
// of the last `history_samples` samples kept in rings (sample n in row n % history).
//
// Threading: one thread (the live worker) calls everything; push is noexcept and allocation-free (rings and
// filter state are sized in the constructor). Block boundaries never change a value: every sample goes
// through the same per-sample arithmetic in the same order (tested with random block sizes).
class EmgStreamConditioner {
 public:
  // One design per channel (montage order). Throws std::invalid_argument for no channel or history 0.
  EmgStreamConditioner(std::vector<EmgConditioningDesign> designs, std::size_t history_samples);

  [[nodiscard]] std::size_t channels() const noexcept { return designs_.size(); }
  [[nodiscard]] std::size_t history() const noexcept { return history_; }
  // One past the newest sample index pushed (filtered_uv); the onset signal lags by one sample (TKEO needs
  // the next sample), so onset values exist up to end() - 1.
  [[nodiscard]] std::size_t end() const noexcept { return end_; }
  [[nodiscard]] std::size_t onset_end() const noexcept { return end_ > 0 ? end_ - 1 : 0; }
  // Oldest sample index still held.
  [[nodiscard]] std::size_t oldest() const noexcept { return end_ > history_ ? end_ - history_ : 0; }

  // One row of µV (channels() values) as sample index end(). The first row pushed sets each channel's DC
  // offset.
  void push(std::span<const double> row_uv) noexcept;
  // Samples [end(), index) lost (or never sent: a device attached mid-stream): zero µV through the filters,
  // as offline holds gap samples at zero. At most history() + 1 of them are run (bounded work for any index
  // jump); beyond that the filters have seen a history of zeros and the rest is skipped.
  void push_gap(std::size_t index) noexcept;

  // Copies of [begin, end) clipped to what is held (the caller checks oldest()/end() first).
  [[nodiscard]] std::vector<double> filtered(std::size_t channel, std::size_t begin, std::size_t end) const;
  [[nodiscard]] std::vector<double> onset_signal(std::size_t channel, std::size_t begin,
                                                 std::size_t end) const;
  [[nodiscard]] const EmgConditioningDesign& design(std::size_t channel) const { return designs_[channel]; }

 private:
  std::vector<EmgConditioningDesign> designs_;
  std::size_t history_ = 1;
  std::size_t end_ = 0;
  void step(std::span<const double> row_uv, bool real) noexcept;
  std::vector<double> offset_uv_;
  bool have_offset_ = false;
  std::vector<std::unique_ptr<dsp::SosFilter>> notch_, bandpass_, lowpass_;  // per channel (null: stage off)
  dsp::Tkeo tkeo_;
  std::vector<double> filtered_ring_, onset_ring_;  // [history x channels]
};

// Moving RMS and its centred moving average over [begin, end) of a streamed channel, computed over a closed
// window with `margin` samples of filtered signal on each side available to the centred windows (clipped
// to what the conditioner holds), then cut back to [begin, end). The RMS values inside the record match
// dsp::moving_rms_centered over the same filtered samples.
struct LiveEnvelopes {
  std::vector<double> rms_uv, smoothed_uv;  // end - begin values each
};
[[nodiscard]] LiveEnvelopes live_envelopes(const EmgStreamConditioner& conditioner, std::size_t channel,
                                           std::size_t begin, std::size_t end, double rate_hz,
                                           const AnalysisSettings& settings);

}  // namespace glutescope::exercise
