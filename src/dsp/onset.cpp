#include "dsp/onset.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/zero_phase.hpp"

namespace glutescope::dsp {
namespace {

void check_rate(double rate_hz) {
  if (!std::isfinite(rate_hz) || rate_hz <= 0.0) {
    throw std::invalid_argument("rate_hz must be a finite positive sampling rate in Hz, got " +
                                std::to_string(rate_hz));
  }
}

// The single ms -> samples conversion used by every detector.
std::size_t duration_samples(const char* name, double ms, double rate_hz) {
  if (!std::isfinite(ms) || ms < 0.0) {
    throw std::invalid_argument(std::string(name) + " must be a finite duration >= 0 ms, got " +
                                std::to_string(ms));
  }
  return static_cast<std::size_t>(std::llround(ms * rate_hz / 1000.0));
}

void check_signal(std::span<const double> x) {
  if (x.empty()) throw std::invalid_argument("onset detection needs a non-empty signal");
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument("non-finite sample at index " + std::to_string(i) +
                                  ": onset detection needs finite input (split at invalid stretches)");
    }
  }
}

void check_k(double k_sd) {
  if (!std::isfinite(k_sd) || k_sd < 0.0) {
    throw std::invalid_argument("k_sd must be a finite multiplier >= 0, got " + std::to_string(k_sd));
  }
}

// Mean and population SD of x[begin, end); x is anything indexable (a span, or a strided column).
template <typename Signal>
Baseline stats(const Signal& x, std::size_t begin, std::size_t end) {
  long double sum = 0.0L;
  for (std::size_t i = begin; i < end; ++i) sum += x[i];
  const auto count = static_cast<long double>(end - begin);
  const long double mean = sum / count;
  long double squares = 0.0L;
  for (std::size_t i = begin; i < end; ++i) squares += (x[i] - mean) * (x[i] - mean);
  return Baseline{static_cast<double>(mean), static_cast<double>(std::sqrt(squares / count)), begin, end};
}

// Quietest window: least power, i.e. lowest mean square, via prefix sums (long double to limit
// cancellation). Not the lowest mean: on signed EMG (Bonato's input) that is the most negative excursion,
// often inside a burst (issue 14); on a non-negative envelope both pick quiet windows.
// The prefix sums P[k + 1] = P[k] + x[k]^2 are not stored: `head` walks to P[start + window] and `tail` to
// P[start], each adding the same terms in the same order as P itself, so each equals P at its index exactly
// (the result is the stored-prefix one, bit for bit) and no array of n long doubles is allocated.
template <typename Signal>
Baseline quietest_window(const Signal& signal, std::size_t n, double rate_hz, double search_window_ms) {
  const std::size_t window = window_samples(search_window_ms, rate_hz);
  if (window > n) {
    throw std::invalid_argument("search_window_ms = " + std::to_string(search_window_ms) +
                                " is longer than the signal (" + std::to_string(n) + " samples at " +
                                std::to_string(rate_hz) + " Hz)");
  }
  const auto square = [&](std::size_t i) { return static_cast<long double>(signal[i]) * signal[i]; };
  long double head = 0.0L;
  long double tail = 0.0L;
  for (std::size_t i = 0; i < window; ++i) head = head + square(i);
  std::size_t best = 0;
  long double best_sum = head - tail;
  for (std::size_t start = 1; start + window <= n; ++start) {
    head = head + square(start + window - 1);
    tail = tail + square(start - 1);
    const long double sum = head - tail;
    if (sum < best_sum) {
      best_sum = sum;
      best = start;
    }
  }
  return stats(signal, best, best + window);
}

struct StridedColumn {
  const double* data;
  std::size_t stride;
  double operator[](std::size_t i) const noexcept { return data[i * stride]; }
};

OnsetResult threshold_detector(std::span<const double> signal, double rate_hz, double k_sd,
                               double min_active_ms, double min_rest_ms,
                               const BaselineSettings& baseline_settings) {
  check_k(k_sd);
  const std::size_t min_active = duration_samples("min_active_ms", min_active_ms, rate_hz);
  const std::size_t min_rest = duration_samples("min_rest_ms", min_rest_ms, rate_hz);
  OnsetResult result;
  result.baseline = find_baseline(signal, rate_hz, baseline_settings);
  result.threshold = result.baseline.mean + k_sd * result.baseline.sd;
  std::vector<unsigned char> active(signal.size());
  for (std::size_t i = 0; i < signal.size(); ++i) active[i] = signal[i] > result.threshold ? 1 : 0;
  result.intervals = active_runs(active, min_active, min_rest);
  return result;
}

}  // namespace

