#include "exercise/emg_conditioning.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "dsp/zero_phase.hpp"
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

void condition_zero_phase_interleaved(const EmgConditioningDesign& design, std::span<double> x,
                                      std::size_t lanes, std::span<double> psi) {
  const std::size_t n = lanes == 0 ? 0 : x.size() / lanes;
  if (n <= dsp::sosfiltfilt_padlen(design.bandpass)) {
    throw std::invalid_argument(fmt::format("EMG record of {} samples is too short to filter", n));
  }
  if (!design.notch.empty()) {
    // Causal notch from zero state (dsp::sosfilt per channel): a high-Q notch rings for ~1/(pi * bandwidth)
    // (~130 ms at 50 Hz, Q 20); run forward-backward, that ringing would precede every burst and pull onsets
    // early (measured in docs/VALIDATION.md). A notch's phase shift is confined to its narrow stop band.
    // SosFilter runs its per-sample path until the start-up transient has passed and the vectorised kernel
    // after it; both round identically.
    dsp::SosFilter filter(design.notch, lanes);
    const std::size_t settle = std::min(n, filter.settling_samples()) * lanes;
    filter.process_interleaved(x.first(settle), x.first(settle));
    filter.process_interleaved(x.subspan(settle), x.subspan(settle));
  }
  dsp::sosfiltfilt_interleaved(design.bandpass, x, lanes, x);
  // |TKEO| (dsp::tkeo: edges copied from their neighbours), then its zero-phase low-pass.
  for (std::size_t i = 1; i + 1 < n; ++i) {
    for (std::size_t k = 0; k < lanes; ++k) {
      psi[i * lanes + k] =
          std::abs(x[i * lanes + k] * x[i * lanes + k] - x[(i - 1) * lanes + k] * x[(i + 1) * lanes + k]);
    }
  }
  for (std::size_t k = 0; k < lanes; ++k) {
    psi[k] = psi[lanes + k];
    psi[(n - 1) * lanes + k] = psi[(n - 2) * lanes + k];
  }
  if (!design.onset_lowpass.empty()) dsp::sosfiltfilt_interleaved(design.onset_lowpass, psi, lanes, psi);
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

namespace {

bool same_sos(const dsp::SosCoefficients& a, const dsp::SosCoefficients& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].b0 != b[i].b0 || a[i].b1 != b[i].b1 || a[i].b2 != b[i].b2 || a[i].a0 != b[i].a0 ||
        a[i].a1 != b[i].a1 || a[i].a2 != b[i].a2) {
      return false;
    }
  }
  return true;
}

// Uninitialised buffer: every element is written before it is read, so the zeroing of a std::vector of
// hundreds of MB would be wasted work. (In the glutescope executable, operator new advises buffers this
// large onto transparent huge pages: core/large_buffers.hpp.)
std::unique_ptr<double[]> uninitialised(std::size_t n) { return std::unique_ptr<double[]>(new double[n]); }

// The requested peak ranges cut into elementary pieces (see condition_session_offline).
struct PeakPieces {
  std::vector<std::size_t> bounds;    // sorted, unique; piece j = [bounds[j], bounds[j + 1])
  std::vector<std::uint8_t> covered;  // piece j lies inside at least one range
};

// r[j] = sqrt(max(r[j], 0) / w) for j < n, in place: the RMS from the window sums of squares. Division and
// square root are correctly rounded (IEEE 754) at any vector width, so the AVX-512 and AVX2 variants give
// the values of the SSE2 loop bit for bit, two to four times as many per instruction.
__attribute__((target_clones("avx512f", "avx2", "default"))) void rms_from_window_sums(double* r,
                                                                                       std::size_t n,
                                                                                       double w) {
  for (std::size_t j = 0; j < n; ++j) r[j] = std::sqrt(std::max(r[j], 0.0) / w);
}

