// Streaming contract: chunk-size invariance (bit-identical), channel independence, NaN policy.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::dsp {
namespace {

constexpr double kRate = 2000.0;
constexpr std::size_t kChannels = 5;

SosCoefficients live_chain() {
  return concatenate(butterworth_bandpass(4, 20.0, 450.0, kRate), mains_notch_sos({50.0, 20.0, 3}, kRate));
}

std::vector<double> noise(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> x(n);
  for (double& v : x) v = 0.3 + gauss(rng);
  return x;
}

// Feeds an interleaved signal in random chunk sizes (1..200 rows).
template <typename Stage>
std::vector<double> run_chunked(Stage& stage, const std::vector<double>& x, unsigned seed,
                                std::vector<std::uint8_t>* valid = nullptr) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> rows(1, 200);
  std::vector<double> y(x.size());
  if (valid != nullptr) valid->assign(x.size(), 2);
  std::size_t at = 0;
  while (at < x.size()) {
    const std::size_t n = std::min(rows(rng) * kChannels, x.size() - at);
    std::span<std::uint8_t> mask;
    if (valid != nullptr) mask = std::span(*valid).subspan(at, n);
    stage.process_interleaved(std::span(x).subspan(at, n), std::span(y).subspan(at, n), mask);
    at += n;
  }
  return y;
}

TEST(SosFilterStreaming, OutputIsBitIdenticalWhateverTheChunkSizes) {
  const auto x = noise(4000 * kChannels, 1);
  SosFilter whole(live_chain(), kChannels);
  std::vector<double> expected(x.size());
  whole.process_interleaved(x, expected);
  for (unsigned seed : {2U, 3U, 4U}) {
    SosFilter chunked(live_chain(), kChannels);
    const auto y = run_chunked(chunked, x, seed);
    for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y[i], expected[i]) << "seed " << seed << " i " << i;
  }
  // The per-sample path computes exactly the same numbers.
  SosFilter per_sample(live_chain(), kChannels);
  for (std::size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(per_sample.process(i % kChannels, x[i]), expected[i]) << i;
}

TEST(SosFilterStreaming, ChannelsAreIndependentSingleChannelFilters) {
  const auto x = noise(3000 * kChannels, 5);
  SosFilter multi(live_chain(), kChannels);
  std::vector<double> y(x.size());
  multi.process_interleaved(x, y);
  for (std::size_t c = 0; c < kChannels; ++c) {
    SosFilter single(live_chain());
    for (std::size_t i = c; i < x.size(); i += kChannels) ASSERT_EQ(single.process(x[i]), y[i]);
  }
}

TEST(SosFilterStreaming, NanStretchResetsOnlyThatChannelAndRestartsFresh) {
  const std::size_t rows = 8000, bad_channel = 2, nan_begin = 2500, nan_end = 2600;
  auto x = noise(rows * kChannels, 7);
  const auto clean = x;
  for (std::size_t r = nan_begin; r < nan_end; ++r) {
    x[r * kChannels + bad_channel] =
        (r % 2 == 0) ? std::numeric_limits<double>::quiet_NaN() : std::numeric_limits<double>::infinity();
  }
  SosFilter filter(live_chain(), kChannels);
  std::vector<std::uint8_t> valid;
  const auto y = run_chunked(filter, x, 11, &valid);
  SosFilter reference_filter(live_chain(), kChannels);
  std::vector<double> y_clean(clean.size());
  reference_filter.process_interleaved(clean, y_clean);

  EXPECT_EQ(filter.resets(bad_channel), 1U);
  EXPECT_EQ(filter.resets(0), 0U);
  const std::size_t settle = filter.settling_samples();
  ASSERT_GT(settle, 0U);
  ASSERT_LT(nan_end + settle, rows);
  // A filter started fresh at the first finite sample after the stretch.
  SosFilter fresh(live_chain());
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < kChannels; ++c) {
      const std::size_t i = r * kChannels + c;
      const bool startup = r < settle;
      if (c != bad_channel) {
        ASSERT_EQ(y[i], y_clean[i]) << "channel " << c << " row " << r;  // other channels untouched
        ASSERT_EQ(valid[i], startup ? 0 : 1);
        continue;
      }
      if (r >= nan_begin && r < nan_end) {
        ASSERT_TRUE(std::isnan(y[i])) << r;
        ASSERT_EQ(valid[i], 0);
      } else if (r >= nan_end) {
        ASSERT_TRUE(std::isfinite(y[i]));
        ASSERT_EQ(y[i], fresh.process(x[i])) << r;
        ASSERT_EQ(valid[i], r < nan_end + settle ? 0 : 1) << r;
      } else {
        ASSERT_EQ(y[i], y_clean[i]);
        ASSERT_EQ(valid[i], startup ? 0 : 1);
      }
    }
  }
}

