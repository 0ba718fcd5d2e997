// EMG onset/offset detectors (offline, whole vectors). Each takes a processed signal, its rate and a
// settings struct, and returns activity intervals plus the baseline it used. Durations are given in
// ms in the settings and converted to samples once (round(ms * rate / 1000)).
//
// Deliberate differences from BioSPPy's ports (research notes emg-and-scoring.md §1.2): baseline
// statistics are computed on the same processed signal the threshold is applied to (TKEO-domain for
// Solnik, not raw volts); onsets and offsets are returned as paired half-open intervals, never as one
// mixed list of crossings; durations are ms, not samples mislabelled as seconds.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace glutescope::dsp {

// Half-open activity interval [onset_index, offset_index): onset_index is the first active sample,
// offset_index the first sample back at rest (== signal length if still active at the end).
struct ActivityInterval {
  std::size_t onset_index = 0;
  std::size_t offset_index = 0;
  friend bool operator==(const ActivityInterval&, const ActivityInterval&) = default;
};

// Where the baseline (rest) statistics come from.
struct BaselineSettings {
  // If rest_end_index > rest_begin_index, the marked rest period [rest_begin_index, rest_end_index)
  // (sample indices, e.g. from an operator marker) is used. Otherwise the quietest window of
  // search_window_ms (lowest mean square of the signal, i.e. least power, earliest on ties) is found
  // automatically. Mean square, not mean: on signed EMG the lowest mean is the most negative excursion.
  std::size_t rest_begin_index = 0;
  std::size_t rest_end_index = 0;
  double search_window_ms = 500.0;  // glutescope default: half a second of rest between repetitions
};

struct Baseline {
  double mean = 0.0;  // of the processed signal over [begin_index, end_index)
  double sd = 0.0;    // population SD (ddof = 0)
  std::size_t begin_index = 0;
  std::size_t end_index = 0;
};

struct OnsetResult {
  std::vector<ActivityInterval> intervals;
  Baseline baseline;
  double threshold = 0.0;  // in the units of the thresholded signal
};

// Baseline statistics of `signal` per BaselineSettings. Throws std::invalid_argument if the marked
// period is outside the signal, or the search window is longer than the signal.
[[nodiscard]] Baseline find_baseline(std::span<const double> signal, double rate_hz,
                                     const BaselineSettings& settings);

// find_baseline's automatic search (quietest window of search_window_ms) over the strided column
// data[0], data[stride], ..., data[(n - 1) * stride], without copying it: the same window and statistics, bit
// for bit, as find_baseline on a copy of the column with default rest indices. Throws as find_baseline does.
[[nodiscard]] Baseline find_quietest_baseline(const double* data, std::size_t stride, std::size_t n,
                                              double rate_hz, double search_window_ms);

// Median of v (mean of the two middle values for an even count); may reorder v. Throws std::invalid_argument
// for an empty range. Up to 4096 values: std::nth_element; more: an exact radix select (src/dsp/onset.cpp)
// that returns the same double, bit for bit (test Median.RadixSelectEqualsNthElementBitForBit), except that
// a zero median may have the other sign where -0.0 and +0.0 both sit at the middle rank (which of them
// std::nth_element leaves there is unspecified too). Inputs must be finite: with a NaN the result is
// unspecified, as it was with std::nth_element.
[[nodiscard]] double median_in_place(std::span<double> v);

// 1 / Phi^-1(3/4): the median absolute deviation times this estimates the SD of Gaussian data (Hampel 1974,
// J Am Stat Assoc 69:383; Rousseeuw & Croux 1993, J Am Stat Assoc 88:1273, "MAD" with b = 1.4826).
inline constexpr double kMadToSd = 1.482602218505602;

// Robust baseline of signal[begin, end): mean = the median, sd = kMadToSd x the median absolute deviation
// from it. Both have a 50 % breakdown point (Rousseeuw & Croux 1993): up to half the samples may be
// activity (a twitch, the tail of the previous rep) without moving the threshold far, where one burst in a
// rest window inflates the ordinary SD many times. For Gaussian rest noise it estimates the same mean and
// SD as find_baseline's statistics. Throws std::invalid_argument for an empty or out-of-range interval.
[[nodiscard]] Baseline robust_baseline(std::span<const double> signal, std::size_t begin, std::size_t end);
// The same over all of `values`, which it reorders (no copy: callers that gathered the values already own
// them); begin_index 0, end_index values.size(). Throws std::invalid_argument when `values` is empty.
[[nodiscard]] Baseline robust_baseline_in_place(std::span<double> values);
// Robust baseline for a one-sided (upper) threshold on a right-skewed signal: mean = the median, sd =
// kMadToSd x the median of the deviations of the values above it ("upper-half MAD"; 0 when none is above).
// The MAD measures the spread symmetrically, which does not suit an asymmetric distribution (Rousseeuw &
// Croux 1993, on the MAD's "symmetric view on dispersion"); a detector that asks how far a value rises above
// rest needs the spread on that side (separate scales above and below the median: Hubert & Van der Veeken
// 2008, J Chemometrics 22:235). For symmetric data it estimates the same as the MAD (Gaussian: the SD).
// Breakdown point 25 %: fewer than a quarter of the values may be activity. Reorders `values`; begin_index 0,
// end_index values.size(). Throws std::invalid_argument when `values` is empty.
[[nodiscard]] Baseline upper_robust_baseline_in_place(std::span<double> values);

