// The offline batch path of the EMG chain (condition_session_offline, emg_conditioning.hpp): every channel of
// a session in vectorised groups, in time blocks, the moving RMS and the peaks' moving average as streams,
// their consumers served as the values pass. The chain itself (ConditioningStream) and the per-channel and
// live paths are in emg_conditioning.cpp.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/large_buffers.hpp"
#include "dsp/envelope.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/rep_scores.hpp"

namespace glutescope::exercise {

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

// Sorted-by-begin index of requested ranges (clipped to the record) and, as the samples stream past in
// order, each range's running sums (mean ranges) or copies (windows).
struct RangeCursor {
  std::vector<Interval> ranges;     // clipped to [0, n)
  std::vector<std::size_t> order;   // by begin
  std::size_t next = 0;             // next entry of `order` not yet active
  std::vector<std::size_t> active;  // ranges [begin, end) that overlap samples still to come
  RangeCursor(std::span<const Interval> requested, std::size_t n)
      : ranges(requested.begin(), requested.end()) {
    for (Interval& r : ranges) {
      r.end = std::min(r.end, n);
      if (r.begin >= r.end) r = {};
    }
    for (std::size_t k = 0; k < ranges.size(); ++k)
      if (ranges[k].begin < ranges[k].end) order.push_back(k);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t x, std::size_t y) { return ranges[x].begin < ranges[y].begin; });
  }
  // Calls take(range, from, to) for the part [from, to) of every range inside samples [i0, i1), in range
  // order of activation; samples must come in order, each once.
  template <typename Take>
  void each(std::size_t i0, std::size_t i1, Take&& take) {
    while (next < order.size() && ranges[order[next]].begin < i1) active.push_back(order[next++]);
    std::size_t kept = 0;
    for (const std::size_t r : active) {
      const std::size_t from = std::max(i0, ranges[r].begin), to = std::min(i1, ranges[r].end);
      if (from < to) take(r, from, to);
      if (ranges[r].end > i1) active[kept++] = r;
    }
    active.resize(kept);
  }
};

// The centred moving RMS of W channels in lockstep and what the batch path needs from it, fed with filtered
// rows as they become final (W independent long-double chains hide the x87 add latency; W = 1 or 2 keeps
// every running sum in a register of the 8-deep x87 stack).
//
// Centred moving RMS (dsp::moving_rms_centered): output i covers [i + half + 1 - w, i + half] clipped to the
// record: sqrt(max(P[last + 1] - P[first], 0) / w) with long-double prefix sums of squares
// P[k + 1] = P[k] + x[k]^2. Instead of storing P, two running sums walk the same sequence: `head` at last + 1
// and `tail` at first; both add the same terms in the same order, so each equals P at its index exactly, and
// nothing long-double goes through memory. The window sums of a piece go to a buffer first and the square
// roots in a second, vectorisable pass (same operations per sample). Only the rows between the tail and the
// newest row are held.
//
// Peaks of the centred moving average of the RMS (moving_average_centered: [i - (w-1)/2, i + w/2] clipped,
// (P[hi] - P[lo]) / (hi - lo) with long-double prefix sums of the RMS) over each covered piece, with the same
// two running sums. Inside the record the divisor is the full window and x -> double(x / w) is monotonic, so
// the piece's largest window sum gives its largest average: one division per piece. The sums move forward
// only, to exactly the indices the whole-record loop visits, so they add the same terms in the same order.
//
// Means over ranges and envelope blocks: sum in sample order, one division (rep_scoring's mean_over).
template <std::size_t W>
class EnvelopeStream {
 public:
  EnvelopeStream(std::size_t n, std::size_t rms_window, std::size_t peak_window, const PeakPieces& pieces,
                 std::span<const Interval> mean_ranges, std::size_t envelope_block)
      : n_(n),
        w_(rms_window),
        half_((rms_window - 1) / 2),
        pw_(peak_window),
        before_((peak_window - 1) / 2),
        after_(peak_window / 2),
        pieces_(pieces),
        means_(mean_ranges, n),
        envelope_block_(envelope_block) {
    for (std::size_t k = 0; k < W; ++k) {
      piece_peak_[k].assign(piece_count(), kNaN);
      mean_sum_[k].assign(mean_ranges.size(), 0.0);
      if (envelope_block_ > 0) envelope_[k].reserve(n / envelope_block_);
    }
    piece_start();
  }

