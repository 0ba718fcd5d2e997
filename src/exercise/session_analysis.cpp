#include "exercise/session_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/onset.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/spectrum.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/rep_segmenter.hpp"
#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"

#ifndef GLUTESCOPE_VERSION
#define GLUTESCOPE_VERSION "unknown"
#endif

namespace glutescope::exercise {

std::string_view to_string(SetStatus status) noexcept {
  switch (status) {
    case SetStatus::ok:
      return "ok";
    case SetStatus::no_movement:
      return "no_movement";
    case SetStatus::no_imu:
      return "no_imu";
    case SetStatus::unsupported:
      return "unsupported";
  }
  return "unknown";
}

namespace {

constexpr std::size_t kLeft = 0;
constexpr std::size_t kRight = 1;

std::size_t side_index(Side s) { return s == Side::right ? kRight : kLeft; }

std::size_t to_index(double t_s, double rate_hz, std::size_t limit) {
  if (!(t_s > 0.0)) return 0;
  const double i = std::round(t_s * rate_hz);
  return std::min(limit, static_cast<std::size_t>(i));
}

}  // namespace

namespace {

// The band-pass of one channel: Butterworth band-pass, plus the ECG high-pass on lumbar ES channels.
dsp::SosCoefficients emg_bandpass_sos(Muscle muscle, double rate, const AnalysisSettings& s) {
  dsp::SosCoefficients sos = dsp::butterworth_bandpass(s.emg.bandpass_order, s.emg.bandpass_low_hz,
                                                       std::min(s.emg.bandpass_high_hz, 0.45 * rate), rate);
  if (muscle == Muscle::erector_spinae_lumbar && s.emg.lumbar_highpass_hz > s.emg.bandpass_low_hz) {
    sos = dsp::concatenate(sos,
                           dsp::butterworth_highpass(s.emg.bandpass_order, s.emg.lumbar_highpass_hz, rate));
  }
  return sos;
}

// The mains notch cascade (empty when emg.mains_hz is 0).
dsp::SosCoefficients emg_notch_sos(double rate, const AnalysisSettings& s) {
  if (!(s.emg.mains_hz > 0.0)) return {};
  dsp::MainsNotchSettings notch;
  notch.mains_hz = s.emg.mains_hz;
  notch.quality = s.emg.notch_quality;
  // Notch the fundamental and every harmonic inside the pass band (odd harmonics of mains hum are strong).
  const double top_hz = std::min(s.emg.bandpass_high_hz, 0.45 * rate);
  notch.harmonics = 0;
  while ((notch.harmonics + 2) * s.emg.mains_hz <= top_hz && notch.harmonics < 20) ++notch.harmonics;
  return dsp::mains_notch_sos(notch, rate);
}

}  // namespace

ChannelSignals condition_channel(std::vector<double> uv, Muscle muscle, double rate,
                                 const AnalysisSettings& s, bool causal) {
  ChannelSignals out;
  if (uv.empty()) return out;
  // Remove the DC offset first so that filter start-up at the record edges is small.
  double mean = 0.0;
  for (double v : uv) mean += v;
  mean /= static_cast<double>(uv.size());
  for (double& v : uv) v -= mean;
  const dsp::SosCoefficients sos = emg_bandpass_sos(muscle, rate, s);
  if (const dsp::SosCoefficients notch = emg_notch_sos(rate, s); !notch.empty()) {
    // Causal (one pass): a high-Q notch rings for ~1/(pi * bandwidth) (~130 ms at 50 Hz, Q 20); run
    // forward-backward, that ringing would precede every burst and pull onsets early (measured in
    // docs/VALIDATION.md). A notch's phase shift is confined to its narrow stop band.
    uv = dsp::sosfilt(notch, uv);
  }
  if (causal) {
    out.filtered_uv = dsp::sosfilt(sos, uv);
  } else {
    if (uv.size() <= dsp::sosfiltfilt_padlen(sos)) {
      throw std::invalid_argument(fmt::format("EMG record of {} samples is too short to filter", uv.size()));
    }
    out.filtered_uv = dsp::sosfiltfilt(sos, uv);
  }
  out.rms_uv = dsp::moving_rms_centered(out.filtered_uv, dsp::MovingRmsSettings{s.emg.rms_window_ms}, rate);
  out.smoothed_uv = moving_average_centered(out.rms_uv, dsp::window_samples(s.emg.peak_window_ms, rate));
  std::vector<double> psi = dsp::tkeo(out.filtered_uv);
  for (double& v : psi) v = std::abs(v);
  if (s.onset.smoothing_cutoff_hz > 0.0) {
    const dsp::SosCoefficients lowpass =
        dsp::butterworth_lowpass(2, std::min(s.onset.smoothing_cutoff_hz, 0.45 * rate), rate);
    psi = causal ? dsp::sosfilt(lowpass, psi) : dsp::sosfiltfilt(lowpass, psi);
  }
  out.onset_signal = std::move(psi);
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
// hundreds of MB would be wasted work. (Transparent huge pages were tried for these buffers: a third of the
// page faults, but the kernel's huge-page clearing cost more than it saved on this machine.)
std::unique_ptr<double[]> uninitialised(std::size_t n) { return std::unique_ptr<double[]>(new double[n]); }

// The requested peak ranges cut into elementary pieces (see condition_session_offline).
struct PeakPieces {
  std::vector<std::size_t> bounds;    // sorted, unique; piece j = [bounds[j], bounds[j + 1])
  std::vector<std::uint8_t> covered;  // piece j lies inside at least one range
};

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
    const double wd = static_cast<double>(w);
    for (std::size_t k = 0; k < W; ++k) {
      double* r = rms[k];
      for (std::size_t j = 0; j < n; ++j) r[j] = std::sqrt(std::max(r[j], 0.0) / wd);
    }
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
      std::array<double, W> best_edge;
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
  std::vector<Interval> gaps;
  for (const Gap& gap : data.gaps) {
    if (gap.stream == StreamKind::emg) {
      gaps.push_back({static_cast<std::size_t>(gap.start_sample),
                      static_cast<std::size_t>(gap.start_sample + gap.count)});
    }
  }
  struct Group {
    dsp::SosCoefficients bandpass;
    std::vector<std::size_t> members;
  };
  std::vector<Group> groups;
  for (std::size_t c = 0; c < channels; ++c) {
    dsp::SosCoefficients sos = emg_bandpass_sos(data.montage.emg[c].muscle, rate, s);
    auto g = std::find_if(groups.begin(), groups.end(), [&](const Group& x) {
      return x.members.size() < kConditioningGroupChannels && same_sos(x.bandpass, sos);
    });
    if (g == groups.end()) g = groups.insert(groups.end(), Group{std::move(sos), {}});
    g->members.push_back(c);
  }
  const dsp::SosCoefficients notch = emg_notch_sos(rate, s);
  const dsp::SosCoefficients lowpass =
      s.onset.smoothing_cutoff_hz > 0.0
          ? dsp::butterworth_lowpass(2, std::min(s.onset.smoothing_cutoff_hz, 0.45 * rate), rate)
          : dsp::SosCoefficients{};
  const std::size_t rms_window = dsp::window_samples(s.emg.rms_window_ms, rate);
  const std::size_t peak_window = std::max<std::size_t>(1, dsp::window_samples(s.emg.peak_window_ms, rate));
  std::size_t widest = 0;
  for (const Group& g : groups) widest = std::max(widest, (g.members.size() + 3) / 4 * 4);
  const auto filtered_buffer = uninitialised(widest * n);
  const auto onset_buffer = uninitialised(widest * n);
  const auto rms_buffer = uninitialised(2 * n);  // two channels in lockstep
  // Requested peak ranges clipped to the record (peak_amplitude clips the end), cut into elementary pieces
  // at every range boundary; range_piece[r] = the pieces [first, last) that make up range r.
  std::vector<Interval> ranges(peak_ranges.begin(), peak_ranges.end());
  PeakPieces pieces;
  for (Interval& r : ranges) {
    r.end = std::min(r.end, n);
    if (r.begin < r.end) pieces.bounds.insert(pieces.bounds.end(), {r.begin, r.end});
  }
  std::sort(pieces.bounds.begin(), pieces.bounds.end());
  pieces.bounds.erase(std::unique(pieces.bounds.begin(), pieces.bounds.end()), pieces.bounds.end());
  const std::size_t piece_count = pieces.bounds.empty() ? 0 : pieces.bounds.size() - 1;
  pieces.covered.assign(piece_count, 0);
  std::vector<Interval> range_piece(ranges.size());
  for (std::size_t r = 0; r < ranges.size(); ++r) {
    if (ranges[r].begin >= ranges[r].end) continue;
    const auto piece = [&](std::size_t at) {
      return static_cast<std::size_t>(std::lower_bound(pieces.bounds.begin(), pieces.bounds.end(), at) -
                                      pieces.bounds.begin());
    };
    range_piece[r] = {piece(ranges[r].begin), piece(ranges[r].end)};
    for (std::size_t j = range_piece[r].begin; j < range_piece[r].end; ++j) pieces.covered[j] = 1;
  }
  std::vector<double> piece_peak(2 * piece_count), range_peaks(ranges.size());

  // Each channel's DC offset: the mean of its µV with gap samples at zero, summed in sample order as
  // condition_channel does (one pass over the counts for every channel; gaps merged and sorted).
  std::sort(gaps.begin(), gaps.end(), [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  {
    std::vector<Interval> merged;
    for (const Interval& gap : gaps) {
      if (gap.begin >= gap.end) continue;
      if (!merged.empty() && gap.begin <= merged.back().end)
        merged.back().end = std::max(merged.back().end, gap.end);
      else
        merged.push_back(gap);
    }
    gaps = std::move(merged);
  }
  std::vector<double> scale(channels), mean(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) {
    scale[c] = c < data.device.emg.size() ? data.device.emg[c].microvolts_per_count
                                          : data.montage.emg[c].microvolts_per_count;
  }
  {
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
  }

  for (const Group& group : groups) {
    // Interleave `lanes` channels: the group's members padded with silent (all-zero) channels to a multiple
    // of 4, so that every group takes dsp's four-rows-at-a-time vector path (3 channels or fewer would take
    // the row-at-a-time path, several times slower per channel). Lanes never mix: padding changes no result.
    const std::size_t width = group.members.size();
    const std::size_t lanes = (width + 3) / 4 * 4;
    if (n <= dsp::sosfiltfilt_padlen(group.bandpass)) {
      throw std::invalid_argument(fmt::format("EMG record of {} samples is too short to filter", n));
    }
    const std::span<double> x(filtered_buffer.get(), lanes * n);
    const std::span<double> psi(onset_buffer.get(), lanes * n);
    // µV (counts x scale), gaps at zero, minus the channel's mean (computed above).
    {
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
    if (!notch.empty()) {
      // Causal notch from zero state (dsp::sosfilt per channel). SosFilter runs its per-sample path until
      // the start-up transient has passed and the vectorised kernel after it; both round identically.
      dsp::SosFilter filter(notch, lanes);
      const std::size_t settle = std::min(n, filter.settling_samples()) * lanes;
      filter.process_interleaved(x.first(settle), x.first(settle));
      filter.process_interleaved(x.subspan(settle), x.subspan(settle));
    }
    dsp::sosfiltfilt_interleaved(group.bandpass, x, lanes, x);
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
    if (!lowpass.empty()) dsp::sosfiltfilt_interleaved(lowpass, psi, lanes, psi);

    for (std::size_t k = 0; k < width; k += 2) {
      const std::size_t pair = std::min<std::size_t>(2, width - k);
      const StridedSignal f0{x.data() + k, lanes, n};
      double* const r0 = rms_buffer.get();
      double* const p0 = piece_peak.data();
      if (pair == 2) {
        const StridedSignal f1{x.data() + k + 1, lanes, n};
        rms_and_piece_peaks<2>({f0, f1}, {r0, r0 + n}, n, rms_window, peak_window, pieces,
                               {p0, p0 + piece_count});
      } else {
        rms_and_piece_peaks<1>({f0}, {r0}, n, rms_window, peak_window, pieces, {p0});
      }
      for (std::size_t lane = 0; lane < pair; ++lane) {
        const double* lane_peak = piece_peak.data() + lane * piece_count;
        for (std::size_t r = 0; r < ranges.size(); ++r) {
          double peak = kNaN;
          if (ranges[r].begin < ranges[r].end) {
            for (std::size_t j = range_piece[r].begin; j < range_piece[r].end; ++j) {
              if (!(peak >= lane_peak[j])) peak = lane_peak[j];
            }
          }
          range_peaks[r] = peak;
        }
        const ChannelSignalsView view{StridedSignal{x.data() + k + lane, lanes, n},
                                      StridedSignal{psi.data() + k + lane, lanes, n},
                                      std::span<const double>(r0 + lane * n, n), range_peaks};
        visit(group.members[k + lane], view);
      }
    }
  }
}

namespace {

struct MarkedSet {
  Exercise exercise = Exercise::other;
  Muscle muscle = Muscle::other;
  Side side = Side::unknown;
  double start_s = 0.0, stop_s = 0.0;
};

std::vector<MarkedSet> pair_markers(const std::vector<Event>& events, double end_s,
                                    std::vector<std::string>& warnings) {
  std::vector<const Event*> sorted;
  for (const Event& e : events) {
    if (e.kind == EventKind::set_start || e.kind == EventKind::set_stop) sorted.push_back(&e);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->time_s < b->time_s; });
  std::vector<MarkedSet> sets;
  std::optional<MarkedSet> open;
  for (const Event* e : sorted) {
    if (e->kind == EventKind::set_start) {
      if (open) {
        warnings.push_back(fmt::format("set_start at {:.3f} s without set_stop: closed at the next set_start",
                                       open->start_s));
        open->stop_s = e->time_s;
        sets.push_back(*open);
      }
      open = MarkedSet{e->exercise, e->muscle, e->side, e->time_s, end_s};
    } else if (open) {
      open->stop_s = e->time_s;
      sets.push_back(*open);
      open.reset();
    } else {
      warnings.push_back(fmt::format("set_stop at {:.3f} s without a set_start: ignored", e->time_s));
    }
  }
  if (open) {
    warnings.push_back(fmt::format(
        "set_start at {:.3f} s without set_stop: set runs to the end of the recording", open->start_s));
    sets.push_back(*open);
  }
  return sets;
}

std::optional<motion::BodySegment> body_segment(Segment s) {
  switch (s) {
    case Segment::sacrum:
      return motion::BodySegment::pelvis;
    case Segment::thigh_left:
      return motion::BodySegment::thigh_left;
    case Segment::thigh_right:
      return motion::BodySegment::thigh_right;
    default:
      return std::nullopt;
  }
}

// Gravity direction of every IMU sample, per body segment (empty when the segment has no IMU).
struct GravityTracks {
  std::array<std::vector<Eigen::Vector3d>, motion::kBodySegmentCount> up;
  std::size_t samples = 0;
  double rate_hz = 0.0;
};

GravityTracks track_gravity(const SessionData& data, const AnalysisSettings& s) {
  GravityTracks g;
  if (data.imu.empty() || data.device.imu.empty()) return g;
  g.rate_hz = data.device.imu.front().rate_hz;
  g.samples = data.imu.front().samples();
  for (std::size_t k = 0; k < data.imu.size() && k < data.montage.imu.size() && k < data.device.imu.size();
       ++k) {
    const auto seg = body_segment(data.montage.imu[k].segment);
    if (!seg) continue;
    const ImuStream& stream = data.imu[k];
    const ImuInfo& info = data.device.imu[k];
    if (!info.has_gyroscope()) continue;  // accelerometer only (OpenBCI Cyton): no orientation filter
    motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
    fs.gain = s.motion.orientation_gain;
    fs.sample_rate_hz = info.rate_hz;
    fs.gyroscope_range_dps = info.gyro_range_dps;
    motion::OrientationFilter filter(fs);
    const double dt = 1.0 / info.rate_hz;
    auto& up = g.up[static_cast<std::size_t>(*seg)];
    up.resize(stream.samples());
    for (std::size_t n = 0; n < stream.samples(); ++n) {
      const Eigen::Vector3d gyro(stream.gyro[3 * n] * info.gyro_dps_per_count,
                                 stream.gyro[3 * n + 1] * info.gyro_dps_per_count,
                                 stream.gyro[3 * n + 2] * info.gyro_dps_per_count);
      const Eigen::Vector3d acc(stream.accel[3 * n] * info.accel_g_per_count,
                                stream.accel[3 * n + 1] * info.accel_g_per_count,
                                stream.accel[3 * n + 2] * info.accel_g_per_count);
      filter.update(gyro, acc, dt);
      up[n] = filter.gravity();
    }
  }
  return g;
}

motion::SegmentGravity gravity_at(const GravityTracks& g, std::size_t n) {
  motion::SegmentGravity out;
  for (std::size_t k = 0; k < motion::kBodySegmentCount; ++k) {
    if (n < g.up[k].size()) out.set(static_cast<motion::BodySegment>(k), g.up[k][n]);
  }
  return out;
}

struct ChannelInvalidity {
  std::vector<std::vector<Interval>> lead_off;  // per channel, EMG sample intervals
  std::vector<Interval> emg_gaps;
  std::vector<Interval> imu_gaps;  // IMU sample intervals (any sensor)
};

ChannelInvalidity invalid_spans(const SessionData& data, double emg_rate, double imu_rate) {
  ChannelInvalidity inv;
  const std::size_t channels = data.emg_channels();
  const std::size_t samples = data.emg_samples();
  inv.lead_off.resize(channels);
  std::vector<std::optional<std::size_t>> off_since(channels);
  std::vector<const Event*> sorted;
  for (const Event& e : data.events) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->time_s < b->time_s; });
  for (const Event* e : sorted) {
    if (e->channel < 0 || static_cast<std::size_t>(e->channel) >= channels) continue;
    const auto c = static_cast<std::size_t>(e->channel);
    if (e->kind == EventKind::lead_off && !off_since[c])
      off_since[c] = to_index(e->time_s, emg_rate, samples);
    if (e->kind == EventKind::lead_on && off_since[c]) {
      inv.lead_off[c].push_back({*off_since[c], to_index(e->time_s, emg_rate, samples)});
      off_since[c].reset();
    }
  }
  for (std::size_t c = 0; c < channels; ++c) {
    if (off_since[c]) inv.lead_off[c].push_back({*off_since[c], samples});
  }
  for (const Gap& gap : data.gaps) {
    const Interval iv{static_cast<std::size_t>(gap.start_sample),
                      static_cast<std::size_t>(gap.start_sample + gap.count)};
    (gap.stream == StreamKind::emg ? inv.emg_gaps : inv.imu_gaps).push_back(iv);
  }
  (void)imu_rate;
  return inv;
}

double mean_over(std::span<const double> x, std::size_t begin, std::size_t end) {
  end = std::min(end, x.size());
  if (begin >= end) return kNaN;
  double s = 0.0;
  for (std::size_t i = begin; i < end; ++i) s += x[i];
  return s / static_cast<double>(end - begin);
}

double mean_finite2(double a, double b) {
  const bool fa = std::isfinite(a), fb = std::isfinite(b);
  if (fa && fb) return 0.5 * (a + b);
  if (fa) return a;
  if (fb) return b;
  return kNaN;
}

void count(VerdictCounts& c, VerdictState s) {
  switch (s) {
    case VerdictState::yes:
      ++c.yes;
      break;
    case VerdictState::no:
      ++c.no;
      break;
    case VerdictState::not_available:
      ++c.not_available;
      break;
    case VerdictState::invalid:
      ++c.invalid;
      break;
  }
}

struct SessionContext {
  const SessionData& data;
  const AnalysisSettings& settings;
  double emg_rate = 0.0;
  std::vector<double> mvc_reference;
  GravityTracks gravity;
  ChannelInvalidity invalid;
  std::int32_t rail_low = -32768, rail_high = 32767;
};

// Index of the channel recording (muscle, side), if any.
std::optional<std::size_t> channel_of(const Montage& m, Muscle muscle, Side side) {
  return m.find(muscle, side);
}

}  // namespace

namespace {

// Read-only view of one channel's conditioned signals (see ChannelSignalsView); index 0 is the context's
// first_sample.
struct ChannelView {
  StridedSignal filtered, onset;
  std::span<const double> rms;
};

ChannelView view_of(const ChannelSignals& s) {
  return {{s.filtered_uv.data(), 1, s.filtered_uv.size()},
          {s.onset_signal.data(), 1, s.onset_signal.size()},
          s.rms_uv};
}

// Sample indices of a rep (absolute): onset search from w0, movement m0, concentric end mc, hold end mh, end
// m1, and the centre of the spectral window.
struct RepWindow {
  std::size_t w0 = 0, m0 = 0, mc = 0, mh = 0, m1 = 0, centre = 0;
};

RepWindow rep_window(const RepScoringContext& ctx, const Repetition& r) {
  const AnalysisSettings& s = *ctx.settings;
  const double rate = ctx.emg_rate_hz;
  const std::size_t n = ctx.end_sample;
  RepWindow w;
  w.w0 = to_index(r.start_s - s.onset.pre_movement_ms / 1000.0, rate, n);
  w.m0 = to_index(r.start_s, rate, n);
  w.mc = to_index(r.concentric_end_s, rate, n);
  w.mh = to_index(r.hold_end_s, rate, n);
  w.m1 = to_index(r.end_s, rate, n);
  w.centre = to_index(r.peak_s, rate, n);
  return w;
}

// Rep fields from the segmenter, rep-level validity (IMU gaps) and, in emg_gap_reason, why every channel is
// invalid (an EMG gap inside the rep; empty if none).
RepScore begin_repetition(const RepScoringContext& ctx, const Repetition& r, double pelvic_tilt_min_deg,
                          std::string& emg_gap_reason) {
  const double rate = ctx.emg_rate_hz;
  RepScore rep;
  rep.index = r.index;
  rep.start_s = r.start_s;
  rep.concentric_end_s = r.concentric_end_s;
  rep.hold_end_s = r.hold_end_s;
  rep.end_s = r.end_s;
  rep.peak_s = r.peak_s;
  rep.partial = r.partial;
  rep.rom_deg = r.rom_deg;
  rep.pelvic_roll_max_deg = r.max_pelvic_roll_deviation_deg;
  rep.pelvic_tilt_min_deg = ctx.have_pelvis ? pelvic_tilt_min_deg : kNaN;
  const RepWindow w = rep_window(ctx, r);

  // IMU gap inside the rep: boundaries cannot be trusted.
  const std::size_t ri0 = to_index(r.start_s, ctx.imu_rate_hz, ctx.imu_samples),
                    ri1 = to_index(r.end_s, ctx.imu_rate_hz, ctx.imu_samples) + 1;
  for (const Interval& gap : ctx.imu_gaps) {
    if (gap.overlaps(ri0, ri1)) {
      rep.valid = false;
      rep.invalid_reason = fmt::format("IMU data lost inside the rep ({} samples)", gap.end - gap.begin);
    }
  }
  emg_gap_reason.clear();
  for (const Interval& gap : ctx.emg_gaps) {
    if (gap.overlaps(w.w0, w.m1))
      emg_gap_reason = fmt::format("EMG data lost inside the rep ({} samples from {:.3f} s)",
                                   gap.end - gap.begin, static_cast<double>(gap.begin) / rate);
  }
  rep.channels.resize(ctx.montage->emg.size());
  return rep;
}

// The per-channel part of a rep's score: validity (gap, lead-off, rails), onset, amplitudes and spectral
// indices. The amplitude fields (mean_*_pct, peak_pct) hold µV here: finish_repetition divides them by the
// set's normalisation reference, which is only known once every channel has been conditioned.
// peak_uv: peak_amplitude of the smoothed envelope over [m0, mh). `scratch` holds the spectral window when
// the filtered signal is strided.
void score_channel(const RepScoringContext& ctx, const Repetition& r, std::size_t c, const ChannelView& sig,
                   double peak_uv, const dsp::Baseline& baseline, bool rep_valid,
                   const std::string& emg_gap_reason, ChannelRepScore& cs, std::vector<double>& scratch) {
  const AnalysisSettings& s = *ctx.settings;
  const Montage& montage = *ctx.montage;
  const std::size_t channels = montage.emg.size();
  const double rate = ctx.emg_rate_hz;
  const std::size_t off = ctx.first_sample;
  const RepWindow w = rep_window(ctx, r);
  const std::size_t w0 = w.w0, m0 = w.m0, mc = w.mc, mh = w.mh, m1 = w.m1;
  if (!emg_gap_reason.empty()) {
    cs.valid = false;
    cs.invalid_reason = emg_gap_reason;
  }
  for (const Interval& span : ctx.lead_off[c]) {
    if (span.overlaps(w0, m1)) {
      cs.valid = false;
      cs.invalid_reason = fmt::format("electrode {} off (lead-off at {:.3f} s)", montage.emg[c].label,
                                      static_cast<double>(span.begin) / rate);
    }
  }
  if (cs.valid) {
    std::size_t railed = 0;
    for (std::size_t n = w0; n < m1; ++n) {
      const std::int32_t v = ctx.emg_counts[(n - off) * channels + c];
      if (v <= ctx.rail_low || v >= ctx.rail_high) ++railed;
    }
    if (m1 > w0 &&
        static_cast<double>(railed) > s.verdicts.saturation_fraction * static_cast<double>(m1 - w0)) {
      cs.valid = false;
      cs.invalid_reason =
          fmt::format("{} saturated in {:.0f} % of the rep (electrode off or clipping)", montage.emg[c].label,
                      100.0 * static_cast<double>(railed) / static_cast<double>(m1 - w0));
    }
  }
  if (!cs.valid || !rep_valid) return;

  // Onset: first run above baseline mean + k SD, from pre_movement_ms before the movement to the top.
  const double threshold = baseline.mean + s.onset.k_sd * baseline.sd;
  if (mc > w0) {
    const std::size_t min_active = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::lround(s.onset.min_active_ms * rate / 1000.0)));
    const std::size_t min_rest = static_cast<std::size_t>(std::lround(s.onset.min_rest_ms * rate / 1000.0));
    std::vector<unsigned char> active(mc - w0);
    for (std::size_t n = w0; n < mc; ++n) active[n - w0] = sig.onset[n - off] > threshold ? 1 : 0;
    const auto runs = dsp::active_runs(active, min_active, min_rest);
    if (!runs.empty()) {
      cs.onset_detected = true;
      cs.onset_s = static_cast<double>(w0 + runs.front().onset_index) / rate;
      cs.onset_rel_ms = 1000.0 * (cs.onset_s - r.start_s);
    }
  }
  cs.mean_concentric_pct = mean_over(sig.rms, m0 - off, mc - off);
  cs.mean_hold_pct = mean_over(sig.rms, mc - off, mh - off);
  cs.mean_pct = mean_over(sig.rms, m0 - off, mh - off);
  cs.peak_pct = peak_uv;
  const std::size_t fatigue_half = static_cast<std::size_t>(s.fatigue.window_ms * rate / 2000.0);
  const std::size_t centre = w.centre;
  if (centre >= off + fatigue_half && centre + fatigue_half <= off + sig.filtered.size && fatigue_half > 8) {
    dsp::WelchSettings welch;
    welch.segment_samples = static_cast<std::size_t>(s.fatigue.welch_segment_samples);
    const dsp::SpectralBand band{s.fatigue.band_low_hz, std::min(s.fatigue.band_high_hz, 0.5 * rate)};
    const std::size_t first = centre - off - fatigue_half;
    std::span<const double> win;
    if (sig.filtered.stride == 1) {
      win = std::span<const double>(sig.filtered.data + first, 2 * fatigue_half);
    } else {
      scratch.resize(2 * fatigue_half);
      for (std::size_t i = 0; i < scratch.size(); ++i) scratch[i] = sig.filtered[first + i];
      win = scratch;
    }
    try {
      const dsp::SpectralIndices idx = dsp::spectral_indices(dsp::welch(win, rate, welch), band);
      cs.median_frequency_hz = idx.median_hz;
      cs.finsm5 = idx.finsm5;
    } catch (const std::invalid_argument&) {
      // A silent window (no power in the band) has no spectral indices: left NaN.
    }
  }
}

