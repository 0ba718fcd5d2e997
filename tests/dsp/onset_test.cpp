// Onset detectors on synthetic EMG with known activity (ground truth by construction).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/onset.hpp"

namespace glutescope::dsp {
namespace {

constexpr double kRate = 2000.0;
constexpr double kNoiseSd = 0.05;

// Rest noise (SD 0.05) with two bursts of SD 1.0 at [4000, 5200) and [8000, 9000).
std::vector<double> synthetic_emg() {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> x(12000);
  for (std::size_t i = 0; i < x.size(); ++i) {
    const bool active = (i >= 4000 && i < 5200) || (i >= 8000 && i < 9000);
    x[i] = (active ? 1.0 : kNoiseSd) * gauss(rng);
  }
  return x;
}

void expect_bursts(const OnsetResult& r, std::size_t tolerance_samples,
                   std::size_t offset_tolerance_samples = 0) {
  if (offset_tolerance_samples == 0) offset_tolerance_samples = tolerance_samples;
  ASSERT_EQ(r.intervals.size(), 2U);
  const std::size_t truth[2][2] = {{4000, 5200}, {8000, 9000}};
  for (std::size_t k = 0; k < 2; ++k) {
    EXPECT_NEAR(static_cast<double>(r.intervals[k].onset_index), static_cast<double>(truth[k][0]),
                static_cast<double>(tolerance_samples));
    EXPECT_NEAR(static_cast<double>(r.intervals[k].offset_index), static_cast<double>(truth[k][1]),
                static_cast<double>(offset_tolerance_samples));
  }
}

TEST(ActiveRuns, BridgesShortGapsThenDropsShortRuns) {
  //                                0  1  2  3  4  5  6  7  8  9 10 11 12 13
  const std::vector<unsigned char> a{0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1};
  // min rest 2: gap [4,5) bridged -> [1,7); gap [7,10) kept; [10,11) and [12,14) gap of 1 bridged -> [10,14).
  const auto runs = active_runs(a, 3, 2);
  ASSERT_EQ(runs.size(), 2U);
  EXPECT_EQ(runs[0], (ActivityInterval{1, 7}));
  EXPECT_EQ(runs[1], (ActivityInterval{10, 14}));
  // min active 5 drops the second run (length 4).
  EXPECT_EQ(active_runs(a, 5, 2).size(), 1U);
}

TEST(Baseline, MarkedRestAndQuietestWindowAgreeOnRestNoise) {
  const auto x = synthetic_emg();
  const auto env = moving_rms_centered(x, {.window_ms = 50.0}, kRate);
  const Baseline marked = find_baseline(env, kRate, {.rest_begin_index = 500, .rest_end_index = 3500});
  EXPECT_EQ(marked.begin_index, 500U);
  EXPECT_NEAR(marked.mean, kNoiseSd, 0.1 * kNoiseSd);  // RMS of the rest noise
  const Baseline automatic = find_baseline(env, kRate, {.search_window_ms = 500.0});
  EXPECT_EQ(automatic.end_index - automatic.begin_index, 1000U);
  const bool in_rest = automatic.end_index <= 3950 ||
                       (automatic.begin_index >= 5250 && automatic.end_index <= 7950) ||
                       automatic.begin_index >= 9050;
  EXPECT_TRUE(in_rest) << automatic.begin_index;
  EXPECT_NEAR(automatic.mean, kNoiseSd, 0.1 * kNoiseSd);
}

// Issue 14, defect (b): on signed (band-passed, not rectified) EMG the quietest window is the one with the
// least power. A window holding the negative half of a burst has the lowest mean but is the loudest; the
// automatic baseline must not pick it. Ground truth by construction: rest SD 0.05 everywhere except a burst
// of large negative values at [2000, 3000).
TEST(Baseline, AutomaticWindowOnSignedEmgIsTheQuietestByMeanSquare) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> gauss(0.0, kNoiseSd);
  std::vector<double> x(6000);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = gauss(rng) + (i >= 2000 && i < 3000 ? -1.0 : 0.0);
  const Baseline b = find_baseline(x, kRate, {.search_window_ms = 250.0});
  const bool overlaps_burst = b.begin_index < 3000 && b.end_index > 2000;
  EXPECT_FALSE(overlaps_burst) << "window [" << b.begin_index << ", " << b.end_index << ")";
  EXPECT_NEAR(b.sd, kNoiseSd, 0.15 * kNoiseSd);
  // Bonato's automatic baseline is the same window: its SD is the rest noise's, so the burst is found.
  const OnsetResult r = detect_bonato(x, kRate, {.baseline = {.search_window_ms = 250.0}});
  EXPECT_NEAR(r.baseline.sd, kNoiseSd, 0.15 * kNoiseSd);
  ASSERT_FALSE(r.intervals.empty());
  EXPECT_NEAR(static_cast<double>(r.intervals.front().onset_index), 2000.0, 40.0);
}

// median_in_place (radix select) against the std::nth_element version it replaced, bit for bit, on random
// data of sizes 1 to 10^6: signed, both zeros, many duplicates, all equal, exponents far apart, odd and even
// sizes on both sides of the radix threshold. Only the sign of a zero median may differ where both zeros sit
// at the middle rank (which of them std::nth_element leaves there is not specified either).
namespace {
double nth_element_median(std::vector<double> v) {
  const std::size_t m = v.size() / 2;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m), v.end());
  const double upper = v[m];
  if (v.size() % 2 == 1) return upper;
  const double lower = *std::max_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(m));
  return 0.5 * (lower + upper);
}
}  // namespace