  // Rows [first, first + rows) of filtered signal, lane k at f[r * stride + k] (in order, each row once).
  void push(std::size_t first, const double* f, std::size_t rows, std::size_t stride) {
    const std::size_t at = filtered_.size();
    filtered_.resize(at + rows * W);
    double* const out = filtered_.data() + at;
    for (std::size_t r = 0; r < rows; ++r) {
      for (std::size_t k = 0; k < W; ++k) out[r * W + k] = f[r * stride + k];
    }
    filtered_end_ = first + rows;
    run_rms();
  }
  // After the last row: the rest of the RMS, peaks, means and envelope.
  void finish() { run_rms(); }

  [[nodiscard]] const std::vector<double>& piece_peaks(std::size_t k) const { return piece_peak_[k]; }
  [[nodiscard]] std::vector<double> range_means(std::size_t k) const {
    std::vector<double> out(means_.ranges.size(), kNaN);
    for (std::size_t r = 0; r < out.size(); ++r) {
      const Interval& range = means_.ranges[r];
      if (range.begin < range.end) out[r] = mean_sum_[k][r] / static_cast<double>(range.end - range.begin);
    }
    return out;
  }
  [[nodiscard]] const std::vector<double>& envelope(std::size_t k) const { return envelope_[k]; }

 private:
  [[nodiscard]] std::size_t piece_count() const {
    return pieces_.bounds.empty() ? 0 : pieces_.bounds.size() - 1;
  }

  // RMS of every index whose window's last row has arrived (all of them once the record is complete). The
  // running sums live in locals for the loop (registers), not in members the stores could alias.
  void run_rms() {
    const std::size_t i0 = rms_next_;
    // Output i needs rows up to min(i + half, n - 1).
    std::size_t i1 = n_;
    if (filtered_end_ < n_) i1 = filtered_end_ > half_ ? filtered_end_ - half_ : 0;
    if (i1 <= i0) return;
    const std::size_t count = i1 - i0;
    window_sums_.resize(count * W);
    double* const sums = window_sums_.data();
    const double* const f = filtered_.data();
    const std::size_t base = filtered_base_;
    std::array<long double, W> head = head_, tail = tail_;
    std::size_t head_at = head_at_, tail_at = tail_at_;
    for (std::size_t i = i0; i < i1; ++i) {
      const std::size_t last = std::min(i + half_, n_ - 1);
      const std::size_t first = i + half_ + 1 >= w_ ? i + half_ + 1 - w_ : 0;
      for (; head_at <= last; ++head_at) {
        for (std::size_t k = 0; k < W; ++k) {
          const double v = f[(head_at - base) * W + k];
          head[k] = head[k] + static_cast<long double>(v) * v;
        }
      }
      for (; tail_at < first; ++tail_at) {
        for (std::size_t k = 0; k < W; ++k) {
          const double v = f[(tail_at - base) * W + k];
          tail[k] = tail[k] + static_cast<long double>(v) * v;
        }
      }
      for (std::size_t k = 0; k < W; ++k) sums[(i - i0) * W + k] = static_cast<double>(head[k] - tail[k]);
    }
    head_ = head;
    tail_ = tail;
    head_at_ = head_at;
    tail_at_ = tail_at;
    rms_next_ = i1;
    // Rows before the tail are not read again.
    drop_front(filtered_, filtered_base_, tail_at_);
    // De-interleave into the RMS ring, then the square roots (vectorised) over the new values of each lane.
    const std::size_t at = rms_.size() / W;  // rows of rms_ before these
    rms_.resize(rms_.size() + count * W);
    lane_scratch_.resize(count);
    double* const lane = lane_scratch_.data();
    for (std::size_t k = 0; k < W; ++k) {
      for (std::size_t j = 0; j < count; ++j) lane[j] = sums[j * W + k];
      rms_from_window_sums(lane, count, static_cast<double>(w_));
      for (std::size_t j = 0; j < count; ++j) rms_[(at + j) * W + k] = lane[j];
    }
    take_rms(i0, i1);
    run_peaks();
  }

