#include "motion/angles.hpp"

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

#include <Eigen/Geometry>
#include <Eigen/LU>

namespace glutescope::motion {

namespace {

constexpr double kRadToDeg = 180.0 / std::numbers::pi;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

constexpr std::size_t index_of(BodySegment s) noexcept { return static_cast<std::size_t>(s); }

double relative(double value_deg, double neutral_deg) noexcept {
  if (std::isnan(value_deg) || std::isnan(neutral_deg)) return kNaN;
  return wrap_deg(value_deg - neutral_deg);
}

}  // namespace

double signed_inclination_change_deg(const Eigen::Vector3d& up, const Eigen::Vector3d& up_neutral) noexcept {
  // A rotation by theta about any horizontal axis turns the sensor-frame up vector by exactly theta, whatever
  // the starting posture; the sign says whether the anterior (x) component grew.
  const double angle = std::atan2(up.cross(up_neutral).norm(), up.dot(up_neutral)) * kRadToDeg;
  return up.x() >= up_neutral.x() ? angle : -angle;
}

double wrap_deg(double angle_deg) noexcept {
  if (!std::isfinite(angle_deg)) return angle_deg;
  double wrapped = std::fmod(angle_deg, 360.0);
  if (wrapped <= -180.0) wrapped += 360.0;
  if (wrapped > 180.0) wrapped -= 360.0;
  return wrapped;
}

double sagittal_inclination_deg(const Eigen::Vector3d& up) noexcept {
  return std::atan2(up.x(), up.y()) * kRadToDeg;
}

double supine_roll_deg(const Eigen::Vector3d& up) noexcept { return std::atan2(up.z(), up.x()) * kRadToDeg; }

double side_lying_opening_deg(const Eigen::Vector3d& up, Side upper_side) noexcept {
  const double sign = upper_side == Side::left ? -1.0 : 1.0;
  return std::atan2(up.x(), sign * up.z()) * kRadToDeg;
}

void StillPeriodAverage::add(const SegmentGravity& sample) noexcept {
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    const double n = sample.up_sensor[i].norm();
    if (!sample.valid[i] || !(n > 0.0) || !std::isfinite(n)) continue;
    sums_[i] += sample.up_sensor[i] / n;
    ++counts_[i];
  }
}

SegmentGravity StillPeriodAverage::mean() const noexcept {
  SegmentGravity out;
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    const double n = sums_[i].norm();
    out.valid[i] = counts_[i] > 0 && n > 0.0;
    out.up_sensor[i] = out.valid[i] ? Eigen::Vector3d(sums_[i] / n) : Eigen::Vector3d::UnitZ();
  }
  return out;
}

void StillPeriodAverage::reset() noexcept {
  for (auto& s : sums_) s.setZero();
  counts_.fill(0);
}

AngleCalculator::AngleCalculator(const AngleSettings& settings) : settings_(settings) {
  if (settings.exercise != Exercise::bridge && settings.exercise != Exercise::clamshell) {
    throw std::invalid_argument("angles are defined for the bridge and the clamshell only, got exercise '" +
                                std::string(to_string(settings.exercise)) + "'");
  }
  if (settings.exercise == Exercise::clamshell && settings.upper_side != Side::left &&
      settings.upper_side != Side::right) {
    throw std::invalid_argument("clamshell needs upper_side = left or right (the leg that opens), got '" +
                                std::string(to_string(settings.upper_side)) + "'");
  }
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    const Eigen::Matrix3d& m = settings.sensor_to_segment[i];
    const bool rotation = m.allFinite() && (m * m.transpose() - Eigen::Matrix3d::Identity()).norm() < 1e-6 &&
                          std::abs(m.determinant() - 1.0) < 1e-6;
    if (!rotation) {
      throw std::invalid_argument("sensor_to_segment[" + std::to_string(i) +
                                  "] is not a rotation matrix (orthonormal, determinant +1)");
    }
  }
}

void AngleCalculator::calibrate(const SegmentGravity& neutral) {
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    if (!neutral.valid[i]) continue;
    const double n = neutral.up_sensor[i].norm();
    if (!std::isfinite(n) || n < 1e-6) {
      throw std::invalid_argument("calibration gravity direction of segment " + std::to_string(i) +
                                  " is zero or not finite: was the IMU streaming during the still period?");
    }
  }
  neutral_ = absolute(neutral);
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    neutral_up_[i] = (settings_.sensor_to_segment[i] * neutral.up_sensor[i]).normalized();
  }
  calibrated_ = true;
}