// Moving RMS and smoothed-envelope peaks of W channels in lockstep (W independent long-double chains hide the
// x87 add latency; W = 1 or 2 keeps every running sum in a register of the 8-deep x87 stack).
//
// Centred moving RMS (dsp::moving_rms_centered): output i covers [i + half + 1 - w, i + half] clipped to the
// record: sqrt(max(P[last + 1] - P[first], 0) / w) with long-double prefix sums of squares
// P[k + 1] = P[k] + x[k]^2. Instead of storing P, two running sums walk the same sequence: `head` at last + 1
// and `tail` at first; both add the same terms in the same order, so each equals P at its index exactly, and
// nothing long-double goes through memory. The window sums go to rms[] first and the square roots in a
// second, vectorisable pass (same operations per sample).
//
// Peaks of the centred moving average of the RMS (moving_average_centered: [i - (w-1)/2, i + w/2] clipped,
// (P[hi] - P[lo]) / (hi - lo) with long-double prefix sums of the RMS) over each covered piece, with the same
// two running sums. Inside the record the divisor is the full window and x -> double(x / w) is monotonic, so
// the piece's largest window sum gives its largest average: one division per piece.
template <std::size_t W>
void rms_and_piece_peaks(const std::array<StridedSignal, W>& filtered, const std::array<double*, W>& rms,
                         std::size_t n, std::size_t rms_window, std::size_t peak_window,
                         const PeakPieces& pieces, const std::array<double*, W>& piece_peak) {
  {
    const std::size_t w = rms_window, half = (w - 1) / 2;
    std::array<long double, W> head{}, tail{};
    std::size_t head_at = 0, tail_at = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t last = std::min(i + half, n - 1);
      const std::size_t first = i + half + 1 >= w ? i + half + 1 - w : 0;
      for (; head_at <= last; ++head_at) {
        for (std::size_t k = 0; k < W; ++k) {
          const double v = filtered[k][head_at];
          head[k] = head[k] + static_cast<long double>(v) * v;
        }
      }
      for (; tail_at < first; ++tail_at) {
        for (std::size_t k = 0; k < W; ++k) {
          const double v = filtered[k][tail_at];
          tail[k] = tail[k] + static_cast<long double>(v) * v;
        }
      }
      for (std::size_t k = 0; k < W; ++k) rms[k][i] = static_cast<double>(head[k] - tail[k]);
    }
    for (std::size_t k = 0; k < W; ++k) rms_from_window_sums(rms[k], n, static_cast<double>(w));
  }
  {
    const std::size_t w = peak_window, before = (w - 1) / 2, after = w / 2;
    std::array<long double, W> head{}, tail{};  // P[head_at], P[tail_at]
    std::size_t head_at = 0, tail_at = 0;
    for (std::size_t j = 0; j + 1 < pieces.bounds.size(); ++j) {
      for (std::size_t k = 0; k < W; ++k) piece_peak[k][j] = kNaN;
      if (!pieces.covered[j]) continue;
      bool any_full = false;
      std::array<long double, W> best_full{};
      std::array<double, W> best_edge{};
      best_edge.fill(-std::numeric_limits<double>::infinity());
      for (std::size_t i = pieces.bounds[j]; i < pieces.bounds[j + 1]; ++i) {
        const std::size_t lo = i >= before ? i - before : 0;
        const std::size_t hi = std::min(n, i + after + 1);
        for (; head_at < hi; ++head_at) {
          for (std::size_t k = 0; k < W; ++k) head[k] = head[k] + rms[k][head_at];
        }
        for (; tail_at < lo; ++tail_at) {
          for (std::size_t k = 0; k < W; ++k) tail[k] = tail[k] + rms[k][tail_at];
        }
        if (hi - lo == w) {
          for (std::size_t k = 0; k < W; ++k) {
            const long double sum = head[k] - tail[k];
            if (!any_full || sum > best_full[k]) best_full[k] = sum;
          }
          any_full = true;
        } else {
          for (std::size_t k = 0; k < W; ++k) {
            const long double sum = head[k] - tail[k];
            best_edge[k] =
                std::max(best_edge[k], static_cast<double>(sum / static_cast<long double>(hi - lo)));
          }
        }
      }
      for (std::size_t k = 0; k < W; ++k) {
        const double full = any_full ? static_cast<double>(best_full[k] / static_cast<long double>(w))
                                     : -std::numeric_limits<double>::infinity();
        piece_peak[k][j] = std::max(full, best_edge[k]);
      }
    }
  }
}

}  // namespace

namespace {

// Channels that share a band-pass, at most kConditioningGroupChannels per group, in montage order.
struct ConditioningGroup {
  EmgConditioningDesign design;  // notch, low-pass and windows are the same for every channel
  std::vector<std::size_t> members;
};
std::vector<ConditioningGroup> conditioning_groups(const SessionData& data, double rate,
                                                   const AnalysisSettings& s) {
  std::vector<ConditioningGroup> groups;
  for (std::size_t c = 0; c < data.emg_channels(); ++c) {
    EmgConditioningDesign design = design_emg_conditioning(data.montage.emg[c].muscle, rate, s);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const ConditioningGroup& x) {
      return x.members.size() < kConditioningGroupChannels && same_sos(x.design.bandpass, design.bandpass);
    });
    if (g == groups.end()) g = groups.insert(groups.end(), ConditioningGroup{std::move(design), {}});
    g->members.push_back(c);
  }
  return groups;
}