namespace {

// Order-preserving key of a double: unsigned comparison of keys orders the doubles as operator< does, with
// -0.0 just below +0.0 (a refinement of operator<: the value at any rank compares equal either way).
std::uint64_t order_key(double d) noexcept {
  const auto bits = std::bit_cast<std::uint64_t>(d);
  const std::uint64_t flip = static_cast<std::uint64_t>(static_cast<std::int64_t>(bits) >> 63) |
                             0x8000000000000000ULL;  // negative: all bits; positive: the sign bit
  return bits ^ flip;
}

// Below this size std::nth_element does it all; the radix levels stop at a bucket of this size or less.
constexpr std::size_t kRadixSelectMin = 4096;
// 12 bits a level: the first holds the sign and the exponent (one bucket an octave), the next ones 12
// mantissa bits each; four histograms of 4096 32-bit counts (64 KiB).
constexpr int kRadixBits = 12;

// The values the selections below read, block by block (contiguous pieces of at most kValueBlock values, in
// the values' order) and one at a time (at(i), for a sample). Two kinds: a span, read in place, and the
// ranges of a strided column (StridedRanges), each block copied into a small buffer on the stack. Both visit
// the values in the order of their concatenation, so a selection over the ranges does exactly what it does
// over a gathered copy of them.
constexpr std::size_t kValueBlock = 1024;

struct SpanValues {
  std::span<const double> v;
  [[nodiscard]] std::size_t size() const noexcept { return v.size(); }
  [[nodiscard]] double at(std::size_t i) const noexcept { return v[i]; }
  // f(block) for each block until it returns false.
  template <typename F>
  void blocks(F&& f) const {
    for (std::size_t start = 0; start < v.size(); start += kValueBlock) {
      if (!f(v.subspan(start, std::min(kValueBlock, v.size() - start)))) return;
    }
  }
};

class RangeValues {
 public:
  explicit RangeValues(const StridedRanges& r) : r_(r) {
    offset_.reserve(r.ranges.size() + 1);
    offset_.push_back(0);
    for (const IndexRange& range : r.ranges)
      offset_.push_back(offset_.back() + (range.end > range.begin ? range.end - range.begin : 0));
  }
  [[nodiscard]] std::size_t size() const noexcept { return offset_.back(); }
  [[nodiscard]] double at(std::size_t i) const noexcept {
    const auto part =
        static_cast<std::size_t>(std::upper_bound(offset_.begin(), offset_.end(), i) - offset_.begin()) - 1;
    return r_.data[(r_.ranges[part].begin + (i - offset_[part])) * r_.stride];
  }
  template <typename F>
  void blocks(F&& f) const {
    std::array<double, kValueBlock> block{};  // 8 KiB, cleared once a pass
    for (std::size_t part = 0; part < r_.ranges.size(); ++part) {
      const std::size_t length = offset_[part + 1] - offset_[part];
      const double* in = r_.data + r_.ranges[part].begin * r_.stride;
      for (std::size_t start = 0; start < length; start += kValueBlock) {
        const std::size_t count = std::min(kValueBlock, length - start);
        for (std::size_t n = 0; n < count; ++n) block[n] = in[(start + n) * r_.stride];
        if (!f(std::span<const double>(block.data(), count))) return;
      }
    }
  }

