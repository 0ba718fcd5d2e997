// Six-axis orientation filter (gyroscope + accelerometer, no magnetometer).
//
// The revised AHRS algorithm of Madgwick's PhD thesis (S. Madgwick, "AHRS algorithms and calibration
// solutions to facilitate new applications using low-cost MEMS", Univ. of Bristol, 2014, ch. 7), as
// documented for the x-io Fusion library (github.com/xioTechnologies/Fusion README; issues #133, #171):
//  - the quaternion integrates the gyroscope rate plus gain x feedback error, where the feedback error is
//    the cross product of the measured and the estimated gravity direction (a complementary filter whose
//    corner frequency is set by the gain; not the 2010 gradient-descent step);
//  - start-up: the gain ramps linearly from 10 to the configured gain over 3 s, acceleration rejection off;
//  - acceleration rejection: the accelerometer is ignored when its direction differs from the estimated
//    gravity by more than a threshold; a recovery trigger counter (-9 per accepted, +1 per rejected sample,
//    clamped to [0, rejection_timeout x sample rate]) forces the accelerometer back in when more than 90 %
//    of the samples over the timeout were rejected;
//  - gyroscope overrange (> 98 % of the range) restarts the start-up ramp;
//  - gyroscope bias is estimated at rest (GyroBiasEstimator) on every sample before the AHRS update.
// Clean-room implementation from these descriptions; no code was copied.
//
// Frames: the quaternion rotates sensor-frame vectors into an Earth frame whose z axis points up (away from
// gravity). With no magnetometer the heading (yaw about Earth z) is arbitrary and drifts; use only
// inclination (gravity()) downstream.
//
// Threading: one instance per IMU, used from one thread. update() is noexcept and allocation-free.
#pragma once

#include <Eigen/Core>
#include <Eigen/Geometry>

#include "motion/gyro_bias_estimator.hpp"

namespace glutescope::motion {

struct OrientationFilterSettings {
  double gain = 0.5;                    // feedback gain (1/s on the error angle); Fusion "appropriate for
                                        // most applications"; 0 = gyroscope only
  double gyroscope_range_dps = 2000.0;  // gyroscope full scale from the datasheet (deg/s)
  double acceleration_rejection_deg = 10.0;  // ignore the accelerometer beyond this error (deg); 0 = off
  double rejection_timeout_s = 5.0;          // forced recovery after this long mostly rejected (s); 0 = never
  double sample_rate_hz = 100.0;             // nominal update rate, sizes the recovery counter (Hz)
  double startup_gain = 10.0;                // gain at start-up, ramps down to `gain` (Fusion: 10)
  double startup_period_s = 3.0;             // length of the gain ramp (s) (Fusion: 3)
  bool estimate_gyroscope_bias = true;       // run GyroBiasEstimator before every update
  GyroBiasSettings bias = kDefaultGyroBiasSettings;
  // Not in Fusion: start from the inclination of the first accelerometer sample instead of the identity
  // quaternion. Avoids the (rare) stall of a cross-product feedback when the sensor starts upside down.
  bool align_to_first_accelerometer_sample = true;
};

// Defaults recommended by the Fusion documentation (Examples/C/Advanced) for a 100 Hz IMU; every field is set
// explicitly because Fusion changed its defaults between versions (research note imu-and-hdf5.md, pitfall
// 10).
inline constexpr OrientationFilterSettings kDefaultOrientationFilterSettings{};

// Per-sample state flags (Fusion's log flags, without the magnetometer ones).
struct OrientationFlags {
  bool startup = true;                  // gain ramp running, rejection off
  bool accelerometer_ignored = false;   // this sample's accelerometer was rejected
  bool acceleration_recovery = false;   // rejection suspended by the recovery trigger
  bool bias_adapting = false;           // gyroscope bias estimator is adapting (sensor still)
  double acceleration_error_deg = 0.0;  // angle between measured and estimated gravity (deg)
  int recovery_trigger = 0;             // trigger counter (samples), 0 .. recovery_trigger_limit()
};

class OrientationFilter {
 public:
  // Throws std::invalid_argument with the offending field for out-of-range settings.
  explicit OrientationFilter(const OrientationFilterSettings& settings = kDefaultOrientationFilterSettings);

  // One sample: gyroscope in deg/s, accelerometer in g (any consistent unit works: only its direction is
  // used), dt_s = measured time since the previous sample (use the device clock, not host arrival).
  // Samples with non-finite values or dt_s <= 0 / > 1 s are skipped (the state is kept).
  void update(const Eigen::Vector3d& gyro_dps, const Eigen::Vector3d& accel_g, double dt_s) noexcept;

  // Sensor-to-Earth rotation (Earth z up, heading arbitrary).
  [[nodiscard]] const Eigen::Quaterniond& quaternion() const noexcept { return q_; }
  // Unit vector of the accelerometer's gravity component in the sensor frame: the direction the accelerometer
  // reads at rest (it points up, away from the floor).
  [[nodiscard]] Eigen::Vector3d gravity() const noexcept;
  [[nodiscard]] const OrientationFlags& flags() const noexcept { return flags_; }
  [[nodiscard]] const Eigen::Vector3d& gyroscope_bias_dps() const noexcept { return bias_.bias_dps(); }
  [[nodiscard]] int recovery_trigger_limit() const noexcept { return recovery_limit_; }
  [[nodiscard]] const OrientationFilterSettings& settings() const noexcept { return settings_; }

  // Back to the start-up state (identity orientation, ramp restarts). Keeps the bias estimate.
  void reset() noexcept;

 private:
  void restart_ramp() noexcept;

  OrientationFilterSettings settings_;
  GyroBiasEstimator bias_;
  Eigen::Quaterniond q_ = Eigen::Quaterniond::Identity();
  OrientationFlags flags_;
  double ramped_gain_ = 0.0;
  double ramp_step_per_s_ = 0.0;
  double ramp_elapsed_s_ = 0.0;
  int recovery_limit_ = 0;
  bool initialised_ = false;
};

}  // namespace glutescope::motion