TEST(SosFilterStreaming, SettlingSamplesBoundTheTransient) {
  // After settling_samples() the start-up transient of a step input is within tolerance of the
  // steady state: for this band-pass the steady state of a DC step is 0.
  for (const auto& sos : {butterworth_bandpass(4, 20.0, 450.0, kRate), live_chain()}) {
    SosFilter filter(sos);
    double peak = 0.0;
    for (std::size_t i = 0; i < filter.settling_samples(); ++i)
      peak = std::max(peak, std::abs(filter.process(1.0)));
    double tail = 0.0;
    for (int i = 0; i < 200; ++i) tail = std::max(tail, std::abs(filter.process(1.0)));
    EXPECT_LT(tail, 1e-3 * peak);
  }
}

TEST(MovingRmsStreaming, MatchesTheDefinitionAndIsChunkInvariant) {
  const auto x = noise(3000 * kChannels, 13);
  MovingRms whole({.window_ms = 25.0}, kRate, kChannels);
  ASSERT_EQ(whole.window(), 50U);
  std::vector<double> y(x.size());
  whole.process_interleaved(x, y);
  // Independent definition: sqrt(mean of the last 50 squares, zeros before the start).
  for (std::size_t r = 0; r < 3000; r += 37) {
    for (std::size_t c = 0; c < kChannels; ++c) {
      long double sum = 0.0L;
      for (std::size_t k = 0; k < 50 && k <= r; ++k)
        sum += x[(r - k) * kChannels + c] * x[(r - k) * kChannels + c];
      ASSERT_NEAR(y[r * kChannels + c], std::sqrt(static_cast<double>(sum / 50.0L)), 1e-12);
    }
  }
  MovingRms chunked({.window_ms = 25.0}, kRate, kChannels);
  const auto y2 = run_chunked(chunked, x, 17);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y2[i], y[i]);
}

TEST(MovingRmsStreaming, NanResetsTheWindowAndFlagsItUntilRefilled) {
  auto x = noise(1000, 19);
  x[400] = std::numeric_limits<double>::quiet_NaN();
  MovingRms rms({.window_ms = 10.0}, kRate, 1);
  std::vector<double> y(x.size());
  std::vector<std::uint8_t> valid(x.size());
  rms.process_interleaved(x, y, valid);
  EXPECT_EQ(rms.resets(0), 1U);
  EXPECT_TRUE(std::isnan(y[400]));
  MovingRms fresh({.window_ms = 10.0}, kRate, 1);
  for (std::size_t i = 401; i < x.size(); ++i) {
    ASSERT_NEAR(y[i], fresh.process(x[i]), 1e-12) << i;
    ASSERT_EQ(valid[i], i >= 400 + 20 ? 1 : 0) << i;
  }
  EXPECT_EQ(valid[19], 1);
  EXPECT_EQ(valid[18], 0);
}

TEST(TkeoStreaming, ChunkInvariantAndNanFlagged) {
  auto x = noise(2000 * kChannels, 23);
  Tkeo whole(kChannels);
  std::vector<double> y(x.size());
  whole.process_interleaved(x, y);
  Tkeo chunked(kChannels);
  const auto y2 = run_chunked(chunked, x, 29);
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_EQ(y2[i], y[i]);
  x[100 * kChannels] = std::numeric_limits<double>::quiet_NaN();
  Tkeo with_nan(kChannels);
  std::vector<std::uint8_t> valid(x.size());
  with_nan.process_interleaved(x, y, valid);
  EXPECT_TRUE(std::isnan(y[100 * kChannels]));
  EXPECT_EQ(valid[101 * kChannels], 0);
  EXPECT_EQ(valid[102 * kChannels], 0);
  EXPECT_EQ(valid[103 * kChannels], 1);
  EXPECT_EQ(with_nan.resets(0), 1U);
}

}  // namespace
}  // namespace glutescope::dsp