 private:
  const StridedRanges& r_;
  std::vector<std::size_t> offset_;  // offset_[k]: values before range k
};

// Calls f(d) for every value, in order.
template <typename Values, typename F>
void each_value(const Values& v, F&& f) {
  v.blocks([&](std::span<const double> b) {
    for (const double d : b) f(d);
    return true;
  });
}

// The value of rank `m` (0-based: what std::nth_element puts at v[m]) and, when `want_lower` (m >= 1), the
// value of rank m - 1 (the largest of v[0, m) after std::nth_element). Radix select on order_key without
// moving anything: each level histograms the next 12 key bits of the values whose higher bits equal the
// prefix found so far (a full pass over v, branch-free) and extends the prefix by the bucket that holds the
// rank; once that bucket is small (at most an eighth of v), its values are copied out and std::nth_element
// finishes on them. When every key bit is fixed the bucket's values are all the same double. Rank m - 1, when
// it lies below the final bucket, is the largest value whose key is below the bucket's.
template <typename Values>
std::pair<double, double> select_rank(const Values& v, std::size_t m, bool want_lower) {
  std::size_t rank = m;
  std::uint64_t prefix = 0;  // key bits above `shift`
  int shift = 64;
  std::size_t count = v.size();
  thread_local std::array<std::array<std::uint32_t, std::size_t{1} << kRadixBits>, 4> hist{};
  // A histogram pass costs about one nth_element step per value of v: stop once the bucket is small enough
  // that nth_element on it costs less than another pass.
  const std::size_t small_enough = std::max(kRadixSelectMin, v.size() / 8);
  while (count > small_enough && shift > 0) {
    const int bits = std::min(kRadixBits, shift);
    const int above = shift;  // the prefix's bits start here
    shift -= bits;
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    // Four histograms, one per element of a group of four: consecutive values mostly land in the same
    // bucket, and one table would chain every increment on the previous one's store.
    for (auto& h : hist) h.fill(0);
    const auto digit = [&](double d) { return (order_key(d) >> shift) & mask; };
    const auto match = [&](double d) -> std::size_t {
      return above == 64 || (order_key(d) >> above) == prefix ? 1 : 0;
    };
    v.blocks([&](std::span<const double> b) {
      std::size_t i = 0;
      if (above == 64) {
        for (; i + 4 <= b.size(); i += 4) {
          for (std::size_t k = 0; k < 4; ++k) ++hist[k][digit(b[i + k])];
        }
      } else {
        for (; i + 4 <= b.size(); i += 4) {
          for (std::size_t k = 0; k < 4; ++k) hist[k][digit(b[i + k])] += match(b[i + k]);
        }
      }
      for (; i < b.size(); ++i) hist[0][digit(b[i])] += match(b[i]);
      return true;
    });
    for (std::size_t b = 0; b < hist[0].size(); ++b) hist[0][b] += hist[1][b] + hist[2][b] + hist[3][b];
    std::size_t bucket = 0, before = 0;
    while (before + hist[0][bucket] <= rank) before += hist[0][bucket++];
    rank -= before;
    count = hist[0][bucket];
    prefix = (prefix << bits) | bucket;
  }
  // The bucket: keys whose bits above `shift` equal `prefix` (every key when shift is 64).
  const auto in_bucket = [&](std::uint64_t key) { return shift == 64 || (key >> shift) == prefix; };
  const std::uint64_t bucket_low = shift == 64 ? 0 : prefix << shift;  // smallest key in the bucket
  double below_max = -std::numeric_limits<double>::infinity();
  if (want_lower && rank == 0) {
    const std::uint64_t minus_infinity = std::bit_cast<std::uint64_t>(below_max);
    each_value(v, [&](double d) {
      const std::uint64_t key = order_key(d);
      const std::uint64_t keep = key < bucket_low ? ~std::uint64_t{0} : 0;
      const double c =
          std::bit_cast<double>((std::bit_cast<std::uint64_t>(d) & keep) | (minus_infinity & ~keep));
      below_max = std::max(below_max, c);
    });
  }
  if (shift == 0) {  // every key bit fixed: the bucket holds copies of one double
    double value = 0.0;
    v.blocks([&](std::span<const double> b) {
      for (const double d : b) {
        if (order_key(d) == prefix) {
          value = d;
          return false;
        }
      }
      return true;
    });
    return {value, want_lower && rank == 0 ? below_max : value};
  }
  std::vector<double> w(count + 1);  // branch-free copy: every value is written, the bucket's are kept
  std::size_t kept = 0;
  each_value(v, [&](double d) {
    w[kept] = d;
    kept += in_bucket(order_key(d)) ? 1 : 0;
  });
  w.resize(count);
  std::nth_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(rank), w.end());
  const double value = w[rank];
  if (!want_lower) return {value, value};
  // Every value below the bucket is smaller than every value in it.
  if (rank > 0) return {value, *std::max_element(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(rank))};
  return {value, below_max};
}