  // Means and envelope blocks over the new RMS values [i0, i1).
  void take_rms(std::size_t i0, std::size_t i1) {
    const double* const rms = rms_.data();
    const std::size_t base = rms_base_;
    means_.each(i0, i1, [&](std::size_t r, std::size_t from, std::size_t to) {
      for (std::size_t k = 0; k < W; ++k) {
        double sum = mean_sum_[k][r];
        for (std::size_t i = from; i < to; ++i) sum += rms[(i - base) * W + k];
        mean_sum_[k][r] = sum;
      }
    });
    if (envelope_block_ == 0) return;
    const std::size_t whole = n_ / envelope_block_ * envelope_block_;
    std::array<double, W> acc = envelope_sum_;
    for (std::size_t i = i0; i < std::min(i1, whole); ++i) {
      for (std::size_t k = 0; k < W; ++k) acc[k] += rms[(i - base) * W + k];
      if ((i + 1) % envelope_block_ == 0) {
        for (std::size_t k = 0; k < W; ++k) {
          envelope_[k].push_back(acc[k] / static_cast<double>(envelope_block_));
          acc[k] = 0.0;
        }
      }
    }
    envelope_sum_ = acc;
  }

  void piece_start() {
    while (piece_ + 1 < pieces_.bounds.size() && !pieces_.covered[piece_]) ++piece_;
    if (piece_ + 1 >= pieces_.bounds.size()) return;
    peak_i_ = pieces_.bounds[piece_];
    any_full_ = false;
    best_full_.fill(0.0L);
    best_edge_.fill(-std::numeric_limits<double>::infinity());
  }

