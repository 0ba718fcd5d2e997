#include "exercise/onset_baseline.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>

namespace glutescope::exercise {
namespace {

// Shortest stretch that counts as a rest period at all (the still-period minimum the set baseline used
// before issue 14): 50 ms holds 2.5 periods of the onset signal's 50 Hz smoothing.
constexpr double kMinRestPeriodMs = 50.0;

std::size_t samples_of(double ms, double rate_hz) {
  return static_cast<std::size_t>(std::llround(ms * rate_hz / 1000.0));
}

// The values of `parts` (absolute indices) of x, concatenated, in this thread's scratch buffer: valid until
// the next gather on the thread (every caller here is done with it before it gathers again). It serves one
// rest, the quietest window and the non-robust pooled statistics (the robust ones and the active level read
// the buffer in place: dsp::StridedRanges); a fresh vector each time made the kernel map and clear those
// pages anew for every channel and rest, where the scratch keeps its capacity. It only
// grows, to exactly what the call needs, the old block freed first and the new one not zeroed (a
// std::vector's resize doubled the capacity, kept both blocks during the copy of contents no caller reads
// again, and cleared the rest: 83 MB for a 42-MB gather), then filled by an index loop over each part.
std::span<double> gather(const StridedSignal& x, std::size_t first, std::span<const Interval> parts) {
  thread_local std::unique_ptr<double[]> scratch;
  thread_local std::size_t capacity = 0;
  std::size_t total = 0;
  for (const Interval& p : parts) total += p.end > p.begin ? p.end - p.begin : 0;
  if (total == 0) return {};
  if (capacity < total) {
    scratch.reset();
    capacity = 0;
    scratch.reset(new double[total]);  // every element is written below before it is read
    capacity = total;
  }
  double* const start = scratch.get();
  double* out = start;
  const std::size_t stride = x.stride;
  for (const Interval& p : parts) {
    if (p.end <= p.begin) continue;
    const double* in = x.data + (p.begin - first) * stride;
    const std::size_t count = p.end - p.begin;
    if (stride == 1) {
      std::copy_n(in, count, out);
    } else {
      for (std::size_t n = 0; n < count; ++n) out[n] = in[n * stride];
    }
    out += count;
  }
  return {start, total};
}

// Baseline statistics of values (median and upper-half MAD, or mean and SD: onset.robust_baseline; reorders
// them), over the sample span `where`.
dsp::Baseline stats_of(std::span<double> v, bool robust, double rate_hz, Interval where) {
  dsp::Baseline b = robust
                        ? dsp::upper_robust_baseline_in_place(v)
                        : dsp::find_baseline(v, rate_hz, {.rest_begin_index = 0, .rest_end_index = v.size()});
  b.begin_index = where.begin;
  b.end_index = where.end;
  return b;
}

// The parts (absolute indices) of x as dsp's strided ranges; `ranges` holds them.
dsp::StridedRanges ranges_of(const StridedSignal& x, std::size_t first, std::span<const Interval> parts,
                             std::vector<dsp::IndexRange>& ranges) {
  ranges.clear();
  for (const Interval& p : parts) {
    if (p.end > p.begin) ranges.push_back({p.begin - first, p.end - first});
  }
  return {x.data, x.stride, ranges};
}

// Baseline statistics of the pooled parts. The robust ones are selected where the values lie (no copy: the
// pooled rests of an hour's set are 5 M values); the mean and SD are summed over a gathered copy, in order.
dsp::Baseline pooled_stats(const StridedSignal& x, std::size_t first, std::span<const Interval> parts,
                           bool robust, double rate_hz) {
  const Interval where{parts.front().begin, parts.back().end};
  if (!robust) return stats_of(gather(x, first, parts), robust, rate_hz, where);
  std::vector<dsp::IndexRange> ranges;
  dsp::Baseline b = dsp::upper_robust_baseline_of(ranges_of(x, first, parts, ranges));
  b.begin_index = where.begin;
  b.end_index = where.end;
  return b;
}

double threshold_of(const dsp::Baseline& b, const OnsetSettings& s) { return b.mean + s.k_sd * b.sd; }

// The half-power point: a rest whose median onset signal (|TKEO|, a power-like quantity) is above half the
// set's median active level is within 3 dB of the activity: the muscle did not relax (tonic), so the stretch
// is no rest. Without movement samples (active level NaN) every rest counts as relaxed.
constexpr double kRelaxedPowerRatio = 0.5;
bool relaxed(const dsp::Baseline& rest, double active_level) {
  return !(rest.mean > kRelaxedPowerRatio * active_level);
}

// The quietest baseline_ms window of the set (dsp's automatic search: least mean square), searched in place
// on the strided signal (no copy of the set); only the window is gathered for its median and upper-half MAD.
dsp::Baseline floor_of(const StridedSignal& x, std::size_t first, Interval set, double rate_hz,
                       const OnsetSettings& s) {
  const dsp::Baseline w = dsp::find_quietest_baseline(x.data + (set.begin - first) * x.stride, x.stride,
                                                      set.end - set.begin, rate_hz, s.baseline_ms);
  if (!s.robust_baseline) return {w.mean, w.sd, set.begin + w.begin_index, set.begin + w.end_index};
  const Interval window[] = {{set.begin + w.begin_index, set.begin + w.end_index}};
  dsp::Baseline b = dsp::upper_robust_baseline_in_place(gather(x, first, window));
  b.begin_index = window[0].begin;
  b.end_index = window[0].end;
  return b;
}

// The set's median onset signal over its reps' movement [m0, mh) (NaN without movement samples).
double active_level(const StridedSignal& x, std::size_t first, std::span<const RepSpan> reps) {
  std::vector<Interval> moving;
  for (const RepSpan& r : reps) {
    if (r.mh > r.m0) moving.push_back({r.m0, r.mh});
  }
  std::vector<dsp::IndexRange> ranges;
  const dsp::StridedRanges values = ranges_of(x, first, moving, ranges);
  return ranges.empty() ? kNaN : dsp::median_of(values);
}

// Rest-to-active contrast (dB): 10 log10 of the active level over the rest's median (power ratio).
double contrast_db(double active, const dsp::Baseline& rest) {
  return active > 0.0 && rest.mean > 0.0 ? 10.0 * std::log10(active / rest.mean) : kNaN;
}

bool long_enough(const Interval& rest, double rate_hz) {
  return rest.end >= rest.begin + std::max<std::size_t>(1, samples_of(kMinRestPeriodMs, rate_hz));
}

// The part of a rest from where the muscle has settled: the first sample at or below the rest's median.
// The segmenter's rest starts rest_guard_ms after the angle's end of the previous rep, but the EMG's return
// to rest lags the movement by a varying time; the decay before the first sample at the rest's typical level
// is still the previous contraction, not rest (issue 14). Empty rests stay empty.
Interval settled(const StridedSignal& x, std::size_t first, Interval rest) {
  if (rest.end <= rest.begin) return rest;
  const Interval whole[] = {rest};
  const double median = dsp::median_in_place(gather(x, first, whole));
  std::size_t n = rest.begin;
  while (n < rest.end && x[n - first] > median) ++n;
  return {n, rest.end};
}

// Each rest's own statistics (nullopt for one shorter than kMinRestPeriodMs) and, when the between-rep rests
// (all but the first) that are long enough, with the set's still period after its last rep (`final_rest`,
// rest_after_reps: one of the rests the segmenter knows), pool at least baseline_ms, their pooled
// statistics. Whether a rest counts is decided on its length as the segmenter gives it; its statistics come
// from its settled part (settled(): the previous contraction's decay left out). Each rest is gathered alone
// for its own statistics (tens of thousands of values); the pooled statistics read the settled parts where
// they lie in the [samples x lanes] onset buffer (pooled_stats).
struct RestStats {
  std::vector<std::optional<dsp::Baseline>> local;  // per rest
  std::optional<dsp::Baseline> pooled;              // the between-rep rests
};
RestStats rest_stats(const StridedSignal& x, std::size_t first, std::span<const Interval> rests,
                     Interval final_rest, double rate_hz, const OnsetSettings& s) {
  RestStats out;
  out.local.resize(rests.size());
  std::vector<Interval> calm(rests.size());
  for (std::size_t k = 0; k < rests.size(); ++k) {
    if (long_enough(rests[k], rate_hz)) calm[k] = settled(x, first, rests[k]);
  }
  if (!rests.empty() && long_enough(rests[0], rate_hz)) {
    const Interval still[] = {calm[0]};
    out.local[0] = pooled_stats(x, first, still, s.robust_baseline, rate_hz);
  }
  std::vector<Interval> between;
  std::size_t pooled = 0;
  for (std::size_t k = 1; k < rests.size(); ++k) {
    if (long_enough(rests[k], rate_hz)) {
      between.push_back(calm[k]);
      pooled += rests[k].end - rests[k].begin;
    }
  }
  if (long_enough(final_rest, rate_hz)) {  // last in the gather: no rep's local baseline comes from it
    between.push_back(settled(x, first, final_rest));
    pooled += final_rest.end - final_rest.begin;
  }
  if (pooled < samples_of(s.baseline_ms, rate_hz)) {
    for (std::size_t k = 1; k < rests.size(); ++k) {
      if (long_enough(rests[k], rate_hz)) {
        const Interval one[] = {calm[k]};
        out.local[k] = pooled_stats(x, first, one, s.robust_baseline, rate_hz);
      }
    }
    return out;
  }
  for (std::size_t k = 1; k < rests.size(); ++k) {
    if (!long_enough(rests[k], rate_hz)) continue;
    const Interval one[] = {calm[k]};
    out.local[k] = stats_of(gather(x, first, one), s.robust_baseline, rate_hz, calm[k]);
  }
  out.pooled = pooled_stats(x, first, between, s.robust_baseline, rate_hz);
  return out;
}

// The set baseline from the first quiet source (header: between-rep rests, initial still period, floor).
void choose_set_baseline(const RestStats& rest, double active, SetOnsetBaseline& out) {
  if (rest.pooled && relaxed(*rest.pooled, active)) {
    out.source = BaselineSource::rests_between_reps;
    out.set = *rest.pooled;
    return;
  }
  if (!rest.local.empty() && rest.local[0] && relaxed(*rest.local[0], active)) {
    out.source = BaselineSource::initial_still_period;
    out.set = *rest.local[0];
    return;
  }
  out.source = BaselineSource::quietest_window;
  out.set = out.floor;
}

}  // namespace

std::string_view to_string(BaselineSource source) noexcept {
  switch (source) {
    case BaselineSource::rests_between_reps:
      return "rests_between_reps";
    case BaselineSource::initial_still_period:
      return "initial_still_period";
    case BaselineSource::quietest_window:
      return "quietest_window";
  }
  return "unknown";
}

std::vector<Interval> rests_before_reps(std::span<const RepSpan> reps, Interval initial_still, double rate_hz,
                                        const OnsetSettings& settings) {
  std::vector<Interval> rests;
  const std::size_t guard = samples_of(settings.rest_guard_ms, rate_hz);
  for (std::size_t k = 0; k < reps.size(); ++k) {
    Interval r = k == 0 ? initial_still : Interval{reps[k - 1].m1 + guard, reps[k].w0};
    r.end = std::min(r.end, reps[k].w0);
    if (r.end < r.begin) r.end = r.begin;
    rests.push_back(r);
  }
  return rests;
}

Interval rest_after_reps(std::span<const RepSpan> reps, Interval set, double rate_hz,
                         const OnsetSettings& settings) {
  if (reps.empty()) return {set.end, set.end};
  const std::size_t begin = std::min(set.end, reps.back().m1 + samples_of(settings.rest_guard_ms, rate_hz));
  return {begin, set.end};
}

SetOnsetBaseline plan_onset_baseline(const StridedSignal& onset, std::size_t first_sample, Interval set,
                                     Interval initial_still, std::span<const RepSpan> reps, double rate_hz,
                                     const OnsetSettings& s) {
  if (set.begin < first_sample || set.end > first_sample + onset.size || set.end <= set.begin) {
    throw std::invalid_argument(fmt::format("onset baseline: set [{}, {}) outside the signal [{}, {})",
                                            set.begin, set.end, first_sample, first_sample + onset.size));
  }
  SetOnsetBaseline out;
  out.floor = floor_of(onset, first_sample, set, rate_hz, s);
  const std::vector<Interval> rests = rests_before_reps(reps, initial_still, rate_hz, s);
  if (!s.rest_baseline) {
    // Before issue 14: the initial still period, else the quietest window; mean and SD.
    out.source = BaselineSource::quietest_window;
    out.set = out.floor;
    if (long_enough(initial_still, rate_hz)) {
      const Interval still[] = {initial_still};
      out.source = BaselineSource::initial_still_period;
      out.set = pooled_stats(onset, first_sample, still, s.robust_baseline, rate_hz);
    }
    for (const Interval& rest : rests) {
      RepOnsetBaseline r{out.set};
      r.lookback_begin = rest.begin;
      out.reps.push_back(r);
    }
    out.contrast_db = contrast_db(active_level(onset, first_sample, reps), out.set);
    return out;
  }
  const double active = active_level(onset, first_sample, reps);
  const RestStats rest_baselines =
      rest_stats(onset, first_sample, rests, rest_after_reps(reps, set, rate_hz, s), rate_hz, s);
  choose_set_baseline(rest_baselines, active, out);
  out.contrast_db = contrast_db(active, out.set);
  // A crossing means an onset only when the set's typical activity clears the threshold.
  const bool contrast_ok = active > threshold_of(out.set, s);
  const std::size_t local_min = samples_of(s.local_baseline_min_ms, rate_hz);
  for (std::size_t k = 0; k < rests.size(); ++k) {
    const Interval& rest = rests[k];
    RepOnsetBaseline r{out.set};
    r.contrast_ok = contrast_ok;
    r.lookback_begin = rest.begin;
    if (rest_baselines.local[k]) {
      const dsp::Baseline& local = *rest_baselines.local[k];
      r.rest_active = !relaxed(local, active);
      if (!r.rest_active && rest.end - rest.begin >= local_min) {
        r.stats = local;
        r.local = true;
      }
    }
    out.reps.push_back(r);
  }
  return out;
}

}  // namespace glutescope::exercise
