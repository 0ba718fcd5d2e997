#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "motion/orientation_filter.hpp"
#include "synthetic_imu.hpp"

namespace glutescope::motion {
namespace {

using testing::angle_between_deg;
using testing::ImuNoise;
using testing::rot_x;
using testing::rot_y;
using testing::rot_z;
using testing::synthesize;

constexpr double kRateHz = 100.0;
constexpr double kDt = 1.0 / kRateHz;

OrientationFilterSettings fusion_like() {
  OrientationFilterSettings s = kDefaultOrientationFilterSettings;
  s.sample_rate_hz = kRateHz;
  return s;
}

TEST(OrientationFilter, StaticSensorConvergesToTheTrueInclinationWithinTheStartupPeriod) {
  OrientationFilterSettings s = fusion_like();
  s.align_to_first_accelerometer_sample = false;  // start from the identity: exercise the gain ramp
  // Sensor tilted 120 deg from level about a skew horizontal axis, heading 40 deg.
  const Eigen::Matrix3d r =
      rot_z(40.0) *
      Eigen::AngleAxisd(120.0 * testing::kDeg, Eigen::Vector3d(1.0, 1.0, 0.0).normalized()).matrix();
  const auto samples = synthesize([&](double) { return r; }, 3.0, kRateHz);
  OrientationFilter f(s);
  EXPECT_TRUE(f.flags().startup);
  for (std::size_t k = 1; k < samples.size(); ++k) {
    f.update(samples[k].gyro_dps, samples[k].accel_g, kDt);
    if (k == 150) {
      EXPECT_TRUE(f.flags().startup) << "the ramp lasts 3 s";
    }
  }
  EXPECT_LT(angle_between_deg(f.gravity(), samples.back().true_up), 0.5);
  EXPECT_FALSE(f.flags().startup);
}

TEST(OrientationFilter, ConstantRateRotationAboutAHorizontalAxisMatchesTheIntegral) {
  // 1 s still, then 30 deg/s about the Earth-horizontal x axis for 6 s (180 deg), then 1 s still.
  const auto rotation = [](double t) {
    const double moving = std::clamp(t - 1.0, 0.0, 6.0);
    return Eigen::Matrix3d(rot_z(25.0) * rot_x(30.0 * moving) * rot_y(10.0));
  };
  const auto samples = synthesize(rotation, 8.0, kRateHz);
  OrientationFilter f(fusion_like());
  Eigen::Quaterniond q_before = Eigen::Quaterniond::Identity();
  double worst_deg = 0.0;
  for (std::size_t k = 1; k < samples.size(); ++k) {
    f.update(samples[k].gyro_dps, samples[k].accel_g, kDt);
    if (k == 100) q_before = f.quaternion();
    worst_deg = std::max(worst_deg, angle_between_deg(f.gravity(), samples[k].true_up));
  }
  // Rotation between the two still periods, expressed in the Earth frame: 180 deg about the horizontal axis
  // (rotated by the 25 deg heading, which the filter's arbitrary heading maps to its own frame).
  const Eigen::Quaterniond relative = f.quaternion() * q_before.conjugate();
  const Eigen::AngleAxisd aa(relative);
  EXPECT_NEAR(aa.angle() / testing::kDeg, 180.0, 0.5);
  EXPECT_NEAR(std::abs(aa.axis().z()), 0.0, 0.01) << "axis must stay horizontal";
  EXPECT_LT(worst_deg, 0.5);
}

TEST(OrientationFilter, GyroscopeOnlyIntegrationMatchesTheIntegral) {
  OrientationFilterSettings s = fusion_like();
  s.gain = 0.0;
  s.startup_period_s = 0.0;
  s.estimate_gyroscope_bias = false;
  const auto rotation = [](double t) { return Eigen::Matrix3d(rot_y(-45.0 * t)); };  // 45 deg/s, 4 s
  const auto samples = synthesize(rotation, 4.0, kRateHz);
  OrientationFilter f(s);
  for (std::size_t k = 1; k < samples.size(); ++k) f.update(samples[k].gyro_dps, samples[k].accel_g, kDt);
  EXPECT_LT(angle_between_deg(f.gravity(), samples.back().true_up), 0.01);
  EXPECT_NEAR(angle_between_deg(f.gravity(), Eigen::Vector3d::UnitZ()), 180.0, 0.01);
}

double inclination_error_after_still_period(bool estimate_bias, Eigen::Vector3d* bias_out) {
  OrientationFilterSettings s = fusion_like();
  s.estimate_gyroscope_bias = estimate_bias;
  ImuNoise noise;
  noise.gyro_bias_dps = Eigen::Vector3d(2.0, -1.5, 1.0);
  noise.gyro_noise_dps = 0.1;
  noise.accel_noise_g = 0.002;
  // 40 s still (tilted 20 deg), then 90 deg about a horizontal axis in 3 s, then 2 s still.
  const auto rotation = [](double t) {
    const double u = std::clamp((t - 40.0) / 3.0, 0.0, 1.0);
    return Eigen::Matrix3d(rot_x(20.0) * rot_y(90.0 * u));
  };
  const auto samples = synthesize(rotation, 45.0, kRateHz, noise);
  OrientationFilter f(s);
  double error_at_end_of_still = 0.0;
  for (std::size_t k = 1; k < samples.size(); ++k) {
    f.update(samples[k].gyro_dps, samples[k].accel_g, kDt);
    if (k == 3999) {
      error_at_end_of_still = angle_between_deg(f.gravity(), samples[k].true_up);
      if (bias_out) *bias_out = f.gyroscope_bias_dps();
      EXPECT_EQ(f.flags().bias_adapting, estimate_bias);
    }
  }
  return std::max(error_at_end_of_still, angle_between_deg(f.gravity(), samples.back().true_up));
}

TEST(OrientationFilter, InjectedGyroscopeBiasIsEstimatedAtRestAndRemoved) {
  Eigen::Vector3d bias = Eigen::Vector3d::Zero();
  const double with_estimation = inclination_error_after_still_period(true, &bias);
  EXPECT_NEAR(bias.x(), 2.0, 0.1);
  EXPECT_NEAR(bias.y(), -1.5, 0.1);
  EXPECT_NEAR(bias.z(), 1.0, 0.1);
  EXPECT_LT(with_estimation, 0.5);
  // Without the estimator a 2.5 deg/s horizontal bias against gain 0.5 /s leaves ~ 2.5 * pi/180 / 0.5 rad.
  const double without = inclination_error_after_still_period(false, nullptr);
  EXPECT_GT(without, 2.5);
}

TEST(GyroBiasEstimator, WaitsForTheStationaryPeriodAndIgnoresMotion) {
  GyroBiasEstimator b;
  const Eigen::Vector3d rate(1.0, 0.0, 0.0);
  for (int k = 0; k < 290; ++k) b.update(rate, kDt);
  EXPECT_FALSE(b.adapting());
  EXPECT_EQ(b.bias_dps().x(), 0.0);
  for (int k = 0; k < 20; ++k) b.update(rate, kDt);
  EXPECT_TRUE(b.adapting());
  EXPECT_GT(b.bias_dps().x(), 0.0);
  const double before = b.bias_dps().x();
  b.update(Eigen::Vector3d(0.0, 10.0, 0.0), kDt);  // motion resets the stationary timer
  EXPECT_FALSE(b.adapting());
  EXPECT_EQ(b.bias_dps().x(), before);
  // One adapting step moves the offset by 2 pi 0.02 Hz dt of the corrected rate.
  GyroBiasEstimator c;
  for (int k = 0; k < 301; ++k) c.update(rate, kDt);
  const double x0 = c.bias_dps().x();
  c.update(rate, kDt);
  EXPECT_NEAR(c.bias_dps().x() - x0, 2.0 * std::numbers::pi * 0.02 * kDt * (1.0 - x0), 1e-12);
}

TEST(OrientationFilter, AccelerationSpikeIsIgnoredAndDoesNotDisturbTheEstimate) {
  for (const bool rejection : {true, false}) {
    OrientationFilterSettings s = fusion_like();
    if (!rejection) s.acceleration_rejection_deg = 0.0;
    const auto samples = synthesize([](double) { return Eigen::Matrix3d(rot_x(15.0)); }, 6.0, kRateHz);
    OrientationFilter f(s);
    bool ignored_during_spike = true;
    bool ignored_outside_spike = false;
    double worst_deg = 0.0;
    for (std::size_t k = 1; k < samples.size(); ++k) {
      Eigen::Vector3d accel = samples[k].accel_g;
      const bool spike = k >= 400 && k < 430;  // 0.3 s, 0.7 g sideways: ~35 deg off gravity
      if (spike) accel += Eigen::Vector3d(0.7, 0.0, 0.0);
      f.update(samples[k].gyro_dps, accel, kDt);
      if (spike) {
        ignored_during_spike = ignored_during_spike && f.flags().accelerometer_ignored;
        EXPECT_GT(f.flags().acceleration_error_deg, 10.0);
      } else {
        ignored_outside_spike = ignored_outside_spike || f.flags().accelerometer_ignored;
      }
      if (k >= 400) worst_deg = std::max(worst_deg, angle_between_deg(f.gravity(), samples[k].true_up));
    }
    if (rejection) {
      EXPECT_TRUE(ignored_during_spike);
      EXPECT_FALSE(ignored_outside_spike);
      EXPECT_LT(worst_deg, 0.05);
    } else {
      EXPECT_FALSE(ignored_outside_spike);
      EXPECT_GT(worst_deg, 3.0) << "without rejection the spike pulls the estimate";
    }
  }
}

TEST(OrientationFilter, PersistentDisagreementTriggersRecoveryAfterTheTimeout) {
  // The sensor is turned 40 deg while the gyroscope reports nothing (e.g. clipped): the accelerometer is
  // rejected, the trigger counts +1 per sample to 5 s x 100 Hz = 500, then recovery re-admits it.
  OrientationFilter f(fusion_like());
  ASSERT_EQ(f.recovery_trigger_limit(), 500);
  const Eigen::Vector3d level = Eigen::Vector3d::UnitZ();
  for (int k = 0; k < 400; ++k) f.update(Eigen::Vector3d::Zero(), level, kDt);
  ASSERT_FALSE(f.flags().startup);
  const Eigen::Vector3d tilted = rot_y(40.0).transpose() * Eigen::Vector3d::UnitZ();
  for (int k = 1; k <= 499; ++k) {
    f.update(Eigen::Vector3d::Zero(), tilted, kDt);
    ASSERT_TRUE(f.flags().accelerometer_ignored) << k;
    ASSERT_EQ(f.flags().recovery_trigger, k);
  }
  f.update(Eigen::Vector3d::Zero(), tilted, kDt);
  EXPECT_TRUE(f.flags().acceleration_recovery);
  EXPECT_FALSE(f.flags().accelerometer_ignored);
  for (int k = 0; k < 1500; ++k) f.update(Eigen::Vector3d::Zero(), tilted, kDt);
  EXPECT_LT(angle_between_deg(f.gravity(), tilted), 0.5);
  EXPECT_FALSE(f.flags().acceleration_recovery);
  EXPECT_EQ(f.flags().recovery_trigger, 0);
}

TEST(OrientationFilter, ShortRejectionsAreForgivenNineToOne) {
  OrientationFilter f(fusion_like());
  const Eigen::Vector3d level = Eigen::Vector3d::UnitZ();
  const Eigen::Vector3d off = rot_y(30.0).transpose() * level;
  for (int k = 0; k < 400; ++k) f.update(Eigen::Vector3d::Zero(), level, kDt);
  for (int k = 0; k < 20; ++k) f.update(Eigen::Vector3d::Zero(), off, kDt);
  EXPECT_EQ(f.flags().recovery_trigger, 20);
  f.update(Eigen::Vector3d::Zero(), level, kDt);
  EXPECT_EQ(f.flags().recovery_trigger, 11);
  f.update(Eigen::Vector3d::Zero(), level, kDt);
  f.update(Eigen::Vector3d::Zero(), level, kDt);
  EXPECT_EQ(f.flags().recovery_trigger, 0);
}

TEST(OrientationFilter, OverrangeRestartsTheStartupRamp) {
  OrientationFilter f(fusion_like());
  for (int k = 0; k < 400; ++k) f.update(Eigen::Vector3d::Zero(), Eigen::Vector3d::UnitZ(), kDt);
  ASSERT_FALSE(f.flags().startup);
  f.update(Eigen::Vector3d(1990.0, 0.0, 0.0), Eigen::Vector3d::UnitZ(), kDt);
  EXPECT_TRUE(f.flags().startup);
}

TEST(OrientationFilter, BadSettingsAreRejectedWithTheFieldName) {
  OrientationFilterSettings s = fusion_like();
  s.gain = -1.0;
  EXPECT_THROW({ OrientationFilter f(s); }, std::invalid_argument);
  s = fusion_like();
  s.sample_rate_hz = 0.0;
  try {
    OrientationFilter f(s);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("sample_rate_hz"), std::string::npos);
  }
  GyroBiasSettings b;
  b.cutoff_hz = 0.0;
  EXPECT_THROW({ GyroBiasEstimator g(b); }, std::invalid_argument);
}

TEST(OrientationFilter, InvalidSamplesAreSkipped) {
  OrientationFilter f(fusion_like());
  for (int k = 0; k < 100; ++k) f.update(Eigen::Vector3d::Zero(), Eigen::Vector3d::UnitZ(), kDt);
  const Eigen::Quaterniond before = f.quaternion();
  f.update(Eigen::Vector3d(NAN, 0, 0), Eigen::Vector3d::UnitZ(), kDt);
  f.update(Eigen::Vector3d(50, 0, 0), Eigen::Vector3d::UnitZ(), -0.01);
  f.update(Eigen::Vector3d(50, 0, 0), Eigen::Vector3d::UnitZ(), 5.0);
  EXPECT_TRUE(f.quaternion().isApprox(before));
}

}  // namespace
}  // namespace glutescope::motion