// The session's EMG gaps as sample intervals, sorted and merged.
std::vector<Interval> merged_emg_gaps(const SessionData& data) {
  std::vector<Interval> gaps;
  for (const Gap& gap : data.gaps) {
    if (gap.stream == StreamKind::emg) {
      gaps.push_back({static_cast<std::size_t>(gap.start_sample),
                      static_cast<std::size_t>(gap.start_sample + gap.count)});
    }
  }
  std::sort(gaps.begin(), gaps.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  std::vector<Interval> merged;
  for (const Interval& gap : gaps) {
    if (gap.begin >= gap.end) continue;
    if (!merged.empty() && gap.begin <= merged.back().end)
      merged.back().end = std::max(merged.back().end, gap.end);
    else
      merged.push_back(gap);
  }
  return merged;
}

// Requested peak ranges clipped to the record (peak_amplitude clips the end), cut into elementary pieces at
// every range boundary; range_piece[r] = the pieces [first, last) that make up range r.
struct PeakPlan {
  std::vector<Interval> ranges;
  PeakPieces pieces;
  std::vector<Interval> range_piece;
  [[nodiscard]] std::size_t piece_count() const {
    return pieces.bounds.empty() ? 0 : pieces.bounds.size() - 1;
  }
};
PeakPlan peak_plan(std::span<const Interval> peak_ranges, std::size_t n) {
  PeakPlan p;
  p.ranges.assign(peak_ranges.begin(), peak_ranges.end());
  for (Interval& r : p.ranges) {
    r.end = std::min(r.end, n);
    if (r.begin < r.end) p.pieces.bounds.insert(p.pieces.bounds.end(), {r.begin, r.end});
  }
  std::vector<std::size_t>& bounds = p.pieces.bounds;
  std::sort(bounds.begin(), bounds.end());
  bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
  p.pieces.covered.assign(p.piece_count(), 0);
  p.range_piece.resize(p.ranges.size());
  const auto piece = [&](std::size_t at) {
    return static_cast<std::size_t>(std::lower_bound(bounds.begin(), bounds.end(), at) - bounds.begin());
  };
  for (std::size_t r = 0; r < p.ranges.size(); ++r) {
    if (p.ranges[r].begin >= p.ranges[r].end) continue;
    p.range_piece[r] = {piece(p.ranges[r].begin), piece(p.ranges[r].end)};
    for (std::size_t j = p.range_piece[r].begin; j < p.range_piece[r].end; ++j) p.pieces.covered[j] = 1;
  }
  return p;
}

// µV per count of every channel (DEVICE_INFO, else the montage).
std::vector<double> channel_scales(const SessionData& data) {
  std::vector<double> scale(data.emg_channels());
  for (std::size_t c = 0; c < scale.size(); ++c) {
    scale[c] = c < data.device.emg.size() ? data.device.emg[c].microvolts_per_count
                                          : data.montage.emg[c].microvolts_per_count;
  }
  return scale;
}

// Each channel's DC offset: the mean of its µV with gap samples at zero, summed in sample order as
// condition_channel does (one pass over the counts for every channel).
std::vector<double> channel_means(const SessionData& data, const std::vector<Interval>& gaps,
                                  const std::vector<double>& scale) {
  const std::size_t channels = data.emg_channels(), n = data.emg_samples();
  std::vector<double> mean(channels, 0.0);
  std::size_t g = 0;
  for (std::size_t i = 0; i < n; ++i) {
    while (g < gaps.size() && gaps[g].end <= i) ++g;
    if (g < gaps.size() && gaps[g].begin <= i) {
      for (std::size_t c = 0; c < channels; ++c) mean[c] += 0.0;
    } else {
      const std::int32_t* row = data.emg_counts.data() + i * channels;
      for (std::size_t c = 0; c < channels; ++c) mean[c] += row[c] * scale[c];
    }
  }
  for (double& m : mean) m /= static_cast<double>(n);
  return mean;
}

// The group's µV (counts x scale), gaps at zero, minus the channel's mean, interleaved into x [n x lanes];
// lanes beyond the members are silent (zero).
void load_group(const SessionData& data, const ConditioningGroup& group, const std::vector<Interval>& gaps,
                const std::vector<double>& scale, const std::vector<double>& mean, std::size_t lanes,
                std::span<double> x) {
  const std::size_t channels = data.emg_channels(), n = data.emg_samples(), width = group.members.size();
  std::size_t g = 0;  // next merged gap
  for (std::size_t i = 0; i < n; ++i) {
    while (g < gaps.size() && gaps[g].end <= i) ++g;
    double* out = x.data() + i * lanes;
    for (std::size_t k = width; k < lanes; ++k) out[k] = 0.0;
    if (g < gaps.size() && gaps[g].begin <= i) {
      for (std::size_t k = 0; k < width; ++k) out[k] = 0.0 - mean[group.members[k]];
    } else {
      const std::int32_t* row = data.emg_counts.data() + i * channels;
      for (std::size_t k = 0; k < width; ++k) {
        const std::size_t c = group.members[k];
        const double uv = row[c] * scale[c];
        out[k] = uv - mean[c];
      }
    }
  }
}

// Peak of each requested range for one lane from its piece peaks.
void range_peaks_of(const PeakPlan& plan, const double* lane_peak, std::vector<double>& range_peaks) {
  for (std::size_t r = 0; r < plan.ranges.size(); ++r) {
    double peak = kNaN;
    if (plan.ranges[r].begin < plan.ranges[r].end) {
      for (std::size_t j = plan.range_piece[r].begin; j < plan.range_piece[r].end; ++j) {
        if (!(peak >= lane_peak[j])) peak = lane_peak[j];
      }
    }
    range_peaks[r] = peak;
  }
}

}  // namespace

