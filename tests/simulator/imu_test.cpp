// IMU model: gravity at rest, axis conventions, gyro integration against the truth angles, accelerometer
// tilt during the holds (hand-derived formulas, independent of the simulator's rotation code).
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "core/device_info.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {
namespace {

constexpr double kRadToDeg = 180.0 / std::numbers::pi;

SimulatorSettings settings_for(Exercise exercise, Scenario scenario) {
  SimulatorSettings s;
  s.exercise = exercise;
  s.scenario = scenario;
  s.reps = 5;
  s.seed = 7;
  return s;
}

struct Vec3 {
  double x = 0, y = 0, z = 0;
};

// Mean accelerometer reading (g) of a sensor over [t0, t1).
Vec3 mean_accel_g(const SimulatedSession& session, std::uint8_t sensor, double t0, double t1) {
  const auto accel = session.imu_accel(sensor);
  const ImuInfo scale;
  const double rate = session.settings.imu_rate_hz;
  Vec3 sum;
  const auto n0 = static_cast<std::size_t>(t0 * rate);
  const auto n1 = static_cast<std::size_t>(t1 * rate);
  for (std::size_t n = n0; n < n1; ++n) {
    sum.x += accel[3 * n] * scale.accel_g_per_count;
    sum.y += accel[3 * n + 1] * scale.accel_g_per_count;
    sum.z += accel[3 * n + 2] * scale.accel_g_per_count;
  }
  const double count = static_cast<double>(n1 - n0);
  return {sum.x / count, sum.y / count, sum.z / count};
}

const std::vector<double>& angle(const SimulatedSession& session, const std::string& name) {
  const auto& names = session.truth.joint_angles.names;
  const auto it = std::find(names.begin(), names.end(), name);
  EXPECT_NE(it, names.end()) << name;
  return session.truth.joint_angles.values_deg[static_cast<std::size_t>(it - names.begin())];
}

TEST(SimulatorImu, GravityIsOneGAtRestAlongTheDocumentedAxis) {
  const SimulatedSession bridge = simulate(settings_for(Exercise::bridge, Scenario::good));
  for (std::uint8_t i = 0; i < 3; ++i) {
    const Vec3 a = mean_accel_g(bridge, i, 0.0, 2.9);
    EXPECT_NEAR(std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z), 1.0, 0.005) << int(i);
  }
  // Supine: the sacrum's anterior axis (x) points up.
  const Vec3 sacrum = mean_accel_g(bridge, 0, 0.0, 2.9);
  EXPECT_NEAR(sacrum.x, 1.0, 0.005);
  EXPECT_NEAR(sacrum.y, 0.0, 0.005);
  // Hook-lying thighs at 45 deg: gravity splits between anterior (+x) and superior (-y, the hip is lower).
  const Vec3 thigh = mean_accel_g(bridge, 1, 0.0, 2.9);
  EXPECT_NEAR(thigh.x, std::cos(45.0 / kRadToDeg), 0.005);
  EXPECT_NEAR(thigh.y, -std::sin(45.0 / kRadToDeg), 0.005);

  // Side-lying on the right side: the right axis (z) points down.
  const SimulatedSession clam = simulate(settings_for(Exercise::clamshell, Scenario::good));
  const Vec3 clam_sacrum = mean_accel_g(clam, 0, 0.0, 2.9);
  EXPECT_NEAR(clam_sacrum.z, -1.0, 0.005);
  for (std::uint8_t i = 0; i < 3; ++i) {
    const Vec3 a = mean_accel_g(clam, i, 0.0, 2.9);
    EXPECT_NEAR(std::sqrt(a.x * a.x + a.y * a.y + a.z * a.z), 1.0, 0.005) << int(i);
  }
}

