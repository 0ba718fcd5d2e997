// Yaw-independent segment and joint angles for glute bridges and clamshells.
//
// Every angle is computed from the gravity direction seen by a segment's IMU (OrientationFilter::gravity(),
// or the mean accelerometer reading at rest), so it needs no magnetometer and does not drift with heading:
// bridges and clamshells both rotate the body about horizontal axes (research note imu-and-hdf5.md §1.3).
//
// Segment frame (docs/MOTION.md "Axis conventions"), ISB-like for both sides:
//   x = anterior, y = superior/proximal (pelvis: towards the head; thigh: from knee to hip),
//   z = right (medio-lateral, pointing to the subject's right on both thighs).
// A sensor whose axes differ from its segment's gets a fixed rotation `sensor_to_segment` (segment vector =
// sensor_to_segment * sensor vector). `up` below is the unit vector pointing away from the floor,
// expressed in the segment frame.
//
// Threading: AngleCalculator is plain data after calibrate(); compute() is const, noexcept, allocation-free.
#pragma once

#include <array>
#include <cstddef>

#include <Eigen/Core>

#include "core/montage.hpp"

namespace glutescope::motion {

// Sagittal inclination (deg): rotation of the segment about its medio-lateral (+z, right) axis away from the
// upright-standing pose, atan2(up.x, up.y). 0 = standing upright, +90 = supine (anterior axis up), positive
// towards hip flexion for the thigh and towards posterior tilt for the pelvis. Range (-180, 180].
double sagittal_inclination_deg(const Eigen::Vector3d& up) noexcept;
// Rotation about the segment's superior (+y) axis seen from supine, atan2(up.z, up.x) (deg): 0 = anterior
// axis up, positive = right side rising (right-hand rotation about +y). Bridge pelvic roll.
double supine_roll_deg(const Eigen::Vector3d& up) noexcept;
// Rotation about the segment's long (y) axis seen from side-lying with `upper_side` up,
// atan2(up.x, s * up.z) with s = +1 for the right side up and -1 for the left (deg): 0 = the upper side's
// lateral axis vertical; positive = anterior surface turning up (thigh: external rotation, the knee opens;
// pelvis: rolling back). Clamshell pelvic roll and absolute thigh opening.
double side_lying_opening_deg(const Eigen::Vector3d& up, Side upper_side) noexcept;
// Angle between `up` and `up_neutral` (deg), positive when the anterior (x) component grew. Equals the
// rotation angle about ANY horizontal axis from the neutral posture, so it measures the clamshell opening
// whether the thigh turns about its own long axis or (hip flexed) about the body's long axis.
// Clamshell relative thigh opening (the driving angle).
double signed_inclination_change_deg(const Eigen::Vector3d& up, const Eigen::Vector3d& up_neutral) noexcept;
// Wrap an angle to (-180, 180] (deg).
double wrap_deg(double angle_deg) noexcept;

enum class BodySegment : std::size_t { pelvis = 0, thigh_left = 1, thigh_right = 2 };
inline constexpr std::size_t kBodySegmentCount = 3;

// Gravity ("up") direction per segment, in each SENSOR's frame; `valid` false when the IMU is absent or
// not yet usable.
struct SegmentGravity {
  std::array<Eigen::Vector3d, kBodySegmentCount> up_sensor{Eigen::Vector3d::UnitZ(), Eigen::Vector3d::UnitZ(),
                                                           Eigen::Vector3d::UnitZ()};
  std::array<bool, kBodySegmentCount> valid{false, false, false};