// Normalisation (µV -> %), firing order, ratios, the six verdicts and the clinician's line.
void finish_repetition(const RepScoringContext& ctx, RepScore& rep);

}  // namespace

// Scores one repetition from the conditioned EMG around it (the per-rep entry point shared by the offline
// per-set loop and the live consumer; see score_repetition in session_analysis.hpp).
RepScore score_repetition(const RepScoringContext& ctx, const Repetition& r, double pelvic_tilt_min_deg) {
  std::string emg_gap_reason;
  RepScore rep = begin_repetition(ctx, r, pelvic_tilt_min_deg, emg_gap_reason);
  std::vector<double> scratch;
  const RepWindow w = rep_window(ctx, r);
  for (std::size_t c = 0; c < rep.channels.size(); ++c) {
    const ChannelSignals& sig = ctx.signals[c];
    const double peak = peak_amplitude(sig.smoothed_uv, w.m0 - ctx.first_sample, w.mh - ctx.first_sample);
    score_channel(ctx, r, c, view_of(sig), peak, ctx.baseline[c], rep.valid, emg_gap_reason, rep.channels[c],
                  scratch);
  }
  finish_repetition(ctx, rep);
  return rep;
}

namespace {

void finish_repetition(const RepScoringContext& ctx, RepScore& rep) {
  const AnalysisSettings& s = *ctx.settings;
  const Montage& montage = *ctx.montage;
  const std::size_t channels = montage.emg.size();
  const bool have_pelvis = ctx.have_pelvis;
  const bool amplitudes_comparable =
      ctx.normalisation.kind == NormalisationKind::mvic || s.verdicts.ratios_without_mvc;
  const Exercise ex = ctx.exercise;
  const Muscle glute = ex == Exercise::bridge ? Muscle::gluteus_maximus : Muscle::gluteus_medius;
  std::vector<Side> working_sides;
  if (ex == Exercise::bridge)
    working_sides = {Side::left, Side::right};
  else
    working_sides = {ctx.working_side};
  for (std::size_t c = 0; c < channels; ++c) {
    ChannelRepScore& cs = rep.channels[c];
    const double ref = ctx.normalisation.reference_uv[c];
    cs.mean_concentric_pct = percent_of_reference(cs.mean_concentric_pct, ref);
    cs.mean_hold_pct = percent_of_reference(cs.mean_hold_pct, ref);
    cs.mean_pct = percent_of_reference(cs.mean_pct, ref);
    cs.peak_pct = percent_of_reference(cs.peak_pct, ref);
  }

  // Firing order.
  for (std::size_t c = 0; c < channels; ++c) {
    if (rep.channels[c].onset_detected) rep.firing_order.push_back(c);
  }
  std::stable_sort(rep.firing_order.begin(), rep.firing_order.end(), [&](std::size_t a, std::size_t b) {
    return rep.channels[a].onset_s < rep.channels[b].onset_s;
  });

  // Per-side amplitudes and onsets of the muscles the verdicts compare.
  auto channel_value = [&](Muscle m, Side side, auto field) -> double {
    const auto c = channel_of(montage, m, side);
    if (!c || !rep.channels[*c].valid) return kNaN;
    return field(rep.channels[*c]);
  };
  auto mean_pct = [](const ChannelRepScore& cs) { return cs.mean_pct; };
  auto onset = [](const ChannelRepScore& cs) { return cs.onset_s; };
  std::array<double, 2> gmax{}, gmed{}, es{};
  for (Side side : {Side::left, Side::right}) {
    gmax[side_index(side)] = channel_value(Muscle::gluteus_maximus, side, mean_pct);
    gmed[side_index(side)] = channel_value(Muscle::gluteus_medius, side, mean_pct);
    es[side_index(side)] = channel_value(Muscle::erector_spinae_lumbar, side, mean_pct);
  }
  if (amplitudes_comparable) {
    rep.gmax_to_es = side_ratios(gmax, es);
    rep.gmed_to_es = side_ratios(gmed, es);
  }

  // Which channels each verdict needs, and whether any is missing or invalid.
  auto requirement = [&](Muscle m, const std::vector<Side>& sides, std::string& reason) -> int {
    // returns: 0 ok (at least one side present and all present valid), 1 missing, 2 invalid
    bool any = false;
    for (Side side : sides) {
      const auto c = channel_of(montage, m, side);
      if (!c) continue;
      any = true;
      if (!rep.channels[*c].valid) {
        reason = rep.channels[*c].invalid_reason;
        return 2;
      }
    }
    if (!any) {
      reason = fmt::format("no {} electrode{}", to_string(m),
                           sides.size() == 1 ? fmt::format(" on the {} side", to_string(sides.front())) : "");
      return 1;
    }
    return 0;
  };
  auto na = [](std::string reason) {
    Verdict v;
    v.state = VerdictState::not_available;
    v.reason = std::move(reason);
    return v;
  };
  auto invalid = [](std::string reason) {
    Verdict v;
    v.state = VerdictState::invalid;
    v.reason = std::move(reason);
    return v;
  };
  auto working_mean = [&](Muscle m, auto field) {
    double a = kNaN, b = kNaN;
    if (std::find(working_sides.begin(), working_sides.end(), Side::left) != working_sides.end())
      a = channel_value(m, Side::left, field);
    if (std::find(working_sides.begin(), working_sides.end(), Side::right) != working_sides.end())
      b = channel_value(m, Side::right, field);
    return mean_finite2(a, b);
  };
  const std::string no_mvc =
      "needs MVC normalisation (amplitudes are % of the set's peak; CEDE: cross-muscle "
      "comparisons need MVC)";
  RepVerdicts& v = rep.verdicts;
  std::string why;

  // Glute fired.
  if (!rep.valid) {
    v.glute_fired = invalid(rep.invalid_reason);
  } else if (int q = requirement(glute, working_sides, why); q != 0) {
    v.glute_fired = q == 1 ? na(why) : invalid(why);
  } else if (!amplitudes_comparable) {
    v.glute_fired = na(no_mvc);
  } else {
    const double amp = working_mean(glute, mean_pct);
    const double on = working_mean(glute, onset);
    v.glute_fired.value = amp;
    v.glute_fired.threshold = s.verdicts.glute_fired_min_pct_mvic;
    const bool fired = std::isfinite(on) && amp >= s.verdicts.glute_fired_min_pct_mvic;
    v.glute_fired.state = fired ? VerdictState::yes : VerdictState::no;
    if (!std::isfinite(on))
      v.glute_fired.reason = "no onset detected";
    else if (!fired)
      v.glute_fired.reason = "amplitude below threshold";
  }

  // Lumbar dominance: ES / glute on the working side(s).
  if (!rep.valid) {
    v.lumbar_dominant = invalid(rep.invalid_reason);
  } else if (int q = requirement(Muscle::erector_spinae_lumbar, working_sides, why); q != 0) {
    v.lumbar_dominant = q == 1 ? na(why) : invalid(why);
  } else if (int q2 = requirement(glute, working_sides, why); q2 != 0) {
    v.lumbar_dominant = q2 == 1 ? na(why) : invalid(why);
  } else if (!amplitudes_comparable) {
    v.lumbar_dominant = na(no_mvc);
  } else {
    v.lumbar_dominant = ratio_verdict(working_mean(Muscle::erector_spinae_lumbar, mean_pct),
                                      working_mean(glute, mean_pct), s.verdicts.lumbar_es_to_glute_ratio);
  }

  // Late glute onset relative to ES.
  if (!rep.valid) {
    v.late_glute = invalid(rep.invalid_reason);
  } else if (int q = requirement(Muscle::erector_spinae_lumbar, working_sides, why); q != 0) {
    v.late_glute = q == 1 ? na(why) : invalid(why);
  } else if (int q2 = requirement(glute, working_sides, why); q2 != 0) {
    v.late_glute = q2 == 1 ? na(why) : invalid(why);
  } else {
    v.late_glute =
        late_onset_verdict(working_mean(glute, onset), working_mean(Muscle::erector_spinae_lumbar, onset),
                           s.verdicts.late_glute_delay_ms);
  }

  // Pelvic compensation.
  if (!rep.valid) {
    v.pelvic_compensation = invalid(rep.invalid_reason);
  } else if (!have_pelvis) {
    v.pelvic_compensation = na("no sacral IMU");
  } else {
    Verdict& p = v.pelvic_compensation;
    p.value = rep.pelvic_roll_max_deg;
    p.threshold = s.verdicts.pelvic_roll_threshold_deg;
    const bool rolled = std::isfinite(rep.pelvic_roll_max_deg) &&
                        rep.pelvic_roll_max_deg > s.verdicts.pelvic_roll_threshold_deg;
    const bool tilted = ex == Exercise::bridge && std::isfinite(rep.pelvic_tilt_min_deg) &&
                        -rep.pelvic_tilt_min_deg > s.verdicts.pelvic_tilt_threshold_deg;
    p.state = rolled || tilted ? VerdictState::yes : VerdictState::no;
    if (rolled)
      p.reason = fmt::format("pelvis rolled {:.1f} deg", rep.pelvic_roll_max_deg);
    else if (tilted)
      p.reason = fmt::format("anterior pelvic tilt {:.1f} deg", -rep.pelvic_tilt_min_deg);
  }

  // Hamstring dominance (bridges) and TFL substitution (clamshells): same-side pairs on the working sides.
  auto pair_verdict = [&](Muscle compensator, Muscle agonist, double threshold) {
    if (!rep.valid) return invalid(rep.invalid_reason);
    std::string r1, r2;
    const int q = requirement(compensator, working_sides, r1);
    if (q != 0) return q == 1 ? na(r1) : invalid(r1);
    std::array<double, 2> num{kNaN, kNaN}, den{kNaN, kNaN};
    for (Side side : working_sides) {
      if (!channel_of(montage, compensator, side)) continue;
      const auto a = channel_of(montage, agonist, side);
      if (!a) continue;
      if (!rep.channels[*a].valid) return invalid(rep.channels[*a].invalid_reason);
      num[side_index(side)] = channel_value(compensator, side, mean_pct);
      den[side_index(side)] = channel_value(agonist, side, mean_pct);
    }
    if (!amplitudes_comparable) return na(no_mvc);
    if (std::isnan(ratio_of_means(num, den))) {
      return na(fmt::format("no {} electrode on the side of the {} electrode", to_string(agonist),
                            to_string(compensator)));
    }
    double sn = 0.0, sd = 0.0;
    for (std::size_t k = 0; k < 2; ++k) {
      if (std::isfinite(num[k]) && std::isfinite(den[k])) sn += num[k], sd += den[k];
    }
    return ratio_verdict(sn, sd, threshold);
  };
  v.hamstring_dominance =
      ex == Exercise::bridge
          ? pair_verdict(Muscle::biceps_femoris, Muscle::gluteus_maximus, s.verdicts.hamstring_to_gmax_ratio)
          : na("scored for bridges only");
  v.tfl_substitution =
      ex == Exercise::clamshell
          ? pair_verdict(Muscle::tensor_fasciae_latae, Muscle::gluteus_medius, s.verdicts.tfl_to_gmed_ratio)
          : na("scored for clamshells only");
  rep.summary = plain_language_summary(rep);
}

// What score_set decided from the IMU alone, and what the per-channel pass fills in: everything a set needs
// before and after the EMG conditioning (analyse_session conditions one channel group at a time).
struct SetPlan {
  bool scored = false;  // status ok and reps found: EMG work to do
  std::vector<Repetition> reps;
  std::vector<RepScore> scores;             // begun (begin_repetition), channels filled per channel
  std::vector<std::string> emg_gap_reason;  // per rep
  std::size_t e0 = 0, e1 = 0;               // the set in EMG samples
  bool marked_baseline = false;  // [b0, b1) is the still period; otherwise the set's quietest window
  std::size_t b0 = 0, b1 = 0;
  bool amplitudes_comparable = false;
  RepScoringContext rc;  // signals/baseline unused (per-channel pass); normalisation at the end
  std::vector<dsp::Baseline> baseline;  // per channel
  std::vector<double> set_peak_uv;      // per channel: peak_amplitude over [e0, e1) (fallback normalisation)
  std::size_t set_range = 0;            // index of [e0, e1) in the peak ranges; reps' [m0, mh) follow it
};

// IMU part of a set: angles, repetitions, baseline window. Sets set.status for sets that cannot be scored.
SetPlan plan_set(SessionContext& ctx, SetAnalysis& set) {
  SetPlan plan;
  const AnalysisSettings& s = ctx.settings;
  const SessionData& data = ctx.data;
  const Montage& montage = data.montage;
  const std::size_t channels = data.emg_channels();
  const std::size_t emg_samples = data.emg_samples();
  const double rate = ctx.emg_rate;

  if (set.exercise != Exercise::bridge && set.exercise != Exercise::clamshell) {
    set.status = SetStatus::unsupported;
    set.status_message =
        fmt::format("exercise '{}' is not scored (bridge and clamshell only)", to_string(set.exercise));
    return plan;
  }
  const GravityTracks& g = ctx.gravity;
  const bool have_pelvis = !g.up[0].empty();
  const bool have_left = !g.up[1].empty();
  const bool have_right = !g.up[2].empty();
  if (g.samples == 0 || (set.exercise == Exercise::clamshell && !have_left && !have_right) ||
      (set.exercise == Exercise::bridge && !have_pelvis && !have_left && !have_right)) {
    set.status = SetStatus::no_imu;
    const bool accel_only =
        !data.device.imu.empty() && std::none_of(data.device.imu.begin(), data.device.imu.end(),
                                                 [](const ImuInfo& i) { return i.has_gyroscope(); });
    set.status_message = accel_only ? "no gyroscope (accelerometer-only IMU): repetitions cannot be segmented"
                                    : "no IMU on the pelvis or thighs: repetitions cannot be segmented";
    return plan;
  }

  // --- Angles over the set --------------------------------------------------------------------------------
  const double imu_rate = g.rate_hz;
  const std::size_t i0 = to_index(set.start_s, imu_rate, g.samples);
  const std::size_t i1 = to_index(set.stop_s, imu_rate, g.samples);
  const std::size_t still_end = std::min(
      i1, i0 + std::max<std::size_t>(1, static_cast<std::size_t>(s.motion.still_period_s * imu_rate)));
  if (i1 <= still_end + 2) {
    set.status = SetStatus::no_movement;
    set.status_message = "set shorter than its still period: no movement to analyse";
    return plan;
  }
  motion::StillPeriodAverage still;
  for (std::size_t n = i0; n < still_end; ++n) still.add(gravity_at(g, n));
  const motion::SegmentGravity neutral = still.mean();

  motion::AngleSettings angle_settings;
  angle_settings.exercise = set.exercise;
  if (set.exercise == Exercise::clamshell) {
    // The upper leg is the one whose thigh rotates most during the set.
    auto excursion = [&](std::size_t k) {
      double worst = -1.0;
      if (g.up[k].empty() || !neutral.valid[k]) return worst;
      for (std::size_t n = still_end; n < i1; ++n)
        worst = std::max(worst, 1.0 - g.up[k][n].dot(neutral.up_sensor[k]));
      return worst;
    };
    angle_settings.upper_side = excursion(1) >= excursion(2) ? Side::left : Side::right;
    set.working_side = angle_settings.upper_side;
  } else {
    set.working_side = Side::midline;
  }
  motion::AngleCalculator angles(angle_settings);
  angles.calibrate(neutral);
  for (std::size_t n = i0; n < i1; ++n) {
    const motion::JointAngles a = angles.compute(gravity_at(g, n));
    set.angle_time_s.push_back(static_cast<double>(n) / imu_rate);
    set.driving_angle_deg.push_back(a.driving_deg);
    set.pelvic_tilt_rel_deg.push_back(a.pelvic_tilt_rel_deg);
    set.pelvic_roll_rel_deg.push_back(a.pelvic_roll_rel_deg);
  }
  RepSegmenterSettings seg = s.motion.segmenter;
  seg.sample_rate_hz = imu_rate;
  std::vector<double> tilt = set.pelvic_tilt_rel_deg, roll = set.pelvic_roll_rel_deg;
  if (!have_pelvis) tilt.clear(), roll.clear();
  const std::vector<Repetition> reps =
      RepSegmenter::segment_set(set.driving_angle_deg, set.angle_time_s, seg, tilt, roll);
  if (reps.empty()) {
    double excursion = 0.0;
    for (double a : set.driving_angle_deg) {
      if (std::isfinite(a)) excursion = std::max(excursion, std::abs(a));
    }
    set.status = SetStatus::no_movement;
    set.status_message = fmt::format(
        "no repetition detected: the driving angle moved at most {:.1f} deg from the starting posture",
        excursion);
    return plan;
  }

  // --- Onset baseline window and the scoring context ------------------------------------------------------
  plan.e0 = to_index(set.start_s, rate, emg_samples);
  plan.e1 = to_index(set.stop_s, rate, emg_samples);
  // Baseline: the set's initial still period, ending well before the first movement.
  const std::size_t b0 =
      std::min(plan.e1, plan.e0 + static_cast<std::size_t>(s.onset.baseline_offset_ms * rate / 1000.0));
  const double first_move_s = reps.front().start_s - s.onset.pre_movement_ms / 1000.0;
  std::size_t b1 = std::min(b0 + static_cast<std::size_t>(s.onset.baseline_ms * rate / 1000.0),
                            to_index(first_move_s, rate, emg_samples));
  plan.marked_baseline = b1 > b0 + static_cast<std::size_t>(0.05 * rate);
  plan.b0 = b0;
  plan.b1 = b1;

  RepScoringContext& rc = plan.rc;
  rc.montage = &montage;
  rc.settings = &s;
  rc.exercise = set.exercise;
  rc.working_side = set.working_side;
  rc.emg_rate_hz = rate;
  rc.first_sample = 0;
  rc.end_sample = emg_samples;
  rc.emg_counts = data.emg_counts;
  rc.rail_low = ctx.rail_low;
  rc.rail_high = ctx.rail_high;
  rc.have_pelvis = have_pelvis;
  rc.lead_off = ctx.invalid.lead_off;
  rc.emg_gaps = ctx.invalid.emg_gaps;
  rc.imu_gaps = ctx.invalid.imu_gaps;
  rc.imu_rate_hz = imu_rate;
  rc.imu_samples = g.samples;
  plan.baseline.resize(channels);
  plan.set_peak_uv.assign(channels, kNaN);
  for (const Repetition& r : reps) {
    double lowest = kNaN;
    // angle_time_s increases with k: only the samples inside [start_s, end_s] are visited.
    const auto from = std::lower_bound(set.angle_time_s.begin(), set.angle_time_s.end(), r.start_s);
    for (auto k = static_cast<std::size_t>(from - set.angle_time_s.begin()); k < set.angle_time_s.size();
         ++k) {
      const double t = set.angle_time_s[k];
      if (t > r.end_s) break;
      if (t < r.start_s || !std::isfinite(set.pelvic_tilt_rel_deg[k])) continue;
      if (!std::isfinite(lowest) || set.pelvic_tilt_rel_deg[k] < lowest) lowest = set.pelvic_tilt_rel_deg[k];
    }
    plan.emg_gap_reason.emplace_back();
    plan.scores.push_back(begin_repetition(rc, r, lowest, plan.emg_gap_reason.back()));
  }
  plan.reps = reps;
  plan.scored = true;
  return plan;
}

// The per-channel part of a planned set: onset baseline, set peak, and every rep's channel score.
void score_set_channel(SetPlan& plan, std::size_t c, const ChannelSignalsView& sig, double rate,
                       std::vector<double>& scratch) {
  const AnalysisSettings& s = *plan.rc.settings;
  dsp::BaselineSettings bs;
  if (plan.marked_baseline) {
    // The onset signal may be strided: copy the still period (statistics over the same samples in the same
    // order as over the whole signal).
    scratch.resize(plan.b1 - plan.b0);
    for (std::size_t i = 0; i < scratch.size(); ++i) scratch[i] = sig.onset_signal[plan.b0 + i];
    bs.rest_begin_index = 0;
    bs.rest_end_index = scratch.size();
    dsp::Baseline b = dsp::find_baseline(scratch, rate, bs);
    b.begin_index += plan.b0;
    b.end_index += plan.b0;
    plan.baseline[c] = b;
  } else {
    // No still period before the first rep: the quietest window of the set (dsp's automatic baseline).
    bs.search_window_ms = s.onset.baseline_ms;
    scratch.resize(plan.e1 - plan.e0);
    for (std::size_t i = 0; i < scratch.size(); ++i) scratch[i] = sig.onset_signal[plan.e0 + i];
    plan.baseline[c] = dsp::find_baseline(scratch, rate, bs);
  }
  plan.set_peak_uv[c] = sig.range_peaks_uv[plan.set_range];
  const ChannelView view{sig.filtered_uv, sig.onset_signal, sig.rms_uv};
  for (std::size_t k = 0; k < plan.reps.size(); ++k) {
    score_channel(plan.rc, plan.reps[k], c, view, sig.range_peaks_uv[plan.set_range + 1 + k],
                  plan.baseline[c], plan.scores[k].valid, plan.emg_gap_reason[k], plan.scores[k].channels[c],
                  scratch);
  }
}

// Normalisation, verdicts and the set summary once every channel has been scored.
void finish_set(SessionContext& ctx, SetAnalysis& set, SetPlan& plan) {
  const AnalysisSettings& s = ctx.settings;
  const Montage& montage = ctx.data.montage;
  const std::size_t channels = ctx.data.emg_channels();
  set.normalisation = choose_normalisation(montage, ctx.mvc_reference, plan.set_peak_uv);
  const bool amplitudes_comparable =
      set.normalisation.kind == NormalisationKind::mvic || s.verdicts.ratios_without_mvc;
  plan.rc.normalisation = set.normalisation;
  for (RepScore& rep : plan.scores) {
    finish_repetition(plan.rc, rep);
    set.reps.push_back(std::move(rep));
  }

  // --- Set summary
  // -------------------------------------------------------------------------------------------
  SetSummary& sum = set.summary;
  sum.reps = static_cast<int>(set.reps.size());
  sum.median_mean_pct.assign(channels, kNaN);
  sum.median_peak_pct.assign(channels, kNaN);
  sum.median_onset_rel_ms.assign(channels, kNaN);
  sum.median_frequency_trend_pct_per_rep.assign(channels, kNaN);
  sum.finsm5_trend_pct_per_rep.assign(channels, kNaN);
  for (const RepScore& rep : set.reps) {
    sum.partial_reps += rep.partial ? 1 : 0;
    sum.valid_reps += rep.valid ? 1 : 0;
    for (std::size_t i = 0; i < kVerdictCount; ++i) count(sum.verdicts[i], verdict_at(rep.verdicts, i).state);
  }
  auto column = [&](std::size_t c, auto field) {
    std::vector<double> x;
    for (const RepScore& rep : set.reps) {
      const ChannelRepScore& cs = rep.channels[c];
      x.push_back(rep.valid && cs.valid ? field(cs) : kNaN);
    }
    return x;
  };
  for (std::size_t c = 0; c < channels; ++c) {
    sum.median_mean_pct[c] = median_finite(column(c, [](const ChannelRepScore& x) { return x.mean_pct; }));
    sum.median_peak_pct[c] = median_finite(column(c, [](const ChannelRepScore& x) { return x.peak_pct; }));
    sum.median_onset_rel_ms[c] =
        median_finite(column(c, [](const ChannelRepScore& x) { return x.onset_rel_ms; }));
    sum.median_frequency_trend_pct_per_rep[c] =
        trend_pct_per_rep(column(c, [](const ChannelRepScore& x) { return x.median_frequency_hz; }));
    sum.finsm5_trend_pct_per_rep[c] =
        trend_pct_per_rep(column(c, [](const ChannelRepScore& x) { return x.finsm5; }));
  }
  auto set_ratios = [&](Muscle g_muscle, SideRatios& out, double& mean_of_rep_ratios) {
    if (!amplitudes_comparable) return;
    std::array<double, 2> gm{kNaN, kNaN}, esm{kNaN, kNaN};
    std::vector<double> per_rep;
    for (Side side : {Side::left, Side::right}) {
      const auto gc = channel_of(montage, g_muscle, side);
      const auto ec = channel_of(montage, Muscle::erector_spinae_lumbar, side);
      if (!gc || !ec) continue;
      // Per side over reps: ratio of the mean amplitudes and, below, the mean of per-rep ratios.
      const auto gcol = column(*gc, [](const ChannelRepScore& x) { return x.mean_pct; });
      const auto ecol = column(*ec, [](const ChannelRepScore& x) { return x.mean_pct; });
      out.per_side[side_index(side)] = ratio_of_means(gcol, ecol);
      gm[side_index(side)] = mean_of_ratios(gcol, std::vector<double>(gcol.size(), 1.0));  // mean of glute
      esm[side_index(side)] = mean_of_ratios(ecol, std::vector<double>(ecol.size(), 1.0));
    }
    out.ratio_of_means = ratio_of_means(gm, esm);
    out.mean_of_ratios = mean_of_ratios(out.per_side, std::array<double, 2>{1.0, 1.0});
    for (const RepScore& rep : set.reps) {
      per_rep.push_back(g_muscle == Muscle::gluteus_maximus ? rep.gmax_to_es.ratio_of_means
                                                            : rep.gmed_to_es.ratio_of_means);
    }
    mean_of_rep_ratios = mean_of_ratios(per_rep, std::vector<double>(per_rep.size(), 1.0));
  };
  set_ratios(Muscle::gluteus_maximus, sum.gmax_to_es, sum.gmax_to_es_mean_of_rep_ratios);
  set_ratios(Muscle::gluteus_medius, sum.gmed_to_es, sum.gmed_to_es_mean_of_rep_ratios);
  auto symmetry = [&](Muscle m) {
    const auto l = channel_of(montage, m, Side::left), r = channel_of(montage, m, Side::right);
    if (!l || !r) return kNaN;
    return symmetry_index_pct(sum.median_mean_pct[*l], sum.median_mean_pct[*r]);
  };
  sum.gmax_symmetry_pct = symmetry(Muscle::gluteus_maximus);
  sum.gmed_symmetry_pct = symmetry(Muscle::gluteus_medius);
  set.status = SetStatus::ok;
  set.status_message =
      fmt::format("{} reps ({} partial), {} scored", sum.reps, sum.partial_reps, sum.valid_reps);
}

}  // namespace