// Sample ranges [begin, end) of a strided column: the values data[i * stride] for i in each range, in range
// order (an empty or reversed range holds none). Read in place by the selections below.
struct IndexRange {
  std::size_t begin = 0, end = 0;
};
struct StridedRanges {
  const double* data = nullptr;
  std::size_t stride = 1;
  std::span<const IndexRange> ranges;
};

// median_in_place and upper_robust_baseline_in_place of the ranges' values, without a copy of them: the same
// doubles, bit for bit, as those functions give on the values gathered into one vector in range order (test
// Median.RangesEqualInPlaceOnAGatheredCopy). Up to 4096 values they are gathered (a few KiB); above that the
// selections read the column in place, block by block. The upper-half MAD needs no second array either: x ->
// x - median is non-decreasing, so rank k of the deviations above the median is rank (b + k) of the values,
// minus the median, where b values are not above it. An hour's pooled rests (5 M values, 40 MB as a copy)
// are read where they lie.
[[nodiscard]] double median_of(const StridedRanges& values);
[[nodiscard]] Baseline upper_robust_baseline_of(const StridedRanges& values);

// Default threshold multiplier of every detector here and of the product's onset settings
// (exercise::OnsetSettings::k_sd): 5 SD, the value docs/VALIDATION.md chose on simulator seeds 1-3 (k 3 let
// motion artefacts at movement onset through: p95 onset error 72 ms vs 27 ms at 30 dB, contaminated) and
// docs/SCORING.md documents. Hodges & Bui compared 1-3 SD on clean laboratory EMG.
inline constexpr double kDefaultOnsetThresholdSd = 5.0;

// Hodges & Bui 1996 (Electroencephalogr Clin Neurophysiol 101:511-519): the (low-passed) envelope is
// active where it exceeds baseline mean + k SD for at least min_active_ms. Gaps shorter than
// min_rest_ms are bridged first (so a brief dip does not split a burst), then intervals shorter than
// min_active_ms are dropped. Hodges & Bui compared 1-3 SD and 20-100 ms; defaults 5 SD (above) / 50 ms.
struct HodgesBuiSettings {
  double k_sd = kDefaultOnsetThresholdSd;  // threshold = mean + k_sd * sd of the baseline (same signal)
  double min_active_ms = 50.0;             // minimum time above threshold for an onset
  double min_rest_ms = 50.0;               // gaps shorter than this are bridged
  BaselineSettings baseline{};
};
inline constexpr HodgesBuiSettings kDefaultHodgesBui{};
[[nodiscard]] OnsetResult detect_hodges_bui(std::span<const double> envelope, double rate_hz,
                                            const HodgesBuiSettings& settings = kDefaultHodgesBui);

// Solnik et al. 2010 (Eur J Appl Physiol 110:489-498; Solnik 2008 Acta Bioeng Biomech 10(2):65):
// band-passed EMG -> TKEO -> |.| (optionally low-passed, zero-phase, as in Li, Zhou & Aruin 2007),
// thresholded at baseline mean + k SD of that same TKEO-domain signal, held min_active_ms.
// The multiplier used in the paper is an open item in the research notes: k_sd = kDefaultOnsetThresholdSd
// is glutescope's default (docs/VALIDATION.md), not a value taken from the paper.
struct SolnikSettings {
  double k_sd = kDefaultOnsetThresholdSd;
  double min_active_ms = 25.0;
  double min_rest_ms = 25.0;
  double smoothing_cutoff_hz = 50.0;  // low-pass of |TKEO| (order 2, zero-phase); 0 disables it
  BaselineSettings baseline{};
};
inline constexpr SolnikSettings kDefaultSolnik{};
// `emg` is the band-passed (not rectified) EMG. The result's baseline and threshold are in the
// TKEO domain (squared signal units).
[[nodiscard]] OnsetResult detect_solnik(std::span<const double> emg, double rate_hz,
                                        const SolnikSettings& settings = kDefaultSolnik);

// Bonato, D'Alessio & Knaflitz 1998 (IEEE Trans Biomed Eng 45(3):287-299) double threshold:
// g_j = ((x[2j] - mu)^2 + (x[2j+1] - mu)^2) / sigma^2 over non-overlapping sample pairs (chi-square, 2
// dof, for Gaussian rest noise), mu/sigma from the baseline of x. A pair is "above" if g_j >= zeta
// (first threshold, zeta = -2 ln(p_false_alarm)); a window of m successive pairs is active if at
// least r0 are above (second threshold). Activity starts at the first above pair of the first active
// window, ends after the last above pair of the last active window, and must last min_active_ms.
// Defaults are glutescope's (not verified against the paper): p = 0.05, m = 5, r0 = 3, 30 ms.
struct BonatoSettings {
  double first_threshold_false_alarm = 0.05;  // per-pair false-alarm probability -> zeta
  int window_pairs = 5;                       // m
  int min_pairs_above = 3;                    // r0, 1..m
  double min_active_ms = 30.0;
  double min_rest_ms = 30.0;
  BaselineSettings baseline{};
};
inline constexpr BonatoSettings kDefaultBonato{};
[[nodiscard]] OnsetResult detect_bonato(std::span<const double> emg, double rate_hz,
                                        const BonatoSettings& settings = kDefaultBonato);

// Shared post-processing: maximal runs of active[i] != 0, gaps shorter than min_rest_samples bridged,
// then runs shorter than min_active_samples dropped.
[[nodiscard]] std::vector<ActivityInterval> active_runs(std::span<const unsigned char> active,
                                                        std::size_t min_active_samples,
                                                        std::size_t min_rest_samples);

}  // namespace glutescope::dsp
