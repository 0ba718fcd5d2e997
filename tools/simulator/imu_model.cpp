#include "simulator/imu_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/device_info.hpp"
#include "simulator/random.hpp"

namespace glutescope::sim {
namespace {

constexpr double kDegToRad = std::numbers::pi / 180.0;

// Body dimensions (m) of an adult of ~1.75 m (segment lengths after Winter's anthropometric proportions,
// rounded): shoulder-to-hip (trunk) 0.50, thigh 0.45, hip joint centres ±0.09 from the midline.
constexpr double kTrunkLength_m = 0.50;
constexpr double kHipHalfWidth_m = 0.09;
constexpr double kThighSensorDistance_m = 0.30;  // hip to the sensor on the lateral distal third
constexpr double kThighSensorLateral_m = 0.07;   // sensor on the lateral skin surface
constexpr double kSacrumPosterior_m = 0.08;      // sensor on the sacrum, posterior to the hip axis
constexpr double kClamshellRollCentreHeight_m = 0.15;
constexpr double kClamshellHipFlexion_deg = 45.0;

Eigen::Matrix3d rotation(const Eigen::Vector3d& axis, double angle_deg) {
  return Eigen::AngleAxisd(angle_deg * kDegToRad, axis).toRotationMatrix();
}

// Segment frames (x anterior, y superior, z right) of a body lying flat, as columns in W.
// Bridge, supine: anterior = up (Z_w), superior = X_w, right = Y_w.
Eigen::Matrix3d supine() {
  Eigen::Matrix3d m;
  m.col(0) = Eigen::Vector3d::UnitZ();
  m.col(1) = Eigen::Vector3d::UnitX();
  m.col(2) = Eigen::Vector3d::UnitY();
  return m;
}
// Clamshell, lying on the right side: anterior = Y_w, superior = X_w, right = down (-Z_w).
Eigen::Matrix3d right_side_lying() {
  Eigen::Matrix3d m;
  m.col(0) = Eigen::Vector3d::UnitY();
  m.col(1) = Eigen::Vector3d::UnitX();
  m.col(2) = -Eigen::Vector3d::UnitZ();
  return m;
}

std::int16_t quantise(double value, double per_count, std::uint64_t& clipped) {
  const double scaled = std::nearbyint(value / per_count);
  constexpr double kMax = std::numeric_limits<std::int16_t>::max();
  constexpr double kMin = std::numeric_limits<std::int16_t>::min();
  if (scaled > kMax || scaled < kMin) ++clipped;
  return static_cast<std::int16_t>(std::clamp(scaled, kMin, kMax));
}

}  // namespace

ExerciseKinematics::ExerciseKinematics(Exercise exercise, const Schedule& schedule)
    : exercise_(exercise), schedule_(schedule) {}

Eigen::Vector3d ExerciseKinematics::rotation_axis_world() const {
  return exercise_ == Exercise::bridge ? Eigen::Vector3d::UnitY() : Eigen::Vector3d::UnitX();
}

std::array<SensorState, 3> ExerciseKinematics::states_from(const PoseSample& pose) const {
  std::array<SensorState, 3> s;
  const Eigen::Vector3d axis = rotation_axis_world();
  const Pose& a = pose.angle_deg;
  const Pose& rate = pose.rate_dps;
  SensorState& sacrum = s[0];
  SensorState& thigh_l = s[1];
  SensorState& thigh_r = s[2];
  if (exercise_ == Exercise::bridge) {
    // Pelvis and thighs rotate about the medio-lateral axis (Y_w). The pelvis pivots about the shoulders
    // (origin): + tilt lifts the hips. Thigh inclination: + = knee above hip (hook-lying start 45 deg).
    const Eigen::Matrix3d base = supine();
    sacrum.world_from_sensor = rotation(axis, a.pelvis_deg) * base;
    thigh_l.world_from_sensor = rotation(axis, a.thigh_left_deg) * base;
    thigh_r.world_from_sensor = rotation(axis, a.thigh_right_deg) * base;
    const Eigen::Vector3d hip_centre =
        kTrunkLength_m * Eigen::Vector3d(-std::cos(a.pelvis_deg * kDegToRad), 0.0, std::sin(a.pelvis_deg * kDegToRad));
    sacrum.position_m = hip_centre + sacrum.world_from_sensor * Eigen::Vector3d(-kSacrumPosterior_m, 0.0, 0.0);
    const Eigen::Vector3d hip_l = hip_centre + sacrum.world_from_sensor * Eigen::Vector3d(0.0, 0.0, -kHipHalfWidth_m);
    const Eigen::Vector3d hip_r = hip_centre + sacrum.world_from_sensor * Eigen::Vector3d(0.0, 0.0, kHipHalfWidth_m);
    thigh_l.position_m =
        hip_l + thigh_l.world_from_sensor * Eigen::Vector3d(0.0, -kThighSensorDistance_m, -kThighSensorLateral_m);
    thigh_r.position_m =
        hip_r + thigh_r.world_from_sensor * Eigen::Vector3d(0.0, -kThighSensorDistance_m, kThighSensorLateral_m);
  } else {
    // Side-lying on the right side, hips flexed 45 deg (about the segment z axis = -Z_w). The pelvis
    // rolls and the top thigh opens about the long axis X_w (+ = knee up / pelvis rolling back).
    const Eigen::Matrix3d base = right_side_lying();
    const Eigen::Matrix3d flexed = rotation(-Eigen::Vector3d::UnitZ(), kClamshellHipFlexion_deg) * base;
    sacrum.world_from_sensor = rotation(axis, a.pelvis_deg) * base;
    thigh_l.world_from_sensor = rotation(axis, a.thigh_left_deg) * flexed;
    thigh_r.world_from_sensor = rotation(axis, a.thigh_right_deg) * flexed;
    const Eigen::Vector3d centre(0.0, 0.0, kClamshellRollCentreHeight_m);
    sacrum.position_m = centre + sacrum.world_from_sensor * Eigen::Vector3d(-kSacrumPosterior_m, 0.0, 0.0);
    const Eigen::Vector3d hip_l = centre + sacrum.world_from_sensor * Eigen::Vector3d(0.0, 0.0, -kHipHalfWidth_m);
    const Eigen::Vector3d hip_r = centre + sacrum.world_from_sensor * Eigen::Vector3d(0.0, 0.0, kHipHalfWidth_m);
    thigh_l.position_m =
        hip_l + thigh_l.world_from_sensor * Eigen::Vector3d(0.0, -kThighSensorDistance_m, -kThighSensorLateral_m);
    thigh_r.position_m =
        hip_r + thigh_r.world_from_sensor * Eigen::Vector3d(0.0, -kThighSensorDistance_m, kThighSensorLateral_m);
  }
  // Each segment rotates about one fixed world axis, so its angular velocity is angle rate x axis.
  sacrum.angular_velocity_world_dps = rate.pelvis_deg * axis;
  thigh_l.angular_velocity_world_dps = rate.thigh_left_deg * axis;
  thigh_r.angular_velocity_world_dps = rate.thigh_right_deg * axis;
  return s;
}

std::array<SensorState, 3> ExerciseKinematics::states_at(double t) {
  return states_from(pose_at(schedule_.motion, t, cursor_));
}

std::array<Eigen::Vector3d, 3> ExerciseKinematics::linear_acceleration_at(double t) {
  constexpr double h = 1e-3;
  std::size_t cursor = 0;
  const auto before = states_from(pose_at(schedule_.motion, t - h, cursor));
  const auto here = states_from(pose_at(schedule_.motion, t, cursor));
  const auto after = states_from(pose_at(schedule_.motion, t + h, cursor));
  std::array<Eigen::Vector3d, 3> out;
  for (std::size_t i = 0; i < 3; ++i) {
    out[i] = (after[i].position_m - 2.0 * here[i].position_m + before[i].position_m) / (h * h);
  }
  return out;
}

ImuRender render_imu(const SimulatorSettings& settings, const Schedule& schedule) {
  ImuRender out;
  const ImuInfo scale;  // ±8 g, ±2000 dps over int16
  out.samples = static_cast<std::size_t>(std::floor(schedule.duration_s * settings.imu_rate_hz));
  ExerciseKinematics kinematics(settings.exercise, schedule);
  const Eigen::Vector3d up = Eigen::Vector3d::UnitZ();

  std::array<RandomStream, 3> noise{RandomStream(settings.seed, stream_id::imu_noise + 0),
                                    RandomStream(settings.seed, stream_id::imu_noise + 1),
                                    RandomStream(settings.seed, stream_id::imu_noise + 2)};
  const auto start = kinematics.states_at(0.0);
  for (std::size_t i = 0; i < 3; ++i) {
    RandomStream bias_rng(settings.seed, stream_id::imu_bias + i);
    for (int k = 0; k < 3; ++k) out.gyro_bias_dps[i][k] = settings.gyro_bias_dps * bias_rng.uniform(-1.0, 1.0);
    out.rotation_axis_sensor[i] = start[i].world_from_sensor.transpose() * kinematics.rotation_axis_world();
    out.accel[i].resize(out.samples * 3);
    out.gyro[i].resize(out.samples * 3);
  }

  const bool bridge = settings.exercise == Exercise::bridge;
  out.angles.names = bridge ? std::vector<std::string>{"pelvic_tilt_deg", "thigh_inclination_left_deg",
                                                       "thigh_inclination_right_deg", "hip_extension_left_deg",
                                                       "hip_extension_right_deg"}
                            : std::vector<std::string>{"pelvic_roll_deg", "thigh_opening_left_deg",
                                                       "hip_opening_left_deg"};
  out.angles.values_deg.assign(out.angles.names.size(), std::vector<double>(out.samples));

  std::size_t cursor = 0;
  for (std::size_t n = 0; n < out.samples; ++n) {
    const double t = static_cast<double>(n) / settings.imu_rate_hz;
    const PoseSample pose = pose_at(schedule.motion, t, cursor);
    const Pose& a = pose.angle_deg;
    if (bridge) {
      out.angles.values_deg[0][n] = a.pelvis_deg;
      out.angles.values_deg[1][n] = a.thigh_left_deg;
      out.angles.values_deg[2][n] = a.thigh_right_deg;
      out.angles.values_deg[3][n] = a.pelvis_deg - a.thigh_left_deg;  // hip flexion = thigh - pelvis
      out.angles.values_deg[4][n] = a.pelvis_deg - a.thigh_right_deg;
    } else {
      out.angles.values_deg[0][n] = a.pelvis_deg;
      out.angles.values_deg[1][n] = a.thigh_left_deg;
      out.angles.values_deg[2][n] = a.thigh_left_deg - a.pelvis_deg;
    }
    const auto states = kinematics.states_at(t);
    const auto linear = kinematics.linear_acceleration_at(t);
    for (std::size_t i = 0; i < 3; ++i) {
      const Eigen::Matrix3d sensor_from_world = states[i].world_from_sensor.transpose();
      // Specific force in g: what an accelerometer at rest reads as +1 g upwards.
      const Eigen::Vector3d specific_force_g = sensor_from_world * (linear[i] / kStandardGravity_mps2 + up);
      const Eigen::Vector3d rate_dps = sensor_from_world * states[i].angular_velocity_world_dps;
      for (int k = 0; k < 3; ++k) {
        const double accel = specific_force_g[k] + settings.accel_noise_g * noise[i].normal();
        const double gyro = rate_dps[k] + out.gyro_bias_dps[i][k] + settings.gyro_noise_dps * noise[i].normal();
        out.accel[i][n * 3 + static_cast<std::size_t>(k)] = quantise(accel, scale.accel_g_per_count, out.clipped_samples);
        out.gyro[i][n * 3 + static_cast<std::size_t>(k)] = quantise(gyro, scale.gyro_dps_per_count, out.clipped_samples);
      }
    }
  }
  return out;
}

}  // namespace glutescope::sim