SessionAnalysis analyse_session(const SessionData& data, const AnalysisSettings& settings,
                                double envelope_rate_hz) {
  validate(settings);
  const std::size_t channels = data.emg_channels();
  if (channels == 0) throw std::invalid_argument("session has no EMG channels in its montage");
  if (data.emg_counts.size() % channels != 0) {
    throw std::invalid_argument(fmt::format("EMG counts ({}) are not a whole number of rows of {} channels",
                                            data.emg_counts.size(), channels));
  }
  if (!(data.device.emg_rate_hz > 0.0) || !std::isfinite(data.device.emg_rate_hz)) {
    throw std::invalid_argument("DeviceInfo::emg_rate_hz must be positive");
  }
  for (std::size_t k = 0; k < data.imu.size(); ++k) {
    if (data.imu[k].accel.size() != data.imu[k].gyro.size() || data.imu[k].accel.size() % 3 != 0) {
      throw std::invalid_argument(
          fmt::format("IMU {}: accelerometer and gyroscope streams differ in length", k));
    }
    if (data.imu[k].samples() != data.imu.front().samples()) {
      throw std::invalid_argument(
          "IMU streams of different lengths: expected one row per sample index for every sensor");
    }
    if (k >= data.device.imu.size() || !(data.device.imu[k].rate_hz > 0.0)) {
      throw std::invalid_argument(fmt::format("IMU {} has no rate in DeviceInfo", k));
    }
  }

  SessionAnalysis out;
  out.software_version = GLUTESCOPE_VERSION;
  out.settings = settings;
  SessionContext ctx{data, settings, 0.0, {}, {}, {}, -32768, 32767};
  ctx.emg_rate = data.device.emg_rate_hz;
  if (data.device.emg_format == SampleFormat::int24) ctx.rail_low = -8388608, ctx.rail_high = 8388607;
  const std::size_t samples = data.emg_samples();
  if (settings.emg.bandpass_high_hz >= 0.5 * ctx.emg_rate) {
    out.warnings.push_back(fmt::format("emg.bandpass_high_hz = {} Hz is above Nyquist at {} Hz: using {} Hz",
                                       settings.emg.bandpass_high_hz, ctx.emg_rate, 0.45 * ctx.emg_rate));
  }

  ctx.invalid =
      invalid_spans(data, ctx.emg_rate, data.device.imu.empty() ? 0.0 : data.device.imu.front().rate_hz);
  const double end_s = static_cast<double>(samples) / ctx.emg_rate;
  const std::vector<MarkedSet> marked = pair_markers(data.events, end_s, out.warnings);
  for (const MarkedSet& m : marked) {
    if (m.exercise != Exercise::mvc) continue;
    MvcTrial t;
    t.muscle = m.muscle;
    t.side = m.side;
    t.begin_sample = to_index(m.start_s, ctx.emg_rate, samples);
    t.end_sample = to_index(m.stop_s, ctx.emg_rate, samples);
    out.mvc_trials.push_back(t);
  }

  // IMU first (orientation, angles, repetitions): it tells the EMG pass which windows each set scores.
  ctx.gravity = track_gravity(data, settings);
  if (marked.empty()) out.warnings.push_back("no set_start/set_stop markers: nothing to score");
  std::vector<SetPlan> plans;
  for (const MarkedSet& m : marked) {
    if (m.exercise == Exercise::mvc) continue;
    SetAnalysis set;
    set.exercise = m.exercise;
    set.start_s = m.start_s;
    set.stop_s = m.stop_s;
    plans.push_back(plan_set(ctx, set));
    out.sets.push_back(std::move(set));
  }

  // EMG, one channel group at a time: MVC reference, plot envelope, and each set's channel scores.
  ctx.mvc_reference.assign(channels, kNaN);
  std::size_t block = 0, rows = 0;
  if (envelope_rate_hz > 0.0) {
    block = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(ctx.emg_rate / envelope_rate_hz)));
    rows = samples / block;
    out.envelope_rate_hz = ctx.emg_rate / static_cast<double>(block);
    out.envelope_uv.assign(rows * channels, 0.0f);
  }
  // Ranges whose peak of the smoothed envelope is needed: the MVC trials, then per scored set the set and
  // each rep's movement (concentric + hold).
  std::vector<Interval> peak_ranges;
  for (const MvcTrial& t : out.mvc_trials) peak_ranges.push_back({t.begin_sample, t.end_sample});
  for (SetPlan& plan : plans) {
    if (!plan.scored) continue;
    plan.set_range = peak_ranges.size();
    peak_ranges.push_back({plan.e0, plan.e1});
    for (const Repetition& r : plan.reps) {
      const RepWindow w = rep_window(plan.rc, r);
      peak_ranges.push_back({w.m0, w.mh});
    }
  }
  std::vector<double> scratch;
  condition_session_offline(data, settings, peak_ranges, [&](std::size_t c, const ChannelSignalsView& sig) {
    if (block > 0) {
      for (std::size_t r = 0; r < rows; ++r) {
        double sum = 0.0;
        for (std::size_t n = r * block; n < (r + 1) * block; ++n) sum += sig.rms_uv[n];
        out.envelope_uv[r * channels + c] = static_cast<float>(sum / static_cast<double>(block));
      }
    }
    ctx.mvc_reference[c] =
        mvc_reference(data.montage.emg[c], out.mvc_trials, sig.range_peaks_uv.first(out.mvc_trials.size()));
    for (SetPlan& plan : plans) {
      if (plan.scored) score_set_channel(plan, c, sig, ctx.emg_rate, scratch);
    }
  });
  out.mvc_reference_uv = ctx.mvc_reference;

  for (std::size_t i = 0; i < plans.size(); ++i) {
    SetAnalysis& set = out.sets[i];
    if (plans[i].scored) finish_set(ctx, set, plans[i]);
    for (const RepScore& rep : set.reps) {
      ++out.reps;
      for (std::size_t k = 0; k < kVerdictCount; ++k)
        count(out.verdicts[k], verdict_at(rep.verdicts, k).state);
    }
  }
  return out;
}