TEST(Median, RadixSelectEqualsNthElementBitForBit) {
  std::mt19937_64 rng(17);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_int_distribution<int> small(-3, 3);
  std::uniform_real_distribution<double> exponent(-300.0, 300.0);
  const auto kinds = std::to_array<std::function<double()>>({
      [&] { return gauss(rng); },                   // signed
      [&] { return std::abs(gauss(rng)) * 1e-3; },  // positive, like an onset signal
      [&] { return small(rng) == 0 ? (rng() % 2 ? 0.0 : -0.0) : small(rng) * 0.5; },  // +-0 and duplicates
      [&] { return 2.5; },                                                            // all equal
      [&] { return -0.0; },                                                           // all -0
      [&] { return (rng() % 2 ? 1.0 : -1.0) * std::pow(10.0, exponent(rng)); },       // exponents far apart
      [&] { return 1.0 + static_cast<double>(rng() % 8) * 0x1p-52; },  // keys differing in the last bits only
  });
  std::vector<std::size_t> sizes{1, 2, 3, 4, 5, 6, 7, 8, 100, 101, 4095, 4096, 4097, 4098, 8191, 8192};
  for (int k = 0; k < 6; ++k) sizes.push_back(10000 + rng() % 200000);
  sizes.insert(sizes.end(), {999999, 1000000});
  for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
    for (const std::size_t n : sizes) {
      std::vector<double> v(n);
      for (double& x : v) x = kinds[kind]();
      const double want = nth_element_median(v);
      std::vector<double> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      const double got = median_in_place(v);
      if (want == 0.0) {
        EXPECT_EQ(got, 0.0) << "kind " << kind << ", n " << n;
      } else {
        EXPECT_EQ(std::bit_cast<std::uint64_t>(got), std::bit_cast<std::uint64_t>(want))
            << "kind " << kind << ", n " << n << ": " << got << " vs " << want;
      }
      std::sort(v.begin(), v.end());  // only reordered
      EXPECT_TRUE(std::equal(v.begin(), v.end(), sorted.begin(), sorted.end(),
                             [](double a, double b) { return a == b; }))
          << "kind " << kind << ", n " << n;
    }
  }
  std::vector<double> none;
  EXPECT_THROW((void)median_in_place(none), std::invalid_argument);
}