// Integrates (gyro - truth bias) about the segment's rotation axis and compares with the truth angle
// change from the start, at every sample.
void expect_gyro_integral_matches(const SimulatedSession& session, std::uint8_t sensor,
                                  const std::string& truth_name) {
  const auto gyro = session.imu_gyro(sensor);
  const ImuInfo scale;
  const double dt = 1.0 / session.settings.imu_rate_hz;
  const auto& axis = session.truth.rotation_axis_sensor[sensor];
  const auto& bias = session.truth.gyro_bias_dps[sensor];
  const auto& truth = angle(session, truth_name);
  double integral = 0.0;
  double worst = 0.0;
  for (std::size_t n = 1; n < truth.size(); ++n) {
    // Trapezoid between samples n-1 and n.
    double rate_prev = 0.0;
    double rate_here = 0.0;
    for (int k = 0; k < 3; ++k) {
      rate_prev += (gyro[3 * (n - 1) + k] * scale.gyro_dps_per_count - bias[k]) * axis[k];
      rate_here += (gyro[3 * n + k] * scale.gyro_dps_per_count - bias[k]) * axis[k];
    }
    integral += 0.5 * (rate_prev + rate_here) * dt;
    worst = std::max(worst, std::abs(integral - (truth[n] - truth[0])));
  }
  EXPECT_LT(worst, 1.0) << truth_name;
  double range = 0.0;
  for (double v : truth) range = std::max(range, std::abs(v - truth[0]));
  EXPECT_GT(range, 10.0) << truth_name << " must actually move";
}

TEST(SimulatorImu, IntegratedGyroReproducesTheTruthAngles) {
  const SimulatedSession bridge = simulate(settings_for(Exercise::bridge, Scenario::good));
  expect_gyro_integral_matches(bridge, 0, "pelvic_tilt_deg");
  expect_gyro_integral_matches(bridge, 1, "thigh_inclination_left_deg");
  expect_gyro_integral_matches(bridge, 2, "thigh_inclination_right_deg");
  const SimulatedSession clam = simulate(settings_for(Exercise::clamshell, Scenario::pelvic_roll));
  expect_gyro_integral_matches(clam, 0, "pelvic_roll_deg");
  expect_gyro_integral_matches(clam, 1, "thigh_opening_left_deg");
}

TEST(SimulatorImu, GyroBiasIsConstantAndWithinTheSetting) {
  SimulatorSettings s = settings_for(Exercise::bridge, Scenario::good);
  s.gyro_bias_dps = 2.0;
  const SimulatedSession session = simulate(s);
  const ImuInfo scale;
  for (std::uint8_t i = 0; i < 3; ++i) {
    const auto gyro = session.imu_gyro(i);
    for (int k = 0; k < 3; ++k) {
      double mean = 0.0;
      const std::size_t n_still = 580;  // 2.9 s at 200 Hz, before anything moves
      for (std::size_t n = 0; n < n_still; ++n) mean += gyro[3 * n + k] * scale.gyro_dps_per_count;
      mean /= static_cast<double>(n_still);
      EXPECT_NEAR(mean, session.truth.gyro_bias_dps[i][k], 0.02);
      EXPECT_LE(std::abs(session.truth.gyro_bias_dps[i][k]), 2.0);
    }
  }
}