  // Peaks of every covered piece whose windows' RMS values have arrived (state in locals for the loop, as
  // in run_rms).
  void run_peaks() {
    const std::size_t available = rms_next_;
    const double* const rms = rms_.data();
    const std::size_t base = rms_base_;
    std::array<long double, W> head = head2_, tail = tail2_;
    std::size_t head_at = head2_at_, tail_at = tail2_at_;
    bool waiting = false;
    while (!waiting && piece_ + 1 < pieces_.bounds.size()) {
      std::array<long double, W> best_full = best_full_;
      std::array<double, W> best_edge = best_edge_;
      bool any_full = any_full_;
      std::size_t i = peak_i_;
      const std::size_t end = pieces_.bounds[piece_ + 1];
      for (; i < end; ++i) {
        const std::size_t lo = i >= before_ ? i - before_ : 0;
        const std::size_t hi = std::min(n_, i + after_ + 1);
        // Towards this index's window as far as the values go (the same terms in the same order as when it
        // is complete), then wait for the rest.
        for (; head_at < std::min(hi, available); ++head_at) {
          for (std::size_t k = 0; k < W; ++k) head[k] = head[k] + rms[(head_at - base) * W + k];
        }
        for (; tail_at < std::min(lo, available); ++tail_at) {
          for (std::size_t k = 0; k < W; ++k) tail[k] = tail[k] + rms[(tail_at - base) * W + k];
        }
        if (hi > available) {
          waiting = true;
          break;
        }
        if (hi - lo == pw_) {
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
      best_full_ = best_full;
      best_edge_ = best_edge;
      any_full_ = any_full;
      peak_i_ = i;
      if (waiting) break;
      for (std::size_t k = 0; k < W; ++k) {
        const double full = any_full ? static_cast<double>(best_full[k] / static_cast<long double>(pw_))
                                     : -std::numeric_limits<double>::infinity();
        piece_peak_[k][piece_] = std::max(full, best_edge[k]);
      }
      ++piece_;
      piece_start();
    }
    head2_ = head;
    tail2_ = tail;
    head2_at_ = head_at;
    tail2_at_ = tail_at;
    // The peaks need the RMS from the tail on; with no piece left, nothing (the means and envelope took
    // their values already).
    drop_front(rms_, rms_base_, piece_ + 1 < pieces_.bounds.size() ? tail2_at_ : available);
  }

  // Drops the rows of `buffer` (W values each, starting at row `base`) before row `keep`, once they are at
  // least half of it (amortised: each value moves at most once more).
  static void drop_front(std::vector<double>& buffer, std::size_t& base, std::size_t keep) {
    const std::size_t rows = buffer.size() / W;
    if (keep <= base) return;
    const std::size_t drop = std::min(keep - base, rows);
    if (2 * drop < rows) return;
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(drop * W));
    base += drop;
  }

  // Long-double running sums first (16-byte aligned, no padding between them).
  std::array<long double, W> head_{}, tail_{};    // RMS stage: P at head_at_ and tail_at_
  std::array<long double, W> head2_{}, tail2_{};  // peaks stage: P of the RMS at head2_at_ and tail2_at_
  std::array<long double, W> best_full_{};        // the current piece's largest full-window sum
  std::size_t n_, w_, half_, pw_, before_, after_;
  const PeakPieces& pieces_;
  RangeCursor means_;
  std::size_t envelope_block_;
  // RMS stage
  std::vector<double> filtered_;  // rows [filtered_base_, filtered_end_), W values each
  std::size_t filtered_base_ = 0, filtered_end_ = 0;
  std::size_t head_at_ = 0, tail_at_ = 0, rms_next_ = 0;
  std::vector<double> window_sums_, lane_scratch_;
  // RMS values [rms_base_, rms_next_), W each, still needed by the peaks
  std::vector<double> rms_;
  std::size_t rms_base_ = 0;
  // Peaks stage
  std::size_t head2_at_ = 0, tail2_at_ = 0;
  std::size_t piece_ = 0, peak_i_ = 0;
  std::array<double, W> best_edge_{};
  std::array<std::vector<double>, W> piece_peak_;
  // Means and envelope
  std::array<std::vector<double>, W> mean_sum_;
  std::array<double, W> envelope_sum_{};
  std::array<std::vector<double>, W> envelope_;
  bool any_full_ = false;
};

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
// (Counts of either width: int16 and int32 values convert to the same doubles.)
std::vector<double> channel_means(const SessionData& data, const std::vector<Interval>& gaps,
                                  const std::vector<double>& scale) {
  const std::size_t channels = data.emg_channels(), n = data.emg_samples();
  std::vector<double> mean(channels, 0.0);
  data.emg_counts.visit([&](auto counts) {
    std::size_t g = 0;
    for (std::size_t i = 0; i < n; ++i) {
      while (g < gaps.size() && gaps[g].end <= i) ++g;
      if (g < gaps.size() && gaps[g].begin <= i) {
        for (std::size_t c = 0; c < channels; ++c) mean[c] += 0.0;
      } else {
        const auto* row = counts.data() + i * channels;
        for (std::size_t c = 0; c < channels; ++c) mean[c] += row[c] * scale[c];
      }
    }
  });
  for (double& m : mean) m /= static_cast<double>(n);
  return mean;
}

// Rows [begin, end) of the group's µV (counts x scale), gaps at zero, minus the channel's mean, interleaved
// into x [(end - begin) x lanes]; lanes beyond the members are silent (zero).
void load_group(const SessionData& data, const ConditioningGroup& group, const std::vector<Interval>& gaps,
                const std::vector<double>& scale, const std::vector<double>& mean, std::size_t lanes,
                std::size_t begin, std::size_t end, std::span<double> x) {
  const std::size_t channels = data.emg_channels(), width = group.members.size();
  // First merged gap that ends after `begin`.
  auto g = static_cast<std::size_t>(
      std::partition_point(gaps.begin(), gaps.end(), [&](const Interval& gap) { return gap.end <= begin; }) -
      gaps.begin());
  data.emg_counts.visit([&](auto counts) {
    for (std::size_t i = begin; i < end; ++i) {
      while (g < gaps.size() && gaps[g].end <= i) ++g;
      double* out = x.data() + (i - begin) * lanes;
      for (std::size_t k = width; k < lanes; ++k) out[k] = 0.0;
      if (g < gaps.size() && gaps[g].begin <= i) {
        for (std::size_t k = 0; k < width; ++k) out[k] = 0.0 - mean[group.members[k]];
      } else {
        const auto* row = counts.data() + i * channels;
        for (std::size_t k = 0; k < width; ++k) {
          const std::size_t c = group.members[k];
          const double uv = row[c] * scale[c];
          out[k] = uv - mean[c];
        }
      }
    }
  });
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

namespace {

// One channel's answers to the requests, filled while its group streams.
struct ChannelAnswers {
  std::vector<double> range_peaks, range_means, envelope, windows;
  std::vector<std::size_t> window_start;
};

// The requested filtered windows of a group's member lanes, copied as the filtered rows pass.
class WindowCopies {
 public:
  WindowCopies(std::span<const Interval> windows, std::size_t n, std::size_t width)
      : cursor_(windows, n), copies_(width) {
    start_.push_back(0);
    for (const Interval& w : cursor_.ranges) start_.push_back(start_.back() + (w.end - w.begin));
    for (std::vector<double>& c : copies_) c.resize(start_.back());
  }
  void take(std::size_t first, std::span<const double> rows, std::size_t lanes) {
    const std::size_t k = rows.size() / lanes;
    cursor_.each(first, first + k, [&](std::size_t r, std::size_t from, std::size_t to) {
      const std::size_t at = start_[r] + (from - cursor_.ranges[r].begin);
      for (std::size_t lane = 0; lane < copies_.size(); ++lane) {
        for (std::size_t i = from; i < to; ++i)
          copies_[lane][at + (i - from)] = rows[(i - first) * lanes + lane];
      }
    });
  }
  void move_to(std::size_t lane, ChannelAnswers& out) {
    out.windows = std::move(copies_[lane]);
    out.window_start = start_;
  }

 private:
  RangeCursor cursor_;
  std::vector<std::size_t> start_;
  std::vector<std::vector<double>> copies_;
};

// Hands the chain's filtered rows to their consumer (the envelope streams and window copies): directly, or,
// when `threaded`, on a thread of its own that takes copies of the blocks in order through a short queue, so
// that the consumer's running sums overlap the filters of the next blocks. The consumer sees the same blocks
// in the same order either way. finish() waits until every block is consumed and rethrows the consumer's
// exception; the destructor stops a consumer that finish() did not wait for.
class FilteredRelay {
 public:
  using Consume = std::function<void(std::size_t, std::span<const double>)>;
  FilteredRelay(bool threaded, Consume consume) : consume_(std::move(consume)) {
    if (!threaded) return;
    try {
      worker_ = std::thread([this] { run(); });
    } catch (const std::system_error&) {
      // No thread to be had: consumed directly.
    }
  }
  FilteredRelay(const FilteredRelay&) = delete;
  FilteredRelay& operator=(const FilteredRelay&) = delete;
  ~FilteredRelay() {
    if (!worker_.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      abandon_ = true;
      done_ = true;
    }
    ready_.notify_all();
    worker_.join();
  }

  void take(std::size_t first, std::span<const double> rows) {
    if (!worker_.joinable()) {
      consume_(first, rows);
      return;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    space_.wait(lock, [&] { return queue_.size() < kQueuedBlocks; });
    std::vector<double> block;
    if (!spare_.empty()) {
      block = std::move(spare_.back());
      spare_.pop_back();
    }
    lock.unlock();
    block.assign(rows.begin(), rows.end());
    lock.lock();
    queue_.push_back({first, std::move(block)});
    lock.unlock();
    ready_.notify_one();
  }

  void finish() {
    if (!worker_.joinable()) return;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    ready_.notify_one();
    worker_.join();
    if (failed_) std::rethrow_exception(failed_);
  }

 private:
  static constexpr std::size_t kQueuedBlocks = 8;  // a few pieces of rows: 1 MiB at 4 lanes
  struct Block {
    std::size_t first = 0;
    std::vector<double> rows;
  };
  void run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      ready_.wait(lock, [&] { return !queue_.empty() || done_; });
      if (queue_.empty() || abandon_) return;
      Block block = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      space_.notify_one();
      if (!failed_) {
        try {
          consume_(block.first, block.rows);
        } catch (...) {
          failed_ = std::current_exception();  // the rest is drained unconsumed; finish() rethrows
        }
      }
      lock.lock();
      spare_.push_back(std::move(block.rows));
    }
  }

  Consume consume_;
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<Block> queue_;
  std::vector<std::vector<double>> spare_;
  bool done_ = false, abandon_ = false;
  std::exception_ptr failed_;  // written by the worker only, read after join
  std::thread worker_;         // last: started after every member it uses exists
};

// f(k) for every k in [0, count) (a group's lanes, a wave's groups), on up to `threads` threads (this one
// included), each k once. Exceptions are kept per k and the lowest k's is rethrown once every thread is done.
void for_each_index(std::size_t count, std::size_t threads, const std::function<void(std::size_t)>& f) {
  threads = std::min(threads, count);
  if (threads <= 1) {
    for (std::size_t lane = 0; lane < count; ++lane) f(lane);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::exception_ptr> failed(count);
  const auto work = [&] {
    for (std::size_t lane = next++; lane < count; lane = next++) {
      try {
        f(lane);
      } catch (...) {
        failed[lane] = std::current_exception();
      }
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  try {
    for (std::size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  } catch (const std::system_error&) {
    // No thread to be had (a process at its limit): the lanes left run here.
  }
  work();
  for (std::thread& t : helpers) t.join();
  for (const std::exception_ptr& e : failed) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

void condition_session_offline(const SessionData& data, const AnalysisSettings& s,
                               const ConditioningRequests& requests,
                               const std::function<void(std::size_t, const ChannelSignalsView&)>& visit,
                               std::size_t threads) {
  const std::size_t channels = data.emg_channels();
  const std::size_t n = data.emg_samples();
  if (channels == 0) return;
  const auto view_of = [](const StridedSignal& onset, const ChannelAnswers& a) {
    ChannelSignalsView view;
    view.onset_signal = onset;
    view.range_peaks_uv = a.range_peaks;
    view.range_means_uv = a.range_means;
    view.envelope_uv = a.envelope;
    view.windows_uv = a.windows;
    view.window_start = a.window_start;
    return view;
  };
  if (n == 0) {  // condition_channel's empty result: every peak and mean over an empty record is NaN
    ChannelAnswers empty;
    empty.range_peaks.assign(requests.peak_ranges.size(), kNaN);
    empty.range_means.assign(requests.mean_ranges.size(), kNaN);
    empty.window_start.assign(requests.filtered_windows.size() + 1, 0);
    for (std::size_t c = 0; c < channels; ++c) visit(c, view_of({}, empty));
    return;
  }
  const double rate = data.device.emg_rate_hz;
  const std::vector<ConditioningGroup> groups = conditioning_groups(data, rate, s);
  const std::size_t rms_window = dsp::window_samples(s.emg.rms_window_ms, rate);  // as in every design
  const std::size_t peak_window = std::max<std::size_t>(1, dsp::window_samples(s.emg.peak_window_ms, rate));
  std::size_t widest = 0;
  for (const ConditioningGroup& g : groups) widest = std::max(widest, (g.members.size() + 3) / 4 * 4);
  // The one whole-record buffer: the onset signals of a wave's groups (below; the set statistics need them
  // whole), [n x members] each, side by side.
  const auto onset_buffer = uninitialised(widest * n);
  // With a second thread, the kernel maps and clears the buffer's pages there, ahead of the chain that fills
  // it (an hour's 232 MB: a quarter of a second of page faults on a virtual machine). Joined before the
  // buffer is freed (declared after it).
  std::jthread populate;
  if (threads > 1) {
    try {
      populate = std::jthread([p = onset_buffer.get(), bytes = widest * n * sizeof(double)] {
        (void)core::populate_pages(p, bytes);
      });
    } catch (const std::system_error&) {
      // No thread to be had: the chain's writes fault the pages in, as with one thread.
    }
  }
  const PeakPlan plan = peak_plan(requests.peak_ranges, n);
  const std::vector<Interval> gaps = merged_emg_gaps(data);
  const std::vector<double> scale = channel_scales(data);
  const std::vector<double> mean = channel_means(data, gaps, scale);

  // One group: its chain, its envelopes, then its members' visits, on `budget` threads. Its onset signal goes
  // to `psi` [n x width]: the members' lanes only (the padding lanes are silent and never read).
  const auto run_group = [&](const ConditioningGroup& group, double* psi, std::size_t budget) {
    // Interleave `lanes` channels: the group's members padded with silent (all-zero) channels to a multiple
    // of 4, so that every group takes dsp's four-rows-at-a-time vector path (3 channels or fewer would take
    // the row-at-a-time path, several times slower per channel). Lanes never mix: padding changes no result.
    const std::size_t width = group.members.size();
    const std::size_t lanes = (width + 3) / 4 * 4;
    std::vector<double> piece(kConditioningPieceRows * lanes);
    // The members' envelopes, two lanes in lockstep (and a last one alone).
    std::vector<std::unique_ptr<EnvelopeStream<2>>> pairs;
    std::unique_ptr<EnvelopeStream<1>> single;
    for (std::size_t k = 0; k + 1 < width; k += 2) {
      pairs.push_back(std::make_unique<EnvelopeStream<2>>(n, rms_window, peak_window, plan.pieces,
                                                          requests.mean_ranges, requests.envelope_block));
    }
    if (width % 2 == 1) {
      single = std::make_unique<EnvelopeStream<1>>(n, rms_window, peak_window, plan.pieces,
                                                   requests.mean_ranges, requests.envelope_block);
    }
    WindowCopies windows(requests.filtered_windows, n, width);
    // The chain runs in time blocks from a piece of µV rows (cache-resident); the filtered rows feed the
    // envelopes and windows as they become final (on a second thread when there is one), the onset rows go
    // to the group's buffer.
    FilteredRelay relay(budget > 1, [&](std::size_t first, std::span<const double> f) {
      const std::size_t rows = f.size() / lanes;
      for (std::size_t p = 0; p < pairs.size(); ++p) pairs[p]->push(first, f.data() + 2 * p, rows, lanes);
      if (single) single->push(first, f.data() + (width - 1), rows, lanes);
      windows.take(first, f, lanes);
    });
    ConditioningStream stream(
        group.design, lanes, n, [&](std::size_t first, std::span<const double> f) { relay.take(first, f); },
        [&](std::size_t first, std::span<const double> p) {
          if (width == lanes) {
            std::copy(p.begin(), p.end(), psi + first * lanes);
            return;
          }
          const std::size_t rows = p.size() / lanes;
          for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t k = 0; k < width; ++k) psi[(first + r) * width + k] = p[r * lanes + k];
          }
        });
    for (std::size_t i = 0; i < n; i += kConditioningPieceRows) {
      const std::size_t end = std::min(n, i + kConditioningPieceRows);
      const std::span<double> rows(piece.data(), (end - i) * lanes);
      load_group(data, group, gaps, scale, mean, lanes, i, end, rows);
      stream.push(rows);
    }
    stream.finish();
    relay.finish();
    for (const auto& p : pairs) p->finish();
    if (single) single->finish();

    std::vector<ChannelAnswers> answers(width);
    for (std::size_t lane = 0; lane < width; ++lane) {
      ChannelAnswers& a = answers[lane];
      a.range_peaks.assign(plan.ranges.size(), kNaN);
      const auto collect = [&](const auto& envelope, std::size_t k) {
        range_peaks_of(plan, envelope.piece_peaks(k).data(), a.range_peaks);
        a.range_means = envelope.range_means(k);
        a.envelope = envelope.envelope(k);
      };
      if (lane / 2 < pairs.size()) {
        collect(*pairs[lane / 2], lane % 2);
      } else {
        collect(*single, 0);
      }
      windows.move_to(lane, a);
    }
    // The visits (the set statistics and scores: a quarter of an hour's analysis) only read the onset
    // buffer, so the group's channels can be visited at once.
    for_each_index(width, budget, [&](std::size_t lane) {
      visit(group.members[lane], view_of(StridedSignal{psi + lane, width, n}, answers[lane]));
    });
  };

  // Groups in waves: consecutive groups whose members fit the buffer together share it, each in its own
  // columns, and with threads they run side by side (an 8-channel montage's groups of 4, 2 and 2 channels run
  // as [4] then [2, 2]: the two half groups' padded chains no longer one after the other). The threads are
  // shared among a wave's groups.
  for (std::size_t g = 0; g < groups.size();) {
    std::size_t end = g, used = 0;
    while (end < groups.size() && (end == g || used + groups[end].members.size() <= widest))
      used += groups[end++].members.size();
    const std::size_t count = end - g;
    std::vector<double*> psi(count);
    for (std::size_t k = 0, at = 0; k < count; at += groups[g + k].members.size() * n, ++k)
      psi[k] = onset_buffer.get() + at;
    if (threads <= 1 || count == 1) {
      for (std::size_t k = 0; k < count; ++k) run_group(groups[g + k], psi[k], threads);
    } else {
      for_each_index(count, std::min(threads, count), [&](std::size_t k) {
        const std::size_t share = threads / count + (k < threads % count ? 1 : 0);
        run_group(groups[g + k], psi[k], std::max<std::size_t>(1, share));
      });
    }
    g = end;
  }
}

}  // namespace glutescope::exercise
