#include "dsp/onset.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

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

Baseline stats(std::span<const double> x, std::size_t begin, std::size_t end) {
  long double sum = 0.0L;
  for (std::size_t i = begin; i < end; ++i) sum += x[i];
  const auto count = static_cast<long double>(end - begin);
  const long double mean = sum / count;
  long double squares = 0.0L;
  for (std::size_t i = begin; i < end; ++i) squares += (x[i] - mean) * (x[i] - mean);
  return Baseline{static_cast<double>(mean), static_cast<double>(std::sqrt(squares / count)), begin, end};
}

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

double median_in_place(std::span<double> v) {
  if (v.empty()) throw std::invalid_argument("median of an empty range");
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double upper = v[m];
  if (v.size() % 2 == 1) return upper;
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
  const std::size_t window = window_samples(settings.search_window_ms, rate_hz);
  if (window > n) {
    throw std::invalid_argument("search_window_ms = " + std::to_string(settings.search_window_ms) +
                                " is longer than the signal (" + std::to_string(n) + " samples at " +
                                std::to_string(rate_hz) + " Hz)");
  }
  // Quietest window: least power, i.e. lowest mean square, via prefix sums (long double to limit
  // cancellation). Not the lowest mean: on signed EMG (Bonato's input) that is the most negative excursion,
  // often inside a burst (issue 14); on a non-negative envelope both pick quiet windows.
  // The prefix sums P[k + 1] = P[k] + x[k]^2 are not stored: `head` walks to P[start + window] and `tail` to
  // P[start], each adding the same terms in the same order as P itself, so each equals P at its index exactly
  // (the result is the stored-prefix one, bit for bit) and no array of n long doubles is allocated.
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