JointAngles AngleCalculator::absolute(const SegmentGravity& gravity) const noexcept {
  JointAngles a{};
  std::array<Eigen::Vector3d, kBodySegmentCount> up;
  std::array<bool, kBodySegmentCount> ok{};
  for (std::size_t i = 0; i < kBodySegmentCount; ++i) {
    const Eigen::Vector3d v = settings_.sensor_to_segment[i] * gravity.up_sensor[i];
    const double n = v.norm();
    ok[i] = gravity.valid[i] && std::isfinite(n) && n > 0.0;
    up[i] = ok[i] ? Eigen::Vector3d(v / n) : Eigen::Vector3d::UnitZ();
  }
  const std::size_t pelvis = index_of(BodySegment::pelvis);
  const std::array<std::size_t, 2> thigh{index_of(BodySegment::thigh_left),
                                         index_of(BodySegment::thigh_right)};

  a.pelvic_tilt_deg = a.pelvic_roll_deg = kNaN;
  a.thigh_inclination_deg.fill(kNaN);
  a.hip_extension_deg.fill(kNaN);
  a.thigh_opening_deg.fill(kNaN);
  if (settings_.exercise == Exercise::bridge) {
    // Supine: the sagittal plane is vertical, so sagittal inclinations are observable from gravity.
    if (ok[pelvis]) {
      a.pelvic_tilt_deg = sagittal_inclination_deg(up[pelvis]);
      a.pelvic_roll_deg = supine_roll_deg(up[pelvis]);
    }
    for (std::size_t s = 0; s < 2; ++s) {
      if (!ok[thigh[s]]) continue;
      a.thigh_inclination_deg[s] = sagittal_inclination_deg(up[thigh[s]]);
      if (ok[pelvis]) a.hip_extension_deg[s] = -wrap_deg(a.thigh_inclination_deg[s] - a.pelvic_tilt_deg);
    }
  } else {
    // Side-lying: the sagittal plane is horizontal (tilt and hip flexion are unobservable from gravity);
    // rotations about the long axes are observable. Only the upper thigh opens.
    if (ok[pelvis]) a.pelvic_roll_deg = side_lying_opening_deg(up[pelvis], settings_.upper_side);
    const std::size_t s = settings_.upper_side == Side::left ? JointAngles::kLeft : JointAngles::kRight;
    if (ok[thigh[s]]) a.thigh_opening_deg[s] = side_lying_opening_deg(up[thigh[s]], settings_.upper_side);
  }
  return a;
}

JointAngles AngleCalculator::compute(const SegmentGravity& gravity) const noexcept {
  JointAngles a = absolute(gravity);
  const JointAngles& n = calibrated_ ? neutral_ : a;
  const auto rel = [&](double v, double n0) { return calibrated_ ? relative(v, n0) : v; };
  a.pelvic_tilt_rel_deg = rel(a.pelvic_tilt_deg, n.pelvic_tilt_deg);
  a.pelvic_roll_rel_deg = rel(a.pelvic_roll_deg, n.pelvic_roll_deg);
  for (std::size_t s = 0; s < 2; ++s) {
    a.thigh_inclination_rel_deg[s] = rel(a.thigh_inclination_deg[s], n.thigh_inclination_deg[s]);
    a.hip_extension_rel_deg[s] = rel(a.hip_extension_deg[s], n.hip_extension_deg[s]);
    a.thigh_opening_rel_deg[s] = a.thigh_opening_deg[s];
    const std::size_t seg =
        s == JointAngles::kLeft ? index_of(BodySegment::thigh_left) : index_of(BodySegment::thigh_right);
    if (calibrated_ && !std::isnan(a.thigh_opening_deg[s])) {
      a.thigh_opening_rel_deg[s] =
          std::isnan(n.thigh_opening_deg[s])
              ? kNaN
              : signed_inclination_change_deg(
                    (settings_.sensor_to_segment[seg] * gravity.up_sensor[seg]).normalized(),
                    neutral_up_[seg]);
    }
  }
  a.driving_deg = kNaN;
  if (settings_.exercise == Exercise::bridge) {
    double sum = 0.0;
    int count = 0;
    for (double h : a.hip_extension_rel_deg) {
      if (!std::isnan(h)) {
        sum += h;
        ++count;
      }
    }
    a.driving_deg = count > 0 ? sum / count : a.pelvic_tilt_rel_deg;
  } else {
    a.driving_deg = a.thigh_opening_rel_deg[settings_.upper_side == Side::left ? JointAngles::kLeft
                                                                               : JointAngles::kRight];
  }
  return a;
}

}  // namespace glutescope::motion