TEST(SimulatorImu, AccelerometerTiltDuringTheHoldMatchesTheTruth) {
  const SimulatedSession bridge = simulate(settings_for(Exercise::bridge, Scenario::good));
  const double rate = bridge.settings.imu_rate_hz;
  for (const RepPlan& rep : bridge.truth.schedule.reps) {
    const double mid = 0.5 * (rep.concentric_end_s + rep.hold_end_s);
    const auto n = static_cast<std::size_t>(mid * rate);
    // Rotation about the sensor z axis by theta from the supine pose: gravity reads (cos, -sin, 0).
    const Vec3 pelvis = mean_accel_g(bridge, 0, mid - 0.1, mid + 0.1);
    EXPECT_NEAR(std::atan2(-pelvis.y, pelvis.x) * kRadToDeg, angle(bridge, "pelvic_tilt_deg")[n], 1.0);
    const Vec3 thigh = mean_accel_g(bridge, 1, mid - 0.1, mid + 0.1);
    EXPECT_NEAR(std::atan2(-thigh.y, thigh.x) * kRadToDeg, angle(bridge, "thigh_inclination_left_deg")[n],
                1.0);
    // Top of a good bridge: hip close to neutral (extension ~0 deg).
    EXPECT_NEAR(angle(bridge, "hip_extension_left_deg")[n], 0.0, 6.0);
  }
  EXPECT_NEAR(angle(bridge, "hip_extension_left_deg")[0], -45.0, 1e-9);  // hook-lying start

  const SimulatedSession clam = simulate(settings_for(Exercise::clamshell, Scenario::pelvic_roll));
  for (const RepPlan& rep : clam.truth.schedule.reps) {
    const double mid = 0.5 * (rep.concentric_end_s + rep.hold_end_s);
    const auto n = static_cast<std::size_t>(mid * rate);
    // Top thigh flexed 45 deg, rotated by alpha about the long axis: gravity reads
    // (sin a / sqrt2, -sin a / sqrt2, -cos a).
    const Vec3 thigh = mean_accel_g(clam, 1, mid - 0.1, mid + 0.1);
    EXPECT_NEAR(std::atan2(std::hypot(thigh.x, thigh.y), -thigh.z) * kRadToDeg,
                angle(clam, "thigh_opening_left_deg")[n], 1.0);
    EXPECT_GT(angle(clam, "pelvic_roll_deg")[n], 10.0);  // the pelvic-roll scenario's compensation
  }
}

TEST(SimulatorImu, MovingSensorsFeelLinearAcceleration) {
  // Net specific force deviates from 1 g while the hips accelerate, but stays plausible (< 0.2 g).
  const SimulatedSession bridge = simulate(settings_for(Exercise::bridge, Scenario::good));
  const auto accel = bridge.imu_accel(0);
  const ImuInfo scale;
  double worst = 0.0;
  for (std::size_t n = 0; n < accel.size() / 3; ++n) {
    const double x = accel[3 * n] * scale.accel_g_per_count;
    const double y = accel[3 * n + 1] * scale.accel_g_per_count;
    const double z = accel[3 * n + 2] * scale.accel_g_per_count;
    worst = std::max(worst, std::abs(std::sqrt(x * x + y * y + z * z) - 1.0));
  }
  EXPECT_GT(worst, 0.01);
  EXPECT_LT(worst, 0.2);
  EXPECT_EQ(bridge.truth.imu_clipped_samples, 0U);
}

TEST(SimulatorImu, PartialRepsReachLessThanSixtyPercentOfTheRange) {
  SimulatorSettings s = settings_for(Exercise::bridge, Scenario::partial_reps);
  s.reps = 9;
  const SimulatedSession session = simulate(s);
  const auto& hip = angle(session, "hip_extension_left_deg");
  const double rate = s.imu_rate_hz;
  double full_rom = 0.0;
  for (const RepPlan& rep : session.truth.schedule.reps) {
    double peak = -1e9;
    for (auto n = static_cast<std::size_t>(rep.start_s * rate);
         n < static_cast<std::size_t>(rep.end_s * rate); ++n) {
      peak = std::max(peak, hip[n]);
    }
    const double rom = peak - hip[static_cast<std::size_t>(rep.start_s * rate)];
    EXPECT_EQ(rep.partial, (rep.index + 1) % 3 == 0);
    if (!rep.partial) full_rom = std::max(full_rom, rom);
  }
  for (const RepPlan& rep : session.truth.schedule.reps) {
    if (!rep.partial) continue;
    double peak = -1e9;
    for (auto n = static_cast<std::size_t>(rep.start_s * rate);
         n < static_cast<std::size_t>(rep.end_s * rate); ++n) {
      peak = std::max(peak, hip[n]);
    }
    EXPECT_LT(peak - hip[static_cast<std::size_t>(rep.start_s * rate)], 0.6 * full_rom);
  }
}

}  // namespace
}  // namespace glutescope::sim
