#include "exercise/emg_conditioning.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

#include "dsp/zero_phase.hpp"
#include "dsp/zero_phase_stream.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/rep_scores.hpp"

namespace glutescope::exercise {

double effective_bandpass_high_hz(double rate_hz, const AnalysisSettings& s) noexcept {
  return std::min(s.emg.bandpass_high_hz, kMaxBandpassFractionOfRate * rate_hz);
}

int notch_harmonics(double rate_hz, const AnalysisSettings& s) noexcept {
  if (!(s.emg.mains_hz > 0.0)) return 0;
  // Every harmonic inside the pass band (odd harmonics of mains hum are strong); none above its top, which
  // is below Nyquist: a harmonic beyond Nyquist would alias in the design.
  const double top_hz = effective_bandpass_high_hz(rate_hz, s);
  int harmonics = 0;
  while ((harmonics + 2) * s.emg.mains_hz <= top_hz && harmonics < 20) ++harmonics;
  return harmonics;
}

std::vector<std::string> rate_adaptation_notes(double rate_hz, const AnalysisSettings& s) {
  std::vector<std::string> notes;
  const double top = effective_bandpass_high_hz(rate_hz, s);
  if (top < s.emg.bandpass_high_hz) {
    notes.push_back(
        fmt::format("EMG band-pass top lowered from emg.bandpass_high_hz = {} Hz to {} Hz (0.45 x the {} Hz "
                    "EMG rate)",
                    s.emg.bandpass_high_hz, top, rate_hz));
  }
  if (s.emg.mains_hz > 0.0) {
    int nominal = 0;
    while ((nominal + 2) * s.emg.mains_hz <= s.emg.bandpass_high_hz && nominal < 20) ++nominal;
    const int used = notch_harmonics(rate_hz, s);
    if (used < nominal) {
      notes.push_back(
          fmt::format("mains notch: {} of {} harmonics of {} Hz kept (the rest lie above the {} Hz band-pass "
                      "top at this rate)",
                      used, nominal, s.emg.mains_hz, top));
    }
  }
  return notes;
}

EmgConditioningDesign design_emg_conditioning(Muscle muscle, double rate, const AnalysisSettings& s) {
  EmgConditioningDesign d;
  d.bandpass = dsp::butterworth_bandpass(s.emg.bandpass_order, s.emg.bandpass_low_hz,
                                         effective_bandpass_high_hz(rate, s), rate);
  if (muscle == Muscle::erector_spinae_lumbar && s.emg.lumbar_highpass_hz > s.emg.bandpass_low_hz) {
    d.bandpass = dsp::concatenate(
        d.bandpass, dsp::butterworth_highpass(s.emg.bandpass_order, s.emg.lumbar_highpass_hz, rate));
  }
  if (s.emg.mains_hz > 0.0) {
    dsp::MainsNotchSettings notch;
    notch.mains_hz = s.emg.mains_hz;
    notch.quality = s.emg.notch_quality;
    notch.harmonics = notch_harmonics(rate, s);
    d.notch = dsp::mains_notch_sos(notch, rate);
  }
  if (s.onset.smoothing_cutoff_hz > 0.0) {
    d.onset_lowpass = dsp::butterworth_lowpass(
        2, std::min(s.onset.smoothing_cutoff_hz, kMaxBandpassFractionOfRate * rate), rate);
  }
  d.rms_window = dsp::window_samples(s.emg.rms_window_ms, rate);
  d.peak_window = std::max<std::size_t>(1, dsp::window_samples(s.emg.peak_window_ms, rate));
  return d;
}

namespace {

// Rows per block of the zero-phase streams: four margins (the backward pass over each block's margin is
// discarded work, so a longer block wastes less), at least 4096 rows; never more than the record needs.
std::size_t stream_block_rows(std::size_t margin) { return std::max<std::size_t>(4096, 4 * margin); }

}  // namespace

ConditioningStream::ConditioningStream(const EmgConditioningDesign& design, std::size_t lanes,
                                       std::size_t record_rows, Emit on_filtered, Emit on_onset)
    : lanes_(lanes), on_filtered_(std::move(on_filtered)), on_onset_(std::move(on_onset)) {
  if (lanes == 0) throw std::invalid_argument("EMG conditioning needs at least one lane");
  if (record_rows <= dsp::sosfiltfilt_padlen(design.bandpass)) {
    throw std::invalid_argument(fmt::format("EMG record of {} samples is too short to filter", record_rows));
  }
  if (!design.notch.empty()) notch_.emplace(design.notch, lanes);
  // A margin past the record's end is never used: the record's last block + margin rows are filtered from
  // the true end (dsp::ZeroPhaseStream), so the buffers need not be larger than the record.
  const auto make = [&](const dsp::SosCoefficients& sos) {
    const std::size_t margin = std::min(dsp::zero_phase_margin(sos), std::max<std::size_t>(record_rows, 1));
    return dsp::ZeroPhaseStream(
        sos, lanes, std::min(stream_block_rows(margin), std::max<std::size_t>(record_rows, 1)), margin);
  };
  bandpass_.emplace(make(design.bandpass));
  if (!design.onset_lowpass.empty()) lowpass_.emplace(make(design.onset_lowpass));
  before_.assign(2 * lanes, 0.0);
  last_psi_.assign(lanes, 0.0);
}

void ConditioningStream::push(std::span<double> rows) {
  if (notch_) {
    // Causal notch from zero state (dsp::sosfilt per channel), state carried from piece to piece: a high-Q
    // notch rings for ~1/(pi * bandwidth) (~130 ms at 50 Hz, Q 20); run forward-backward, that ringing would
    // precede every burst and pull onsets early (measured in docs/VALIDATION.md). A notch's phase shift is
    // confined to its narrow stop band. SosFilter runs its per-sample path until the start-up transient has
    // passed and the vectorised kernel after it; both round identically, wherever the pieces are cut.
    notch_->process_interleaved(rows, rows);
  }
  bandpass_->push(rows, [this](std::size_t first, std::span<const double> f) { filtered(first, f); });
}

// |TKEO| of the band-passed rows as they become final (dsp::tkeo: psi[i] = x[i]^2 - x[i-1] x[i+1], the
// edges copied from their neighbours), one row behind, then the onset low-pass.
void ConditioningStream::filtered(std::size_t first, std::span<const double> f) {
  on_filtered_(first, f);
  const std::size_t k = f.size() / lanes_;
  psi_.clear();
  const std::size_t psi_first = first >= 3 ? first - 1 : 0;  // rows 0..2 give psi[0] and psi[1] together
  for (std::size_t r = 0; r < k; ++r) {
    const std::size_t j = first + r;  // psi[j - 1] needs rows j - 2, j - 1 and j
    const double* x = f.data() + r * lanes_;
    if (j >= 2) {
      const double* a = before_.data();           // row j - 2
      const double* b = before_.data() + lanes_;  // row j - 1
      const std::size_t at = psi_.size();
      psi_.resize(at + lanes_);
      for (std::size_t c = 0; c < lanes_; ++c) psi_[at + c] = std::abs(b[c] * b[c] - a[c] * x[c]);
      if (j == 2)
        psi_.insert(psi_.end(), psi_.begin() + static_cast<std::ptrdiff_t>(at),
                    psi_.begin() + static_cast<std::ptrdiff_t>(at + lanes_));  // psi[0] = psi[1]
    }
    std::copy(before_.begin() + static_cast<std::ptrdiff_t>(lanes_), before_.end(), before_.begin());
    std::copy(x, x + lanes_, before_.begin() + static_cast<std::ptrdiff_t>(lanes_));
  }
  if (!psi_.empty()) {
    std::copy(psi_.end() - static_cast<std::ptrdiff_t>(lanes_), psi_.end(), last_psi_.begin());
    onset_rows(psi_first, psi_);
  }
}

void ConditioningStream::onset_rows(std::size_t first, std::span<double> psi) {
  if (lowpass_) {
    lowpass_->push(psi, on_onset_);
  } else {
    on_onset_(first, psi);
  }
}

void ConditioningStream::finish() {
  bandpass_->finish([this](std::size_t first, std::span<const double> f) { filtered(first, f); });
  const std::size_t n = bandpass_->rows_out();
  psi_.assign(last_psi_.begin(), last_psi_.end());  // psi[n - 1] = psi[n - 2]
  onset_rows(n - 1, psi_);
  if (lowpass_) lowpass_->finish(on_onset_);
}

void condition_zero_phase_interleaved(const EmgConditioningDesign& design, std::span<double> x,
                                      std::size_t lanes, std::span<double> psi) {
  const std::size_t n = lanes == 0 ? 0 : x.size() / lanes;
  // Final rows are written back over rows the stream has already read (they trail the input).
  ConditioningStream stream(
      design, lanes, n,
      [&](std::size_t first, std::span<const double> f) {
        std::copy(f.begin(), f.end(), x.begin() + static_cast<std::ptrdiff_t>(first * lanes));
      },
      [&](std::size_t first, std::span<const double> p) {
        std::copy(p.begin(), p.end(), psi.begin() + static_cast<std::ptrdiff_t>(first * lanes));
      });
  for (std::size_t i = 0; i < n; i += kConditioningPieceRows)
    stream.push(x.subspan(i * lanes, std::min(kConditioningPieceRows, n - i) * lanes));
  stream.finish();
}

ChannelSignals condition_channel(std::vector<double> uv, Muscle muscle, double rate,
                                 const AnalysisSettings& s) {
  ChannelSignals out;
  if (uv.empty()) return out;
  // Remove the DC offset first so that filter start-up at the record edges is small.
  double mean = 0.0;
  for (double v : uv) mean += v;
  mean /= static_cast<double>(uv.size());
  for (double& v : uv) v -= mean;
  const EmgConditioningDesign design = design_emg_conditioning(muscle, rate, s);
  out.onset_signal.resize(uv.size());
  condition_zero_phase_interleaved(design, uv, 1, out.onset_signal);
  out.filtered_uv = std::move(uv);
  out.rms_uv = dsp::moving_rms_centered(out.filtered_uv, dsp::MovingRmsSettings{s.emg.rms_window_ms}, rate);
  out.smoothed_uv = moving_average_centered(out.rms_uv, design.peak_window);
  return out;
}

EmgStreamConditioner::EmgStreamConditioner(std::vector<EmgConditioningDesign> designs, std::size_t history)
    : designs_(std::move(designs)), history_(history), tkeo_(std::max<std::size_t>(1, designs_.size())) {
  if (designs_.empty()) throw std::invalid_argument("live EMG conditioning needs at least one channel");
  if (history_ == 0) throw std::invalid_argument("live EMG history must hold at least one sample");
  const std::size_t channels = designs_.size();
  offset_uv_.assign(channels, 0.0);
  for (const EmgConditioningDesign& d : designs_) {
    notch_.push_back(d.notch.empty() ? nullptr : std::make_unique<dsp::SosFilter>(d.notch));
    bandpass_.push_back(std::make_unique<dsp::SosFilter>(d.bandpass));
    lowpass_.push_back(d.onset_lowpass.empty() ? nullptr : std::make_unique<dsp::SosFilter>(d.onset_lowpass));
  }
  filtered_ring_.assign(history_ * channels, 0.0);
  onset_ring_.assign(history_ * channels, 0.0);
}

void EmgStreamConditioner::push(std::span<const double> row_uv) noexcept { step(row_uv, true); }

void EmgStreamConditioner::push_gap(std::size_t index) noexcept {
  if (index <= end_) return;
  const std::size_t run = std::min(index - end_, history_ + 1);
  for (std::size_t k = 0; k < run; ++k) step({}, false);
  if (end_ < index) {
    // The ring rows now hold filtered zeros; renumbering them to the new indices keeps them zeros-only.
    end_ = index;
  }
}

void EmgStreamConditioner::step(std::span<const double> row_uv, bool real) noexcept {
  const std::size_t channels = designs_.size();
  const std::size_t row = end_ % history_;
  // The onset signal of sample end_ - 1 (Tkeo's one-sample delay) goes to its own row.
  const std::size_t onset_row = (end_ + history_ - 1) % history_;
  if (real && !have_offset_) {
    for (std::size_t c = 0; c < channels; ++c) offset_uv_[c] = c < row_uv.size() ? row_uv[c] : 0.0;
    have_offset_ = true;
  }
  for (std::size_t c = 0; c < channels; ++c) {
    const double uv = real && c < row_uv.size() ? row_uv[c] : 0.0;
    double x = uv - offset_uv_[c];
    if (notch_[c]) x = notch_[c]->process(x);
    const double filtered = bandpass_[c]->process(x);
    filtered_ring_[row * channels + c] = filtered;
    double psi = std::abs(tkeo_.process(c, filtered));
    if (lowpass_[c]) psi = lowpass_[c]->process(psi);
    if (end_ > 0) onset_ring_[onset_row * channels + c] = psi;
  }
  ++end_;
}

std::vector<double> EmgStreamConditioner::filtered(std::size_t channel, std::size_t begin,
                                                   std::size_t end) const {
  begin = std::max(begin, oldest());
  end = std::min(end, end_);
  std::vector<double> out(end > begin ? end - begin : 0);
  for (std::size_t n = begin; n < end; ++n)
    out[n - begin] = filtered_ring_[(n % history_) * channels() + channel];
  return out;
}

std::vector<double> EmgStreamConditioner::onset_signal(std::size_t channel, std::size_t begin,
                                                       std::size_t end) const {
  begin = std::max(begin, oldest());
  end = std::min(end, onset_end());
  std::vector<double> out(end > begin ? end - begin : 0);
  for (std::size_t n = begin; n < end; ++n)
    out[n - begin] = onset_ring_[(n % history_) * channels() + channel];
  return out;
}

LiveEnvelopes live_envelopes(const EmgStreamConditioner& conditioner, std::size_t channel, std::size_t begin,
                             std::size_t end, double rate, const AnalysisSettings& s) {
  const EmgConditioningDesign& d = conditioner.design(channel);
  // Enough signal on each side for a full RMS window inside every full peak window.
  const std::size_t margin = d.rms_window + d.peak_window;
  const std::size_t from = std::max(conditioner.oldest(), begin >= margin ? begin - margin : 0);
  const std::size_t to = std::min(conditioner.end(), end + margin);
  LiveEnvelopes out;
  if (!(from <= begin && end <= to && begin < end)) return out;
  const std::vector<double> x = conditioner.filtered(channel, from, to);
  std::vector<double> rms = dsp::moving_rms_centered(x, dsp::MovingRmsSettings{s.emg.rms_window_ms}, rate);
  std::vector<double> smoothed = moving_average_centered(rms, d.peak_window);
  const auto cut = [&](std::vector<double>& v) {
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(end - from), v.end());
    v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(begin - from));
  };
  cut(rms);
  cut(smoothed);
  out.rms_uv = std::move(rms);
  out.smoothed_uv = std::move(smoothed);
  return out;
}

}  // namespace glutescope::exercise
