#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"
#include "synthetic_imu.hpp"

namespace glutescope::motion {
namespace {

using testing::anatomical_to_earth;
using testing::ImuNoise;
using testing::rep_profile;
using testing::rot_x;
using testing::rot_y;
using testing::rot_z;
using testing::synthesize;

constexpr double kRateHz = 100.0;

TEST(AngleFormulas, HandDerivedValues) {
  EXPECT_NEAR(sagittal_inclination_deg({0, 1, 0}), 0.0, 1e-12);   // standing
  EXPECT_NEAR(sagittal_inclination_deg({1, 0, 0}), 90.0, 1e-12);  // supine: anterior axis up
  EXPECT_NEAR(sagittal_inclination_deg({std::sin(0.5), std::cos(0.5), 0}), 0.5 * 180.0 / std::numbers::pi,
              1e-9);
  EXPECT_NEAR(supine_roll_deg({1, 0, 1}), 45.0, 1e-12);  // right side up
  EXPECT_NEAR(side_lying_opening_deg({0, 0, 1}, Side::right), 0.0, 1e-12);
  EXPECT_NEAR(side_lying_opening_deg({1, 0, 1}, Side::right), 45.0, 1e-12);
  EXPECT_NEAR(side_lying_opening_deg({1, 0, -1}, Side::left), 45.0, 1e-12);
  // Simulator's clamshell (lying on the right side, left hip flexed 45 deg about the segment z axis, thigh
  // turned by 30 deg about the body's long axis): hand-derived up = (sin45 sin30, -sin45 sin30, -cos30).
  const double t30 = 30.0 * std::numbers::pi / 180.0, s45 = std::sqrt(0.5);
  EXPECT_NEAR(signed_inclination_change_deg({s45 * std::sin(t30), -s45 * std::sin(t30), -std::cos(t30)},
                                            {0.0, 0.0, -1.0}),
              30.0, 1e-9);
  EXPECT_NEAR(signed_inclination_change_deg({0.0, 0.0, -1.0}, {0.5, 0.0, -std::sqrt(0.75)}), -30.0, 1e-9);
  EXPECT_NEAR(side_lying_opening_deg({-0.5, 0.0, std::sqrt(0.75)}, Side::right), -30.0, 1e-9);
  EXPECT_NEAR(wrap_deg(190.0), -170.0, 1e-12);
  EXPECT_NEAR(wrap_deg(-180.0), 180.0, 1e-12);
}

struct RmsAccumulator {
  double sum = 0.0;
  std::size_t n = 0;
  void add(double err) {
    sum += err * err;
    ++n;
  }
  [[nodiscard]] double rms() const { return n ? std::sqrt(sum / static_cast<double>(n)) : NAN; }
};

constexpr double kStillS = 15.0;
constexpr double kCalibrateFromS = 12.0;
constexpr double kDurationS = 45.0;

// s(t): five bridge/clamshell repetitions with different tempo after the still period.
double set_profile(double t) {
  double s = 0.0;
  const double starts[] = {kStillS, kStillS + 6.0, kStillS + 12.0, kStillS + 18.0, kStillS + 24.0};
  const double rises[] = {2.0, 1.0, 1.5, 0.8, 2.5};
  for (int i = 0; i < 5; ++i) s += rep_profile(t, starts[i], rises[i], 1.0, rises[i]);
  return s;
}

struct AngleErrors {
  double primary_rms;    // bridge: hip extension (right); clamshell: thigh opening
  double secondary_rms;  // pelvic tilt (bridge) / pelvic roll (clamshell)
  double tertiary_rms;   // bridge: pelvic roll; clamshell: unused
};

AngleErrors run_set(Exercise exercise, Side upper_side, bool noisy) {
  const Eigen::Matrix3d earth = rot_z(37.0) * anatomical_to_earth();  // arbitrary heading
  std::function<Eigen::Matrix3d(double)> pelvis_rot, thigh_rot;
  Eigen::Vector3d pelvis_lever, thigh_lever;
  // Truth of the relative angles at time t.
  std::function<double(double)> primary_truth, secondary_truth, tertiary_truth;
  if (exercise == Exercise::bridge) {
    // Supine hook-lying: pelvis 90 deg, thigh 135 deg (hip 45 deg flexed). The hips lift: pelvis +25 deg
    // (posterior), thigh -15 deg, so hip extension rises 40 deg; the pelvis also rolls 4 deg (right up).
    pelvis_rot = [=](double t) {
      return Eigen::Matrix3d(earth * rot_z(90.0 + 25.0 * set_profile(t)) * rot_y(4.0 * set_profile(t)));
    };
    thigh_rot = [=](double t) { return Eigen::Matrix3d(earth * rot_z(135.0 - 15.0 * set_profile(t))); };
    pelvis_lever = Eigen::Vector3d(-0.1, -0.5, 0.0);  // sacrum, pivoting about the shoulders
    thigh_lever = Eigen::Vector3d(0.06, 0.12, 0.0);   // lateral distal thigh, pivoting about the knee
    primary_truth = [](double t) { return 40.0 * set_profile(t); };
    secondary_truth = [](double t) { return 25.0 * set_profile(t); };
    tertiary_truth = [](double t) { return 4.0 * set_profile(t); };
  } else {
    // Side-lying on the lower side, hips 45 deg flexed; the upper thigh rotates 35 deg about its long axis
    // and the pelvis rolls back 6 deg.
    const double side_sign = upper_side == Side::right ? 1.0 : -1.0;
    const Eigen::Matrix3d lying = earth * rot_x(-90.0 * side_sign);
    pelvis_rot = [=](double t) { return Eigen::Matrix3d(lying * rot_y(-side_sign * 6.0 * set_profile(t))); };
    thigh_rot = [=](double t) {
      return Eigen::Matrix3d(lying * rot_z(45.0) * rot_y(-side_sign * 35.0 * set_profile(t)));
    };
    pelvis_lever = Eigen::Vector3d(-0.1, 0.0, 0.15 * side_sign);
    thigh_lever = Eigen::Vector3d(0.0, -0.3, 0.07 * side_sign);
    primary_truth = [](double t) { return 35.0 * set_profile(t); };
    secondary_truth = [](double t) { return 6.0 * set_profile(t); };
    tertiary_truth = [](double) { return 0.0; };
  }
  ImuNoise pelvis_noise, thigh_noise;
  if (noisy) {
    pelvis_noise.gyro_bias_dps = Eigen::Vector3d(2.0, -1.0, 1.5);
    thigh_noise.gyro_bias_dps = Eigen::Vector3d(-1.5, 2.0, -2.0);
    for (ImuNoise* n : {&pelvis_noise, &thigh_noise}) {
      n->gyro_noise_dps = 0.5;
      n->accel_noise_g = 0.01;
    }
    thigh_noise.seed = 7;
  }
  const auto pelvis = synthesize(pelvis_rot, kDurationS, kRateHz, pelvis_noise, pelvis_lever);
  const auto thigh = synthesize(thigh_rot, kDurationS, kRateHz, thigh_noise, thigh_lever);

  OrientationFilterSettings fs = kDefaultOrientationFilterSettings;
  fs.sample_rate_hz = kRateHz;
  OrientationFilter pelvis_filter(fs), thigh_filter(fs);
  AngleSettings as;
  as.exercise = exercise;
  as.upper_side = upper_side;
  AngleCalculator calc(as);
  StillPeriodAverage still;
  const BodySegment thigh_segment =
      upper_side == Side::left ? BodySegment::thigh_left : BodySegment::thigh_right;
  const std::size_t side_index = upper_side == Side::left ? JointAngles::kLeft : JointAngles::kRight;
  RmsAccumulator primary, secondary, tertiary;
  const double dt = 1.0 / kRateHz;
  for (std::size_t k = 1; k < pelvis.size(); ++k) {
    pelvis_filter.update(pelvis[k].gyro_dps, pelvis[k].accel_g, dt);
    thigh_filter.update(thigh[k].gyro_dps, thigh[k].accel_g, dt);
    SegmentGravity g;
    g.set(BodySegment::pelvis, pelvis_filter.gravity());
    g.set(thigh_segment, thigh_filter.gravity());
    const double t = pelvis[k].t_s;
    if (t >= kCalibrateFromS && t < kStillS) {
      still.add(g);
      continue;
    }
    if (t < kStillS) continue;
    if (!calc.calibrated()) calc.calibrate(still.mean());
    const JointAngles a = calc.compute(g);
    if (exercise == Exercise::bridge) {
      primary.add(a.hip_extension_rel_deg[side_index] - primary_truth(t));
      secondary.add(a.pelvic_tilt_rel_deg - secondary_truth(t));
      tertiary.add(a.pelvic_roll_rel_deg - tertiary_truth(t));
      EXPECT_EQ(a.driving_deg, a.hip_extension_rel_deg[side_index]);
    } else {
      primary.add(a.thigh_opening_rel_deg[side_index] - primary_truth(t));
      secondary.add(a.pelvic_roll_rel_deg - secondary_truth(t));
      EXPECT_EQ(a.driving_deg, a.thigh_opening_rel_deg[side_index]);
      EXPECT_TRUE(std::isnan(a.pelvic_tilt_deg)) << "sagittal tilt is not observable side-lying";
    }
  }
  return {primary.rms(), secondary.rms(), tertiary.rms()};
}

TEST(JointAngles, BridgeCleanWithinTwoDegrees) {
  const AngleErrors e = run_set(Exercise::bridge, Side::right, false);
  std::printf("bridge clean RMSE: hip extension %.3f, pelvic tilt %.3f, pelvic roll %.3f deg\n",
              e.primary_rms, e.secondary_rms, e.tertiary_rms);
  EXPECT_LE(e.primary_rms, 2.0);
  EXPECT_LE(e.secondary_rms, 2.0);
  EXPECT_LE(e.tertiary_rms, 2.0);
}

TEST(JointAngles, BridgeWithNoiseAndGyroBiasWithinFiveDegrees) {
  const AngleErrors e = run_set(Exercise::bridge, Side::right, true);
  std::printf("bridge noisy RMSE: hip extension %.3f, pelvic tilt %.3f, pelvic roll %.3f deg\n",
              e.primary_rms, e.secondary_rms, e.tertiary_rms);
  EXPECT_LE(e.primary_rms, 5.0);
  EXPECT_LE(e.secondary_rms, 5.0);
  EXPECT_LE(e.tertiary_rms, 5.0);
}

TEST(JointAngles, ClamshellCleanWithinTwoDegreesOnEitherSide) {
  for (Side side : {Side::right, Side::left}) {
    const AngleErrors e = run_set(Exercise::clamshell, side, false);
    std::printf("clamshell (%s up) clean RMSE: thigh opening %.3f, pelvic roll %.3f deg\n",
                std::string(to_string(side)).c_str(), e.primary_rms, e.secondary_rms);
    EXPECT_LE(e.primary_rms, 2.0);
    EXPECT_LE(e.secondary_rms, 2.0);
  }
}

TEST(JointAngles, ClamshellWithNoiseAndGyroBiasWithinFiveDegrees) {
  const AngleErrors e = run_set(Exercise::clamshell, Side::right, true);
  std::printf("clamshell noisy RMSE: thigh opening %.3f, pelvic roll %.3f deg\n", e.primary_rms,
              e.secondary_rms);
  EXPECT_LE(e.primary_rms, 5.0);
  EXPECT_LE(e.secondary_rms, 5.0);
}

TEST(JointAngles, AbsoluteBridgeAnglesAndMountingRotation) {
  // Sensor mounted with its axes permuted (sensor x = segment y, sensor y = segment -x, z = z): the
  // sensor_to_segment rotation undoes it.
  Eigen::Matrix3d mount;  // segment vector = mount * sensor vector
  mount << 0, -1, 0, 1, 0, 0, 0, 0, 1;
  AngleSettings as;
  as.sensor_to_segment[static_cast<std::size_t>(BodySegment::thigh_right)] = mount;
  AngleCalculator calc(as);
  const Eigen::Matrix3d earth = anatomical_to_earth();
  const Eigen::Vector3d pelvis_up = (earth * rot_z(100.0)).transpose() * Eigen::Vector3d::UnitZ();
  const Eigen::Vector3d thigh_up_segment = (earth * rot_z(130.0)).transpose() * Eigen::Vector3d::UnitZ();
  SegmentGravity g;
  g.set(BodySegment::pelvis, pelvis_up);
  g.set(BodySegment::thigh_right, mount.transpose() * thigh_up_segment);
  const JointAngles a = calc.compute(g);
  EXPECT_NEAR(a.pelvic_tilt_deg, 100.0, 1e-9);
  EXPECT_NEAR(a.thigh_inclination_deg[JointAngles::kRight], 130.0, 1e-9);
  EXPECT_NEAR(a.hip_extension_deg[JointAngles::kRight], -30.0, 1e-9);  // 30 deg flexion
  EXPECT_TRUE(std::isnan(a.hip_extension_deg[JointAngles::kLeft]));
  EXPECT_EQ(a.driving_deg, a.hip_extension_rel_deg[JointAngles::kRight]);
  // Pelvis only: the driving angle falls back to the pelvic tilt.
  SegmentGravity pelvis_only;
  pelvis_only.set(BodySegment::pelvis, pelvis_up);
  calc.calibrate(pelvis_only);
  const JointAngles p = calc.compute(pelvis_only);
  EXPECT_NEAR(p.pelvic_tilt_rel_deg, 0.0, 1e-9);
  EXPECT_EQ(p.driving_deg, p.pelvic_tilt_rel_deg);
}

TEST(JointAngles, BadSettingsAndCalibrationAreRejected) {
  AngleSettings as;
  as.exercise = Exercise::mvc;
  EXPECT_THROW({ AngleCalculator c(as); }, std::invalid_argument);
  as.exercise = Exercise::clamshell;
  as.upper_side = Side::midline;
  EXPECT_THROW({ AngleCalculator c(as); }, std::invalid_argument);
  as.upper_side = Side::right;
  as.sensor_to_segment[0] = 2.0 * Eigen::Matrix3d::Identity();
  EXPECT_THROW({ AngleCalculator c(as); }, std::invalid_argument);
  AngleCalculator ok;
  SegmentGravity zero;
  zero.set(BodySegment::pelvis, Eigen::Vector3d::Zero());
  EXPECT_THROW(ok.calibrate(zero), std::invalid_argument);
}

}  // namespace
}  // namespace glutescope::motion