void condition_session_offline(const SessionData& data, const AnalysisSettings& s,
                               std::span<const Interval> peak_ranges,
                               const std::function<void(std::size_t, const ChannelSignalsView&)>& visit) {
  const std::size_t channels = data.emg_channels();
  const std::size_t n = data.emg_samples();
  if (channels == 0) return;
  if (n == 0) {  // condition_channel's empty result: every peak over an empty record is NaN
    const std::vector<double> no_peaks(peak_ranges.size(), kNaN);
    ChannelSignalsView empty;
    empty.range_peaks_uv = no_peaks;
    for (std::size_t c = 0; c < channels; ++c) visit(c, empty);
    return;
  }
  const double rate = data.device.emg_rate_hz;
  const std::vector<ConditioningGroup> groups = conditioning_groups(data, rate, s);
  const std::size_t rms_window = dsp::window_samples(s.emg.rms_window_ms, rate);  // as in every design
  const std::size_t peak_window = std::max<std::size_t>(1, dsp::window_samples(s.emg.peak_window_ms, rate));
  std::size_t widest = 0;
  for (const ConditioningGroup& g : groups) widest = std::max(widest, (g.members.size() + 3) / 4 * 4);
  const auto filtered_buffer = uninitialised(widest * n);
  const auto onset_buffer = uninitialised(widest * n);
  const auto rms_buffer = uninitialised(2 * n);  // two channels in lockstep
  const PeakPlan plan = peak_plan(peak_ranges, n);
  const std::size_t piece_count = plan.piece_count();
  std::vector<double> piece_peak(2 * piece_count), range_peaks(plan.ranges.size());
  const std::vector<Interval> gaps = merged_emg_gaps(data);
  const std::vector<double> scale = channel_scales(data);
  const std::vector<double> mean = channel_means(data, gaps, scale);

  for (const ConditioningGroup& group : groups) {
    // Interleave `lanes` channels: the group's members padded with silent (all-zero) channels to a multiple
    // of 4, so that every group takes dsp's four-rows-at-a-time vector path (3 channels or fewer would take
    // the row-at-a-time path, several times slower per channel). Lanes never mix: padding changes no result.
    const std::size_t width = group.members.size();
    const std::size_t lanes = (width + 3) / 4 * 4;
    const std::span<double> x(filtered_buffer.get(), lanes * n);
    const std::span<double> psi(onset_buffer.get(), lanes * n);
    load_group(data, group, gaps, scale, mean, lanes, x);
    condition_zero_phase_interleaved(group.design, x, lanes, psi);
    for (std::size_t k = 0; k < width; k += 2) {
      const std::size_t pair = std::min<std::size_t>(2, width - k);
      const StridedSignal f0{x.data() + k, lanes, n};
      double* const r0 = rms_buffer.get();
      double* const p0 = piece_peak.data();
      if (pair == 2) {
        const StridedSignal f1{x.data() + k + 1, lanes, n};
        rms_and_piece_peaks<2>({f0, f1}, {r0, r0 + n}, n, rms_window, peak_window, plan.pieces,
                               {p0, p0 + piece_count});
      } else {
        rms_and_piece_peaks<1>({f0}, {r0}, n, rms_window, peak_window, plan.pieces, {p0});
      }
      for (std::size_t lane = 0; lane < pair; ++lane) {
        range_peaks_of(plan, piece_peak.data() + lane * piece_count, range_peaks);
        const ChannelSignalsView view{StridedSignal{x.data() + k + lane, lanes, n},
                                      StridedSignal{psi.data() + k + lane, lanes, n},
                                      std::span<const double>(r0 + lane * n, n), range_peaks};
        visit(group.members[k + lane], view);
      }
    }
  }
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
