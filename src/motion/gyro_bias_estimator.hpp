// Gyroscope bias (offset) estimation while the sensor is at rest.
//
// Algorithm as documented for the x-io Fusion library's bias/offset stage (README "Gyroscope offset
// correction"; Madgwick 2014 PhD thesis, ch. 7): the sensor counts as stationary when every axis of the
// bias-corrected angular rate stays below a threshold (3 deg/s) for a period (3 s); while stationary the
// offset follows the corrected rate through a first-order high-pass update with a 0.02 Hz corner
// (time constant 1 / (2 pi 0.02 Hz) ~ 8 s). Clean-room implementation from that description.
//
// Threading: one instance per IMU, used from one thread. update() is noexcept and allocation-free.
#pragma once

#include <Eigen/Core>

namespace glutescope::motion {

struct GyroBiasSettings {
  double stationary_threshold_dps = 3.0;  // |corrected rate| below this on all axes counts as still (deg/s)
  double stationary_period_s = 3.0;       // still for this long before the offset adapts (s)
  double cutoff_hz = 0.02;                // corner frequency of the offset update (Hz)
};

// Fusion's documented values (docs/MOTION.md, table "Settings").
inline constexpr GyroBiasSettings kDefaultGyroBiasSettings{};

class GyroBiasEstimator {
 public:
  // Throws std::invalid_argument for non-positive or non-finite settings.
  explicit GyroBiasEstimator(const GyroBiasSettings& settings = kDefaultGyroBiasSettings);

  // Feed one raw gyroscope sample (deg/s) taken dt_s after the previous one; returns the
  // bias-corrected rate (deg/s). Non-finite or non-positive dt_s leaves the estimate unchanged.
  Eigen::Vector3d update(const Eigen::Vector3d& gyro_dps, double dt_s) noexcept;

  [[nodiscard]] const Eigen::Vector3d& bias_dps() const noexcept { return bias_dps_; }
  // True once the sensor has been still for stationary_period_s and the offset is adapting.
  [[nodiscard]] bool adapting() const noexcept { return still_for_s_ >= settings_.stationary_period_s; }
  // Restore a bias saved from an earlier session (deg/s).
  void set_bias_dps(const Eigen::Vector3d& bias_dps) noexcept { bias_dps_ = bias_dps; }
  void reset() noexcept;

 private:
  GyroBiasSettings settings_;
  Eigen::Vector3d bias_dps_ = Eigen::Vector3d::Zero();
  double still_for_s_ = 0.0;
};

}  // namespace glutescope::motion
