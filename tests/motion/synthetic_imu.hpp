// Test helper: IMU samples generated from a known rotation trajectory (ground truth for the filter and
// angle tests). accel = R^T (z_up + a_linear / g), gyro = body angular velocity + bias + noise.
#pragma once

#include <cmath>
#include <functional>
#include <numbers>
#include <random>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace glutescope::motion::testing {

inline constexpr double kDeg = std::numbers::pi / 180.0;
inline constexpr double kStandardGravity = 9.80665;  // m/s^2

inline Eigen::Matrix3d rot_x(double deg) {
  return Eigen::AngleAxisd(deg * kDeg, Eigen::Vector3d::UnitX()).matrix();
}
inline Eigen::Matrix3d rot_y(double deg) {
  return Eigen::AngleAxisd(deg * kDeg, Eigen::Vector3d::UnitY()).matrix();
}
inline Eigen::Matrix3d rot_z(double deg) {
  return Eigen::AngleAxisd(deg * kDeg, Eigen::Vector3d::UnitZ()).matrix();
}

// Anatomical standing frame (x anterior, y superior, z right) -> Earth frame (z up): x->x, y->z, z->-y.
inline Eigen::Matrix3d anatomical_to_earth() {
  Eigen::Matrix3d m;
  m.col(0) = Eigen::Vector3d::UnitX();
  m.col(1) = Eigen::Vector3d::UnitZ();
  m.col(2) = -Eigen::Vector3d::UnitY();
  return m;
}

struct ImuNoise {
  Eigen::Vector3d gyro_bias_dps = Eigen::Vector3d::Zero();
  double gyro_noise_dps = 0.0;  // white noise standard deviation per axis (deg/s)
  double accel_noise_g = 0.0;   // white noise standard deviation per axis (g)
  unsigned seed = 1;
};

struct ImuSample {
  double t_s = 0.0;
  Eigen::Vector3d gyro_dps = Eigen::Vector3d::Zero();  // mean body rate over the interval ending at t_s
  Eigen::Vector3d accel_g = Eigen::Vector3d::UnitZ();
  Eigen::Vector3d true_up = Eigen::Vector3d::UnitZ();      // R^T z_up, noise-free
  Eigen::Matrix3d rotation = Eigen::Matrix3d::Identity();  // sensor -> Earth
};

// rotation(t): sensor-to-Earth rotation; lever_m: sensor position in the sensor frame relative to a fixed
// pivot at the Earth origin (gives the linear acceleration of the sensor).
inline std::vector<ImuSample> synthesize(const std::function<Eigen::Matrix3d(double)>& rotation,
                                         double duration_s, double rate_hz, const ImuNoise& noise = {},
                                         const Eigen::Vector3d& lever_m = Eigen::Vector3d::Zero()) {
  std::mt19937 rng(noise.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  const auto n = static_cast<std::size_t>(std::llround(duration_s * rate_hz)) + 1;
  const double dt = 1.0 / rate_hz;
  const double h = 1e-3;  // step for the numerical second derivative of the position (s)
  const auto position = [&](double t) -> Eigen::Vector3d { return rotation(t) * lever_m; };
  std::vector<ImuSample> out(n);
  for (std::size_t k = 0; k < n; ++k) {
    const double t = static_cast<double>(k) * dt;
    ImuSample& s = out[k];
    s.t_s = t;
    s.rotation = rotation(t);
    if (k > 0) {
      const Eigen::AngleAxisd step(out[k - 1].rotation.transpose() * s.rotation);
      s.gyro_dps = step.axis() * step.angle() / dt / kDeg;
    }
    const Eigen::Vector3d accel_earth_ms2 = (position(t + h) - 2.0 * position(t) + position(t - h)) / (h * h);
    s.true_up = s.rotation.transpose() * Eigen::Vector3d::UnitZ();
    s.accel_g = s.true_up + s.rotation.transpose() * accel_earth_ms2 / kStandardGravity;
    for (int i = 0; i < 3; ++i) {
      s.gyro_dps[i] += noise.gyro_bias_dps[i] + noise.gyro_noise_dps * gauss(rng);
      s.accel_g[i] += noise.accel_noise_g * gauss(rng);
    }
  }
  return out;
}

// Angle between two directions (deg).
inline double angle_between_deg(const Eigen::Vector3d& a, const Eigen::Vector3d& b) {
  return std::atan2(a.cross(b).norm(), a.dot(b)) / kDeg;
}

// Smooth 0..1 repetition profile: raised-cosine rise, hold, raised-cosine fall, rest.
inline double rep_profile(double t, double start_s, double rise_s, double hold_s, double fall_s) {
  const double u = t - start_s;
  if (u <= 0.0) return 0.0;
  if (u < rise_s) return 0.5 - 0.5 * std::cos(std::numbers::pi * u / rise_s);
  if (u < rise_s + hold_s) return 1.0;
  if (u < rise_s + hold_s + fall_s)
    return 0.5 + 0.5 * std::cos(std::numbers::pi * (u - rise_s - hold_s) / fall_s);
  return 0.0;
}

}  // namespace glutescope::motion::testing