namespace {
nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
nlohmann::json ratios_json(const SideRatios& r) {
  return {{"left", num(r.per_side[0])},
          {"right", num(r.per_side[1])},
          {"ratio_of_means", num(r.ratio_of_means)},
          {"mean_of_ratios", num(r.mean_of_ratios)}};
}
nlohmann::json counts_json(const std::array<VerdictCounts, kVerdictCount>& c) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t i = 0; i < kVerdictCount; ++i) {
    j[std::string(kVerdictNames[i])] = {
        {"yes", c[i].yes}, {"no", c[i].no}, {"not_available", c[i].not_available}, {"invalid", c[i].invalid}};
  }
  return j;
}
}  // namespace

nlohmann::json to_json(const SessionAnalysis& a, const Montage& montage) {
  using nlohmann::json;
  json j;
  j["software_version"] = a.software_version;
  j["settings"] = to_json(a.settings);
  j["warnings"] = a.warnings;
  json mvc = json::object();
  for (std::size_t c = 0; c < a.mvc_reference_uv.size() && c < montage.emg.size(); ++c) {
    mvc[montage.emg[c].label] = num(a.mvc_reference_uv[c]);
  }
  j["mvc_reference_uv"] = mvc;
  j["reps"] = a.reps;
  j["verdict_counts"] = counts_json(a.verdicts);
  json sets = json::array();
  for (const SetAnalysis& s : a.sets) {
    json js;
    js["exercise"] = std::string(to_string(s.exercise));
    js["start_s"] = s.start_s;
    js["stop_s"] = s.stop_s;
    js["status"] = std::string(to_string(s.status));
    js["status_message"] = s.status_message;
    js["working_side"] = std::string(to_string(s.working_side));
    js["normalisation"] = {{"kind", std::string(to_string(s.normalisation.kind))},
                           {"note", s.normalisation.note}};
    json reps = json::array();
    for (const RepScore& r : s.reps) {
      json jr;
      jr["index"] = r.index;
      jr["start_s"] = r.start_s;
      jr["concentric_end_s"] = r.concentric_end_s;
      jr["hold_end_s"] = r.hold_end_s;
      jr["end_s"] = r.end_s;
      jr["partial"] = r.partial;
      jr["rom_deg"] = r.rom_deg;
      jr["pelvic_roll_max_deg"] = num(r.pelvic_roll_max_deg);
      jr["pelvic_tilt_min_deg"] = num(r.pelvic_tilt_min_deg);
      jr["valid"] = r.valid;
      if (!r.valid) jr["invalid_reason"] = r.invalid_reason;
      jr["summary"] = r.summary;
      json ch = json::object();
      for (std::size_t c = 0; c < r.channels.size() && c < montage.emg.size(); ++c) {
        const ChannelRepScore& cs = r.channels[c];
        json jc = {{"valid", cs.valid},
                   {"onset_rel_ms", num(cs.onset_rel_ms)},
                   {"mean_concentric_pct", num(cs.mean_concentric_pct)},
                   {"mean_hold_pct", num(cs.mean_hold_pct)},
                   {"mean_pct", num(cs.mean_pct)},
                   {"peak_pct", num(cs.peak_pct)},
                   {"median_frequency_hz", num(cs.median_frequency_hz)},
                   {"finsm5", num(cs.finsm5)}};
        if (!cs.valid) jc["invalid_reason"] = cs.invalid_reason;
        ch[montage.emg[c].label] = jc;
      }
      jr["channels"] = ch;
      jr["gmax_to_es"] = ratios_json(r.gmax_to_es);
      jr["gmed_to_es"] = ratios_json(r.gmed_to_es);
      json order = json::array();
      for (std::size_t c : r.firing_order) order.push_back(montage.emg[c].label);
      jr["firing_order"] = order;
      json verdicts = json::object();
      for (std::size_t i = 0; i < kVerdictCount; ++i) {
        const Verdict& v = verdict_at(r.verdicts, i);
        verdicts[std::string(kVerdictNames[i])] = {{"state", std::string(to_string(v.state))},
                                                   {"value", num(v.value)},
                                                   {"threshold", num(v.threshold)},
                                                   {"reason", v.reason}};
      }
      jr["verdicts"] = verdicts;
      reps.push_back(jr);
    }
    js["reps"] = reps;
    const SetSummary& sm = s.summary;
    json jsum;
    jsum["reps"] = sm.reps;
    jsum["partial_reps"] = sm.partial_reps;
    jsum["valid_reps"] = sm.valid_reps;
    jsum["verdict_counts"] = counts_json(sm.verdicts);
    json per_channel = json::object();
    for (std::size_t c = 0; c < sm.median_mean_pct.size() && c < montage.emg.size(); ++c) {
      per_channel[montage.emg[c].label] = {
          {"median_mean_pct", num(sm.median_mean_pct[c])},
          {"median_peak_pct", num(sm.median_peak_pct[c])},
          {"median_onset_rel_ms", num(sm.median_onset_rel_ms[c])},
          {"median_frequency_trend_pct_per_rep", num(sm.median_frequency_trend_pct_per_rep[c])},
          {"finsm5_trend_pct_per_rep", num(sm.finsm5_trend_pct_per_rep[c])}};
    }
    jsum["channels"] = per_channel;
    jsum["gmax_to_es"] = ratios_json(sm.gmax_to_es);
    jsum["gmed_to_es"] = ratios_json(sm.gmed_to_es);
    jsum["gmax_to_es_mean_of_rep_ratios"] = num(sm.gmax_to_es_mean_of_rep_ratios);
    jsum["gmed_to_es_mean_of_rep_ratios"] = num(sm.gmed_to_es_mean_of_rep_ratios);
    jsum["gmax_symmetry_pct"] = num(sm.gmax_symmetry_pct);
    jsum["gmed_symmetry_pct"] = num(sm.gmed_symmetry_pct);
    js["summary"] = jsum;
    sets.push_back(js);
  }
  j["sets"] = sets;
  return j;
}

}  // namespace glutescope::exercise