// The same as select_rank, in one pass over v when a sample brackets the rank (Floyd & Rivest 1975, Commun
// ACM 18:173): two values of an evenly spaced sample of v, a few standard errors below and above the sample
// rank that corresponds to m, are very likely to bracket rank m of v; one branch-free pass counts the values
// below the lower one, copies those between the two (and, only when rank m - 1 lies below the lower one, a
// second pass finds the largest value below it); nth_element finishes on the copy. Exact whatever the sample:
// the counts prove that the copy holds rank m (and m - 1, or it is the largest value below). nullopt (the
// caller falls back to select_rank) when they do not, or when the copy would outgrow its bound (many
// duplicates).
template <typename Values>
std::optional<std::pair<double, double>> select_rank_sampled(const Values& v, std::size_t m,
                                                             bool want_lower) {
  const std::size_t n = v.size();
  if (n == 0) return std::nullopt;
  const std::size_t s = std::clamp<std::size_t>(n / 64, 1024, 65536);
  thread_local std::vector<double> sample, w;
  sample.resize(s);
  for (std::size_t i = 0; i < s; ++i) sample[i] = v.at(i * n / s);
  // The sample rank of v's rank m has a standard error of at most sqrt(s) / 2: go 4 of them each way.
  const auto spread = static_cast<std::size_t>(2.0 * std::sqrt(static_cast<double>(s))) + 8;
  const std::size_t centre = m * s / n;
  const std::size_t lo_rank = centre > spread ? centre - spread : 0;
  const std::size_t hi_rank = std::min(s - 1, centre + spread);
  std::nth_element(sample.begin(), sample.begin() + static_cast<std::ptrdiff_t>(lo_rank), sample.end());
  const double lo = sample[lo_rank];
  std::nth_element(sample.begin() + static_cast<std::ptrdiff_t>(lo_rank),
                   sample.begin() + static_cast<std::ptrdiff_t>(hi_rank), sample.end());
  const double hi = sample[hi_rank];
  const std::size_t bound = 2 * (hi_rank - lo_rank + 1) * (n / s + 1);  // twice the expected copy
  w.resize(bound + kValueBlock);
  std::size_t below = 0, kept = 0;
  bool overflow = false;
  v.blocks([&](std::span<const double> b) {
    if (kept > bound) {
      overflow = true;
      return false;
    }
    for (const double x : b) {
      below += static_cast<std::size_t>(x < lo);
      w[kept] = x;
      // & not &&: no branch (half the values lie below the bracket, unpredictably)
      kept += static_cast<std::size_t>(x >= lo) & static_cast<std::size_t>(x <= hi);
    }
    return true;
  });
  if (overflow) return std::nullopt;
  if (!(below <= m && m < below + kept)) return std::nullopt;
  const std::size_t rank = m - below;
  const auto at = w.begin() + static_cast<std::ptrdiff_t>(rank);
  std::nth_element(w.begin(), at, w.begin() + static_cast<std::ptrdiff_t>(kept));
  const double value = *at;
  if (!want_lower) return std::pair{value, value};
  if (rank > 0) return std::pair{value, *std::max_element(w.begin(), at)};
  double below_max = -std::numeric_limits<double>::infinity();  // rank m - 1: the largest value below lo
  each_value(v, [&](double x) {
    if (x < lo) below_max = std::max(below_max, x);
  });
  return std::pair{value, below_max};
}

// Rank m (and m - 1 when want_lower) of v, for more than kRadixSelectMin values: the sampled selection, else
// the radix select.
template <typename Values>
std::pair<double, double> select_large(const Values& v, std::size_t m, bool want_lower) {
  auto selected = select_rank_sampled(v, m, want_lower);
  if (!selected) selected = select_rank(v, m, want_lower);
  return *selected;
}

}  // namespace

double median_in_place(std::span<double> v) {
  if (v.empty()) throw std::invalid_argument("median of an empty range");
  const std::size_t m = v.size() / 2;
  const bool even = v.size() % 2 == 0;
  if (v.size() > kRadixSelectMin && v.size() <= std::numeric_limits<std::uint32_t>::max()) {
    const auto [upper, lower] = select_large(SpanValues{v}, m, even);
    return even ? 0.5 * (lower + upper) : upper;
  }
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double upper = v[m];
  if (!even) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
  return 0.5 * (lower + upper);
}