// median_of and upper_robust_baseline_of read ranges of a strided column in place: the same doubles as the
// in-place functions on a gathered copy, for every kind of value above, for totals on both sides of the
// 4096-value switch to the selections, and for ranges that are empty, reversed, overlapping or out of order.
TEST(Median, RangesEqualInPlaceOnAGatheredCopy) {
  std::mt19937_64 rng(23);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_int_distribution<int> small(-3, 3);
  const auto kinds = std::to_array<std::function<double()>>({
      [&] { return std::abs(gauss(rng)) * 1e-3; },                                    // onset-like
      [&] { return gauss(rng); },                                                     // signed
      [&] { return small(rng) == 0 ? (rng() % 2 ? 0.0 : -0.0) : small(rng) * 0.5; },  // duplicates, +-0
      [&] { return 1.0 + static_cast<double>(rng() % 8) * 0x1p-52; },                 // last bits only
  });
  const auto same = [](double got, double want) {
    return want == 0.0 ? got == 0.0 : std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(want);
  };
  for (std::size_t kind = 0; kind < kinds.size(); ++kind) {
    for (const std::size_t stride : {std::size_t{1}, std::size_t{3}, std::size_t{4}}) {
      for (const std::size_t rows : {std::size_t{50}, std::size_t{5000}, std::size_t{300000}}) {
        std::vector<double> column(rows * stride);
        for (double& x : column) x = kinds[kind]();
        const std::vector<double> before = column;
        for (int trial = 0; trial < 4; ++trial) {
          std::vector<IndexRange> ranges;
          const std::size_t parts = 1 + rng() % 12;
          for (std::size_t p = 0; p < parts; ++p) {
            const std::size_t a = rng() % rows, b = rng() % (rows + 1);
            ranges.push_back(trial == 0 ? IndexRange{std::min(a, b), std::max(a, b)} : IndexRange{a, b});
          }
          if (trial == 3) ranges = {{0, rows}};  // one range, the whole column
          std::vector<double> copy;
          for (const IndexRange& r : ranges) {
            for (std::size_t i = r.begin; i < r.end; ++i) copy.push_back(column[i * stride]);
          }
          const StridedRanges values{column.data(), stride, ranges};
          if (copy.empty()) {
            EXPECT_THROW((void)upper_robust_baseline_of(values), std::invalid_argument);
            continue;
          }
          std::vector<double> a = copy, b = copy;
          const double want_median = median_in_place(a);
          const Baseline want = upper_robust_baseline_in_place(b);
          const double got_median = median_of(values);
          const Baseline got = upper_robust_baseline_of(values);
          const std::string where = "kind " + std::to_string(kind) + ", stride " + std::to_string(stride) +
                                    ", " + std::to_string(copy.size()) + " values";
          EXPECT_TRUE(same(got_median, want_median)) << where << ": " << got_median << " vs " << want_median;
          EXPECT_TRUE(same(got.mean, want.mean)) << where;
          EXPECT_TRUE(same(got.sd, want.sd)) << where << ": " << got.sd << " vs " << want.sd;
          EXPECT_EQ(got.begin_index, 0U);
          EXPECT_EQ(got.end_index, copy.size());
        }
        EXPECT_EQ(column, before);  // read, never reordered
      }
    }
  }
}

// Median and MAD scaled to an SD (Rousseeuw & Croux 1993): worked by hand, then on Gaussian rest noise
// (estimates the SD) and on rest with 20 % bursts (the ordinary SD is inflated, the robust one is not).
TEST(Baseline, RobustBaselineIsTheMedianAndTheScaledMad) {
  const std::vector<double> x{4.0, 1.0, 100.0, 3.0, 2.0};  // median 3; |x - 3| = 1 2 97 0 1 -> MAD 1
  const Baseline b = robust_baseline(x, 0, x.size());
  EXPECT_DOUBLE_EQ(b.mean, 3.0);
  EXPECT_DOUBLE_EQ(b.sd, kMadToSd * 1.0);
  EXPECT_NEAR(kMadToSd, 1.0 / 0.6744897501960817, 1e-12);  // 1 / Phi^-1(3/4)

  std::mt19937_64 rng(11);
  std::normal_distribution<double> gauss(0.0, kNoiseSd);
  std::vector<double> rest(20000);
  for (double& v : rest) v = gauss(rng);
  EXPECT_NEAR(robust_baseline(rest, 0, rest.size()).sd, kNoiseSd, 0.03 * kNoiseSd);
  for (std::size_t i = 0; i < rest.size(); i += 5) rest[i] += 1.0;  // every fifth sample a burst of 20 SD
  const Baseline classic = find_baseline(rest, kRate, {.rest_begin_index = 0, .rest_end_index = rest.size()});
  const Baseline robust = robust_baseline(rest, 0, rest.size());
  EXPECT_GT(classic.sd, 5.0 * kNoiseSd);
  EXPECT_LT(robust.sd, 1.5 * kNoiseSd);
  EXPECT_LT(std::abs(robust.mean), 0.5 * kNoiseSd);
  EXPECT_THROW((void)robust_baseline(rest, 10, 10), std::invalid_argument);
}