  void set(BodySegment segment, const Eigen::Vector3d& up) noexcept {
    up_sensor[static_cast<std::size_t>(segment)] = up;
    valid[static_cast<std::size_t>(segment)] = true;
  }
};

struct AngleSettings {
  Exercise exercise = Exercise::bridge;
  // Clamshell: the side lying up (the moving leg). Bridge: unused (both thighs are reported).
  Side upper_side = Side::right;
  // Fixed sensor-to-segment rotations (identity: sensor axes already x anterior, y superior, z right).
  std::array<Eigen::Matrix3d, kBodySegmentCount> sensor_to_segment{
      Eigen::Matrix3d::Identity(), Eigen::Matrix3d::Identity(), Eigen::Matrix3d::Identity()};
};

// Angles of one instant (deg). NaN where a needed segment is missing. "_rel" = minus the value in the
// calibrated starting posture (wrapped to (-180, 180]); absolute values are gravity-referenced.
struct JointAngles {
  static constexpr std::size_t kLeft = 0;
  static constexpr std::size_t kRight = 1;

  double pelvic_tilt_deg;  // pelvis sagittal inclination (posterior tilt positive)
  double pelvic_tilt_rel_deg;
  double pelvic_roll_deg;  // bridge: supine_roll (right side up +); clamshell: roll back towards upper side +
  double pelvic_roll_rel_deg;
  std::array<double, 2> thigh_inclination_deg;  // [left, right] sagittal inclination (flexion +)
  std::array<double, 2> thigh_inclination_rel_deg;
  std::array<double, 2> hip_extension_deg;      // -(thigh - pelvis sagittal inclination); 0 = thigh in
                                                // line with the pelvis, + = extension
  std::array<double, 2> hip_extension_rel_deg;  // the bridge's driving angle: rises as the hips lift
  std::array<double, 2> thigh_opening_deg;      // clamshell only: side_lying_opening of the thigh
  std::array<double, 2> thigh_opening_rel_deg;  // signed_inclination_change from the calibrated start
                                                // (not opening - neutral): the clamshell's driving angle
  // Signal for RepSegmenter: bridge = mean hip_extension_rel of the available thighs, else pelvic_tilt_rel;
  // clamshell = thigh_opening_rel of the upper thigh. NaN if none is available.
  double driving_deg;
};

// Accumulates the gravity direction over the initial still period of a set (mean of unit vectors).
class StillPeriodAverage {
 public:
  void add(const SegmentGravity& sample) noexcept;
  [[nodiscard]] std::size_t count(BodySegment segment) const noexcept {
    return counts_[static_cast<std::size_t>(segment)];
  }
  // Mean direction of each segment with at least one sample (normalised); valid = has samples.
  [[nodiscard]] SegmentGravity mean() const noexcept;
  void reset() noexcept;

 private:
  std::array<Eigen::Vector3d, kBodySegmentCount> sums_{Eigen::Vector3d::Zero(), Eigen::Vector3d::Zero(),
                                                       Eigen::Vector3d::Zero()};
  std::array<std::size_t, kBodySegmentCount> counts_{0, 0, 0};
};

class AngleCalculator {
 public:
  // Throws std::invalid_argument for an exercise other than bridge/clamshell, a clamshell upper_side other
  // than left/right, or a sensor_to_segment matrix that is not a rotation.
  explicit AngleCalculator(const AngleSettings& settings = {});

  // Per-set calibration: `neutral` = gravity directions in the starting posture (e.g. StillPeriodAverage
  // over the initial >= 3 s still period). Relative angles are measured from it. Throws
  // std::invalid_argument if a valid vector is not finite or has (near) zero length.
  void calibrate(const SegmentGravity& neutral);
  [[nodiscard]] bool calibrated() const noexcept { return calibrated_; }

  // Angles for one instant. Before calibrate() the "_rel" values equal the absolute ones.
  [[nodiscard]] JointAngles compute(const SegmentGravity& gravity) const noexcept;
  [[nodiscard]] const AngleSettings& settings() const noexcept { return settings_; }

 private:
  JointAngles absolute(const SegmentGravity& gravity) const noexcept;

  AngleSettings settings_;
  JointAngles neutral_{};
  std::array<Eigen::Vector3d, kBodySegmentCount> neutral_up_{};  // segment frame
  bool calibrated_ = false;
};

}  // namespace glutescope::motion
