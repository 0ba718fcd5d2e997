// Onset baselines that represent rest (issue 14; docs/SCORING.md "Onset baseline"). One channel of one set:
//
//   active level = median onset signal over the reps' movement [m0, mh)
//   rest periods the segmenter knows, in this order:
//     1. the still periods between repetitions: [previous rep's end + rest_guard_ms, this rep's search
//     start),
//        pooled with the set's still period after its last rep: [last rep's end + rest_guard_ms, set end)
//        (offline: up to the set-stop marker; live: up to the newest sample)
//     2. the set's initial still period after the set-start marker (offline and live alike)
//     3. the quietest baseline_ms window of the set (least mean square), when neither is a rest
//   a stretch is a rest when the muscle relaxed in it: its median is at most half the active level (the
//   half-power point, 3 dB: the onset signal |TKEO| is a power-like quantity). Above that it is tonic.
//   set baseline = median and upper-half-MAD SD (dsp::upper_robust_baseline_in_place) of the first source
//                  that is a rest, over each rest's settled part (from the first sample at or below that
//                  rest's median: the previous contraction's decay left out)
//   per rep      = the rest just before the rep when it is at least local_baseline_min_ms long, else the set
//                  baseline; when the rest just before the rep is not relaxed, the muscle never returned to
//                  rest: the rep is "continuously active" (no onset time)
//   quality      = rest-to-active contrast (dB): 10 log10(active level / set baseline median). A crossing is
//                  "unreliable, baseline not quiet" when the active level does not clear the set threshold.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/rep_scores.hpp"

namespace glutescope::exercise {

// Where a set's onset baseline came from (stored with the results).
enum class BaselineSource : std::uint8_t {
  rests_between_reps = 0,
  initial_still_period = 1,
  quietest_window = 2,
};
// "rests_between_reps", "initial_still_period", "quietest_window".
std::string_view to_string(BaselineSource source) noexcept;

// The baseline one channel's onset search uses in one rep.
struct RepOnsetBaseline {
  dsp::Baseline stats;       // threshold = stats.mean + onset.k_sd * stats.sd (absolute sample indices)
  bool local = false;        // from the rest just before this rep
  bool rest_active = false;  // the rest before this rep is above half the active level (tonic)
  bool contrast_ok = true;   // the set's typical activity clears the threshold (else: not quiet)
  // Activity running when the search window opens is traced back to where it began, no earlier than this
  // sample (the start of the rest before the rep): beyond it the muscle never rested since the previous
  // rep ("already active"). SIZE_MAX: not traced back.
  std::size_t lookback_begin = static_cast<std::size_t>(-1);
};

// One channel's onset baseline over one set.
struct SetOnsetBaseline {
  BaselineSource source = BaselineSource::quietest_window;
  dsp::Baseline set;                   // the set baseline (absolute sample indices of its first rest period)
  dsp::Baseline floor;                 // the quietest baseline_ms window of the set
  double contrast_db = kNaN;           // rest-to-active contrast (dB); NaN when no movement samples
  std::vector<RepOnsetBaseline> reps;  // one per rep, set order
};

// Sample windows of one rep, absolute EMG sample indices (rep_scoring.hpp RepWindow: w0 search start, m0
// movement onset, mh hold end, m1 rep end).
struct RepSpan {
  std::size_t w0 = 0, m0 = 0, mh = 0, m1 = 0;
};

// The rest periods before each rep (absolute indices, half-open; empty when there is none): rep 0's is the
// initial still period [still_begin, still_end), rep k's is [m1 of rep k-1 + rest_guard_ms, w0 of rep k).
[[nodiscard]] std::vector<Interval> rests_before_reps(std::span<const RepSpan> reps, Interval initial_still,
                                                      double rate_hz, const OnsetSettings& settings);

// The set's still period after its last rep: [last rep's m1 + rest_guard_ms, set.end), empty without reps
// or when the set ends within the guard.
[[nodiscard]] Interval rest_after_reps(std::span<const RepSpan> reps, Interval set, double rate_hz,
                                       const OnsetSettings& settings);

// The onset baselines of one channel over a set [set.begin, set.end) of `onset` (index 0 = absolute sample
// `first_sample`). With onset.rest_baseline false, the behaviour before issue 14: the initial still period
// (mean and SD) or else the quietest window, one baseline for every rep, no state flags.
// Throws std::invalid_argument when the set is shorter than onset.baseline_ms.
[[nodiscard]] SetOnsetBaseline plan_onset_baseline(const StridedSignal& onset, std::size_t first_sample,
                                                   Interval set, Interval initial_still,
                                                   std::span<const RepSpan> reps, double rate_hz,
                                                   const OnsetSettings& settings);

}  // namespace glutescope::exercise
