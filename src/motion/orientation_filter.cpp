#include "motion/orientation_filter.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

namespace glutescope::motion {

namespace {

constexpr double kDegToRad = std::numbers::pi / 180.0;
constexpr double kRadToDeg = 180.0 / std::numbers::pi;
// Fusion restarts when a gyroscope axis exceeds 98 % of the range (the rate may be clipped beyond it).
constexpr double kOverrangeFraction = 0.98;
// Recovery trigger weights: -9 per accepted and +1 per rejected sample, so the counter grows only while more
// than 90 % of the samples are rejected (Fusion documentation).
constexpr int kAcceptedDecrement = 9;
constexpr int kRejectedIncrement = 1;
// Longest gap bridged by integration; a longer dt is a stream gap, not a sample period (s).
constexpr double kMaxStepS = 1.0;

void require(bool ok, const char* field, double value, const char* rule) {
  if (!ok) {
    throw std::invalid_argument(std::string("orientation filter setting ") + field + " = " +
                                std::to_string(value) + ": " + rule);
  }
}

}  // namespace

OrientationFilter::OrientationFilter(const OrientationFilterSettings& settings)
    : settings_(settings), bias_(settings.bias) {
  const auto& s = settings;
  require(std::isfinite(s.gain) && s.gain >= 0.0, "gain", s.gain, "must be >= 0");
  require(std::isfinite(s.gyroscope_range_dps) && s.gyroscope_range_dps > 0.0, "gyroscope_range_dps",
          s.gyroscope_range_dps, "must be > 0 (datasheet full scale in deg/s)");
  require(std::isfinite(s.acceleration_rejection_deg) && s.acceleration_rejection_deg >= 0.0 &&
              s.acceleration_rejection_deg <= 180.0,
          "acceleration_rejection_deg", s.acceleration_rejection_deg, "must be in [0, 180] (0 disables)");
  require(std::isfinite(s.rejection_timeout_s) && s.rejection_timeout_s >= 0.0, "rejection_timeout_s",
          s.rejection_timeout_s, "must be >= 0 (0 disables recovery)");
  require(std::isfinite(s.sample_rate_hz) && s.sample_rate_hz > 0.0, "sample_rate_hz", s.sample_rate_hz,
          "must be > 0");
  require(std::isfinite(s.startup_gain) && s.startup_gain >= s.gain, "startup_gain", s.startup_gain,
          "must be >= gain");
  require(std::isfinite(s.startup_period_s) && s.startup_period_s >= 0.0, "startup_period_s",
          s.startup_period_s, "must be >= 0");
  const double limit = std::round(s.rejection_timeout_s * s.sample_rate_hz);
  require(limit < 1e9, "rejection_timeout_s", s.rejection_timeout_s, "times sample_rate_hz is too large");
  recovery_limit_ = static_cast<int>(limit);
  ramp_step_per_s_ = s.startup_period_s > 0.0 ? (s.startup_gain - s.gain) / s.startup_period_s : 0.0;
  restart_ramp();
}

void OrientationFilter::restart_ramp() noexcept {
  flags_.startup = settings_.startup_period_s > 0.0;
  ramped_gain_ = flags_.startup ? settings_.startup_gain : settings_.gain;
  ramp_elapsed_s_ = 0.0;
  flags_.recovery_trigger = 0;
  flags_.acceleration_recovery = false;
  flags_.accelerometer_ignored = false;
}

void OrientationFilter::reset() noexcept {
  q_ = Eigen::Quaterniond::Identity();
  initialised_ = false;
  restart_ramp();
}

Eigen::Vector3d OrientationFilter::gravity() const noexcept {
  return q_.conjugate() * Eigen::Vector3d::UnitZ();
}

void OrientationFilter::update(const Eigen::Vector3d& gyro_dps, const Eigen::Vector3d& accel_g,
                               double dt_s) noexcept {
  if (!(std::isfinite(dt_s) && dt_s > 0.0 && dt_s <= kMaxStepS) || !gyro_dps.allFinite() ||
      !accel_g.allFinite()) {
    return;
  }
  const double accel_norm = accel_g.norm();
  if (!initialised_) {
    initialised_ = true;
    if (settings_.align_to_first_accelerometer_sample && accel_norm > 0.0) {
      // This sample defines the state at its own time; its gyroscope rate (the interval before it) is
      // already contained in the measured inclination, so it is not integrated.
      q_ = Eigen::Quaterniond::FromTwoVectors(accel_g / accel_norm, Eigen::Vector3d::UnitZ());
      return;
    }
  }

  // Overrange: the measured rate may be clipped, so the integrated orientation is suspect: restart the ramp.
  if (gyro_dps.cwiseAbs().maxCoeff() > kOverrangeFraction * settings_.gyroscope_range_dps) restart_ramp();

  Eigen::Vector3d rate_dps = gyro_dps;
  if (settings_.estimate_gyroscope_bias) rate_dps = bias_.update(gyro_dps, dt_s);
  flags_.bias_adapting = settings_.estimate_gyroscope_bias && bias_.adapting();

  double gain = settings_.gain;
  if (flags_.startup) {
    ramp_elapsed_s_ += dt_s;
    ramped_gain_ = settings_.startup_gain - ramp_step_per_s_ * ramp_elapsed_s_;
    // The tolerance absorbs the rounding of summed sample periods (300 x 0.01 s must end a 3 s ramp).
    if (ramped_gain_ <= settings_.gain || ramp_elapsed_s_ >= settings_.startup_period_s - 1e-9) {
      ramped_gain_ = settings_.gain;
      flags_.startup = false;
    }
    gain = ramped_gain_;
  }

  // Feedback error (rad): measured x estimated gravity direction. Rotating the estimate about this axis
  // moves the estimated direction towards the measured one (Mahony/Madgwick-2014 cross-product error).
  Eigen::Vector3d feedback = Eigen::Vector3d::Zero();
  flags_.accelerometer_ignored = false;
  if (accel_norm > 0.0) {
    const Eigen::Vector3d measured = accel_g / accel_norm;
    const Eigen::Vector3d estimated = gravity();
    const Eigen::Vector3d error = measured.cross(estimated);
    flags_.acceleration_error_deg = std::atan2(error.norm(), measured.dot(estimated)) * kRadToDeg;

    bool use_accelerometer = true;
    if (flags_.startup || settings_.acceleration_rejection_deg <= 0.0) {
      flags_.recovery_trigger = 0;
      flags_.acceleration_recovery = false;
    } else {
      const bool rejected = flags_.acceleration_error_deg > settings_.acceleration_rejection_deg;
      flags_.recovery_trigger += rejected ? kRejectedIncrement : -kAcceptedDecrement;
      flags_.recovery_trigger = std::clamp(flags_.recovery_trigger, 0, recovery_limit_);
      // Recovery: rejected on > 90 % of the samples for the whole timeout, so the estimate (not the
      // accelerometer) is probably wrong. The accelerometer is used until the two agree again.
      flags_.acceleration_recovery = recovery_limit_ > 0 && flags_.recovery_trigger >= recovery_limit_;
      use_accelerometer = !rejected || flags_.acceleration_recovery;
    }
    flags_.accelerometer_ignored = !use_accelerometer;
    if (use_accelerometer) feedback = error;
  }

  const Eigen::Vector3d omega_rad_s = rate_dps * kDegToRad + gain * feedback;
  const double angle_rad = omega_rad_s.norm() * dt_s;
  if (angle_rad > 0.0) {
    q_ = q_ * Eigen::Quaterniond(Eigen::AngleAxisd(angle_rad, omega_rad_s.normalized()));
    q_.normalize();
  }
}

}  // namespace glutescope::motion