TEST(Baseline, UpperRobustBaselineMeasuresTheSpreadAboveTheMedian) {
  std::vector<double> x{4.0, 1.0, 10.0, 3.0, 2.0};  // median 3; above it 4 and 10: deviations 1 and 7 -> 4
  Baseline b = upper_robust_baseline_in_place(x);
  EXPECT_DOUBLE_EQ(b.mean, 3.0);
  EXPECT_DOUBLE_EQ(b.sd, kMadToSd * 4.0);
  std::vector<double> flat(7, 2.5);  // nothing above the median: no spread
  b = upper_robust_baseline_in_place(flat);
  EXPECT_DOUBLE_EQ(b.mean, 2.5);
  EXPECT_DOUBLE_EQ(b.sd, 0.0);
  std::vector<double> none;
  EXPECT_THROW((void)upper_robust_baseline_in_place(none), std::invalid_argument);

  // Symmetric (Gaussian) data: the same estimate as the MAD, the SD.
  std::mt19937_64 rng(12);
  std::normal_distribution<double> gauss(5.0, 2.0);
  std::vector<double> g(200000);
  for (double& v : g) v = gauss(rng);
  EXPECT_NEAR(upper_robust_baseline_in_place(g).sd, 2.0, 0.02 * 2.0);
  // Exponential(1) data, right-skewed like a power at rest: median ln 2; the values above it minus ln 2 are
  // again Exponential(1) (memorylessness), whose median is ln 2, so sd = 1.4826 ln 2 = 1.028. The MAD sees
  // the bulk on both sides: MAD of Exponential(1) = 0.4812 (solution of e^-(ln2-m) - e^-(ln2+m) = 1/2), so
  // 1.4826 x 0.4812 = 0.713, and a k-SD threshold from it is crossed by the rest's own upper tail.
  std::exponential_distribution<double> expo(1.0);
  std::vector<double> e(200000);
  for (double& v : e) v = expo(rng);
  std::vector<double> e2 = e;
  const Baseline upper = upper_robust_baseline_in_place(e);
  const Baseline mad = robust_baseline_in_place(e2);
  EXPECT_NEAR(upper.mean, std::log(2.0), 0.01);
  EXPECT_NEAR(upper.sd, kMadToSd * std::log(2.0), 0.02);
  EXPECT_NEAR(mad.sd, kMadToSd * 0.4812, 0.02);
}

TEST(HodgesBui, FindsBurstsOnTheRmsEnvelope) {
  const auto x = synthetic_emg();
  const auto env = moving_rms_centered(x, {.window_ms = 25.0}, kRate);
  const auto r = detect_hodges_bui(env, kRate,
                                   {.k_sd = 3.0,
                                    .min_active_ms = 50.0,
                                    .min_rest_ms = 50.0,
                                    .baseline = {.rest_begin_index = 500, .rest_end_index = 3500}});
  EXPECT_DOUBLE_EQ(r.threshold, r.baseline.mean + 3.0 * r.baseline.sd);
  expect_bursts(r, 40);  // 20 ms
}

TEST(Solnik, BaselineAndThresholdAreInTheTkeoDomain) {
  const auto x = synthetic_emg();
  const auto r = detect_solnik(x, kRate, {.baseline = {.rest_begin_index = 500, .rest_end_index = 3500}});
  // For white rest noise, E[x^2 - x_{n-1}x_{n+1}] = sd^2 = 0.0025 (V^2), far from the raw 0.05 V:
  // the BioSPPy pitfall would put the baseline mean near 0 and compare V^2 with V.
  EXPECT_GT(r.baseline.mean, 0.5 * kNoiseSd * kNoiseSd);
  EXPECT_LT(r.baseline.mean, 2.0 * kNoiseSd * kNoiseSd);
  // Onsets within 20 ms; offsets within 30 ms (the 50 Hz smoothing tail of the squared-domain
  // signal, 400x above rest here, stays over threshold for a few more ms).
  expect_bursts(r, 40, 60);
}

TEST(Bonato, DoubleThresholdFindsBursts) {
  const auto x = synthetic_emg();
  const auto r = detect_bonato(x, kRate, {.baseline = {.rest_begin_index = 500, .rest_end_index = 3500}});
  EXPECT_NEAR(r.baseline.sd, kNoiseSd, 0.05 * kNoiseSd);
  EXPECT_NEAR(r.threshold, -2.0 * std::log(0.05), 1e-12);
  expect_bursts(r, 40);
}

TEST(Detectors, PureNoiseGivesNoActivity) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> gauss(0.0, kNoiseSd);
  std::vector<double> x(8000);
  for (double& v : x) v = gauss(rng);
  EXPECT_TRUE(detect_bonato(x, kRate).intervals.empty());
  EXPECT_TRUE(detect_solnik(x, kRate, {.k_sd = 6.0}).intervals.empty());
}

}  // namespace
}  // namespace glutescope::dsp
