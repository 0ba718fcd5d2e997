// ClockFit against synthetic clocks with known offset and drift and exponential arrival delays.
#include <gtest/gtest.h>

#include <random>

#include "core/clock_fit.hpp"

namespace glutescope {
namespace {

struct Truth {
  double offset_s;
  double drift_ppm;
  double host_s(double device_s) const { return offset_s + (1.0 + drift_ppm * 1e-6) * device_s; }
};

// Blocks every `block_s` device seconds for `duration_s`, delivered after an exponential delay.
ClockMapping run(const Truth& truth, double duration_s, double block_s, double mean_delay_s, unsigned seed,
                 double device_start_s = 0.0, ClockFitSettings settings = kDefaultClockFitSettings) {
  ClockFit fit(settings);
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> delay(1.0 / mean_delay_s);
  for (double t = 0.0; t < duration_s; t += block_s) {
    const double device_s = device_start_s + t;
    const auto device_us = static_cast<std::uint64_t>(device_s * 1e6 + 0.5);
    fit.add(device_us, truth.host_s(static_cast<double>(device_us) * 1e-6) + delay(rng));
  }
  return fit.mapping();
}

TEST(ClockFit, Recovers50ppmDriftAndOffsetUnderExponentialJitter) {
  const Truth truth{1234.5678, 50.0};
  for (unsigned seed = 1; seed <= 5; ++seed) {
    const ClockMapping m = run(truth, 120.0, 0.008, 0.002, seed);
    EXPECT_NEAR(m.drift_ppm(), 50.0, 3.0) << "seed " << seed;
    // Offset compared where it matters: the mapped host time of a device time inside the session.
    EXPECT_NEAR(m.to_host_s(60'000'000), truth.host_s(60.0), 1e-3) << "seed " << seed;
    EXPECT_NEAR(m.offset_s, truth.offset_s, 1e-3) << "seed " << seed;
  }
}

TEST(ClockFit, NegativeDriftAndLargeDeviceTimesKeepPrecision) {
  // Device booted 3 days ago: device times near 2.6e5 s must not cost precision.
  const Truth truth{-250000.0, -80.0};
  const ClockMapping m = run(truth, 90.0, 0.005, 0.004, 7, 259200.0);
  EXPECT_NEAR(m.drift_ppm(), -80.0, 3.0);
  EXPECT_NEAR(m.to_host_s(static_cast<std::uint64_t>(259245.0 * 1e6)), truth.host_s(259245.0), 1e-3);
}

TEST(ClockFit, HeavyDelayBurstsDoNotMoveTheFit) {
  // 10% of blocks arrive 30-80 ms late (USB hiccups); the lower envelope ignores them.
  const Truth truth{10.0, 20.0};
  ClockFit fit;
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> delay(1.0 / 0.001);
  std::uniform_real_distribution<double> burst(0.03, 0.08);
  std::bernoulli_distribution late(0.1);
  for (double t = 0.0; t < 100.0; t += 0.01) {
    const auto device_us = static_cast<std::uint64_t>(t * 1e6 + 0.5);
    const double d = delay(rng) + (late(rng) ? burst(rng) : 0.0);
    fit.add(device_us, truth.host_s(static_cast<double>(device_us) * 1e-6) + d);
  }
  const ClockMapping m = fit.mapping();
  EXPECT_NEAR(m.drift_ppm(), 20.0, 3.0);
  EXPECT_NEAR(m.offset_s, truth.offset_s, 1e-3);
}

TEST(ClockFit, SingleWindowGivesOffsetWithUnitSlope) {
  ClockFit fit;
  EXPECT_EQ(fit.mapping().windows, 0u);
  fit.add(1'000'000, 101.003);
  fit.add(1'010'000, 101.011);  // smaller delay: 0.001 s
  const ClockMapping m = fit.mapping();
  EXPECT_EQ(m.windows, 1u);
  EXPECT_DOUBLE_EQ(m.slope, 1.0);
  EXPECT_NEAR(m.offset_s, 100.001, 1e-9);
}

TEST(ClockFit, DeviceRestartStartsANewFit) {
  ClockFit fit;
  for (int i = 0; i < 1000; ++i)
    fit.add(static_cast<std::uint64_t>(i) * 10'000 + 500'000'000, 5.0 + i * 0.01);
  fit.add(0, 20.0);  // device clock back at zero: restarted
  const ClockMapping m = fit.mapping();
  EXPECT_EQ(m.windows, 1u);
  EXPECT_NEAR(m.offset_s, 20.0, 1e-12);
}

TEST(ClockFit, RejectsBadSettings) {
  EXPECT_THROW(ClockFit(ClockFitSettings{0.0, 10}), std::invalid_argument);
  EXPECT_THROW(ClockFit(ClockFitSettings{1.0, 0}), std::invalid_argument);
}

}  // namespace
}  // namespace glutescope