Baseline find_baseline(std::span<const double> signal, double rate_hz, const BaselineSettings& settings) {
  check_rate(rate_hz);
  const std::size_t n = signal.size();
  if (settings.rest_end_index > settings.rest_begin_index) {
    if (settings.rest_end_index > n) {
      throw std::invalid_argument("rest period [" + std::to_string(settings.rest_begin_index) + ", " +
                                  std::to_string(settings.rest_end_index) + ") lies outside the signal of " +
                                  std::to_string(n) + " samples");
    }
    return stats(signal, settings.rest_begin_index, settings.rest_end_index);
  }
  return quietest_window(signal, n, rate_hz, settings.search_window_ms);
}

Baseline find_quietest_baseline(const double* data, std::size_t stride, std::size_t n, double rate_hz,
                                double search_window_ms) {
  check_rate(rate_hz);
  return quietest_window(StridedColumn{data, stride}, n, rate_hz, search_window_ms);
}

Baseline robust_baseline(std::span<const double> signal, std::size_t begin, std::size_t end) {
  if (end <= begin || end > signal.size()) {
    throw std::invalid_argument("robust_baseline: range [" + std::to_string(begin) + ", " +
                                std::to_string(end) + ") is empty or outside the signal of " +
                                std::to_string(signal.size()) + " samples");
  }
  std::vector<double> v(signal.begin() + static_cast<std::ptrdiff_t>(begin),
                        signal.begin() + static_cast<std::ptrdiff_t>(end));
  Baseline b = robust_baseline_in_place(v);
  b.begin_index = begin;
  b.end_index = end;
  return b;
}

Baseline robust_baseline_in_place(std::span<double> values) {
  if (values.empty()) throw std::invalid_argument("robust_baseline: no values");
  const double median = median_in_place(values);
  for (double& x : values) x = std::abs(x - median);
  return Baseline{median, kMadToSd * median_in_place(values), 0, values.size()};
}

Baseline upper_robust_baseline_in_place(std::span<double> values) {
  if (values.empty()) throw std::invalid_argument("robust_baseline: no values");
  const double median = median_in_place(values);
  std::size_t above = 0;
  for (const double x : values) {
    if (x > median) values[above++] = x - median;
  }
  const double spread = above == 0 ? 0.0 : kMadToSd * median_in_place(values.first(above));
  return Baseline{median, spread, 0, values.size()};
}

namespace {

std::vector<double> gathered(const RangeValues& v) {
  std::vector<double> out;
  out.reserve(v.size());
  each_value(v, [&](double d) { out.push_back(d); });
  return out;
}

}  // namespace

double median_of(const StridedRanges& values) {
  const RangeValues v(values);
  const std::size_t n = v.size();
  if (n <= kRadixSelectMin || n > std::numeric_limits<std::uint32_t>::max()) {
    std::vector<double> copy = gathered(v);
    return median_in_place(copy);
  }
  const std::size_t m = n / 2;
  const bool even = n % 2 == 0;
  const auto [upper, lower] = select_large(v, m, even);
  return even ? 0.5 * (lower + upper) : upper;
}

Baseline upper_robust_baseline_of(const StridedRanges& values) {
  const RangeValues v(values);
  const std::size_t n = v.size();
  if (n <= kRadixSelectMin || n > std::numeric_limits<std::uint32_t>::max()) {
    std::vector<double> copy = gathered(v);
    return upper_robust_baseline_in_place(copy);
  }
  const double median = median_of(values);
  std::size_t above = 0;
  each_value(v, [&](double x) { above += static_cast<std::size_t>(x > median); });
  double spread = 0.0;
  if (above > 0) {
    // upper_robust_baseline_in_place: the median of the deviations x - median of the values above it. Their
    // rank k is rank (n - above + k) of the values, minus the median (the deviations are positive: no signed
    // zero to tell apart).
    const std::size_t m = above / 2;
    const bool even = above % 2 == 0;
    const auto [upper, lower] = select_large(v, n - above + m, even);
    const double mad = even ? 0.5 * ((lower - median) + (upper - median)) : upper - median;
    spread = kMadToSd * mad;
  }
  return Baseline{median, spread, 0, n};
}

std::vector<ActivityInterval> active_runs(std::span<const unsigned char> active,
                                          std::size_t min_active_samples, std::size_t min_rest_samples) {
  std::vector<ActivityInterval> runs;
  std::size_t i = 0;
  const std::size_t n = active.size();
  while (i < n) {
    if (active[i] == 0) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < n && active[end] != 0) ++end;
    if (!runs.empty() && i - runs.back().offset_index < min_rest_samples) {
      runs.back().offset_index = end;  // bridge a too-short rest gap
    } else {
      runs.push_back({i, end});
    }
    i = end;
  }
  std::erase_if(
      runs, [&](const ActivityInterval& r) { return r.offset_index - r.onset_index < min_active_samples; });
  return runs;
}

OnsetResult detect_hodges_bui(std::span<const double> envelope, double rate_hz,
                              const HodgesBuiSettings& settings) {
  check_rate(rate_hz);
  check_signal(envelope);
  return threshold_detector(envelope, rate_hz, settings.k_sd, settings.min_active_ms, settings.min_rest_ms,
                            settings.baseline);
}

OnsetResult detect_solnik(std::span<const double> emg, double rate_hz, const SolnikSettings& settings) {
  check_rate(rate_hz);
  check_signal(emg);
  std::vector<double> conditioned = tkeo(emg);
  for (double& v : conditioned) v = std::abs(v);
  if (settings.smoothing_cutoff_hz != 0.0) {
    conditioned = sosfiltfilt(butterworth_lowpass(2, settings.smoothing_cutoff_hz, rate_hz), conditioned);
  }
  // Baseline and threshold from the TKEO-conditioned signal itself (not from the raw EMG).
  return threshold_detector(conditioned, rate_hz, settings.k_sd, settings.min_active_ms, settings.min_rest_ms,
                            settings.baseline);
}

OnsetResult detect_bonato(std::span<const double> emg, double rate_hz, const BonatoSettings& settings) {
  check_rate(rate_hz);
  check_signal(emg);
  const double p = settings.first_threshold_false_alarm;
  if (!(p > 0.0 && p < 1.0)) {
    throw std::invalid_argument("first_threshold_false_alarm must be in (0, 1), got " + std::to_string(p));
  }
  if (settings.window_pairs < 1 || settings.window_pairs > 1000) {
    throw std::invalid_argument("window_pairs (m) must be in 1..1000, got " +
                                std::to_string(settings.window_pairs));
  }
  if (settings.min_pairs_above < 1 || settings.min_pairs_above > settings.window_pairs) {
    throw std::invalid_argument("min_pairs_above (r0) must be in 1..window_pairs (" +
                                std::to_string(settings.window_pairs) + "), got " +
                                std::to_string(settings.min_pairs_above));
  }
  const std::size_t min_active = duration_samples("min_active_ms", settings.min_active_ms, rate_hz);
  const std::size_t min_rest = duration_samples("min_rest_ms", settings.min_rest_ms, rate_hz);

  OnsetResult result;
  result.baseline = find_baseline(emg, rate_hz, settings.baseline);
  if (!(result.baseline.sd > 0.0)) {
    throw std::invalid_argument("the baseline has zero variance: Bonato's test needs rest noise");
  }
  const double zeta = -2.0 * std::log(p);  // chi-square(2) tail: P(g >= zeta) = exp(-zeta / 2)
  result.threshold = zeta;
  const double mu = result.baseline.mean;
  const double variance = result.baseline.sd * result.baseline.sd;

  const std::size_t pairs = emg.size() / 2;
  std::vector<unsigned char> above(pairs);
  for (std::size_t j = 0; j < pairs; ++j) {
    const double a = emg[2 * j] - mu;
    const double b = emg[2 * j + 1] - mu;
    above[j] = (a * a + b * b) / variance >= zeta ? 1 : 0;
  }
  const auto m = static_cast<std::size_t>(settings.window_pairs);
  const auto r0 = static_cast<std::size_t>(settings.min_pairs_above);
  std::vector<unsigned char> active(emg.size(), 0);
  std::size_t count = 0;
  for (std::size_t j = 0; j < pairs; ++j) {
    count += above[j];
    if (j >= m) count -= above[j - m];
    if (j + 1 < m || count < r0) continue;
    // Window [j-m+1, j] is active: mark from its first to its last above pair.
    std::size_t first = j + 1 - m;
    while (above[first] == 0) ++first;
    std::size_t last = j;
    while (above[last] == 0) --last;
    for (std::size_t k = 2 * first; k < 2 * last + 2; ++k) active[k] = 1;
  }
  result.intervals = active_runs(active, min_active, min_rest);
  return result;
}

}  // namespace glutescope::dsp
