// Six-axis IMU model: true segment orientations from the schedule's poses, then accelerometer = specific
// force (linear acceleration minus gravity) in the sensor frame + white noise, gyroscope = angular velocity
// in the sensor frame + constant bias + white noise, quantised with the ImuInfo scales.
//
// Frames (docs/SIMULATOR.md §IMU model):
//  world W: Z_w up (against gravity), X_w along the mat towards the subject's head, Y_w = Z_w x X_w.
//  sensor S (all three IMUs, mounting idealised to the segment's anatomical axes, ISB-style):
//    x = anterior, y = superior / proximal (along the segment's long axis), z = the subject's right.
//  At rest an accelerometer reads +1 g along the sensor axis that points up; rates are deg/s about
//  the sensor axes, right-handed.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "core/montage.hpp"
#include "simulator/schedule.hpp"
#include "simulator/settings.hpp"

namespace glutescope::sim {

inline constexpr double kStandardGravity_mps2 = 9.80665;

// True state of one sensor at one instant.
struct SensorState {
  Eigen::Matrix3d world_from_sensor = Eigen::Matrix3d::Identity();  // columns: sensor axes in W
  Eigen::Vector3d position_m = Eigen::Vector3d::Zero();             // in W
  Eigen::Vector3d angular_velocity_world_dps = Eigen::Vector3d::Zero();
};

// Kinematic model of the exercise: the three IMUs' true states at time t (segment rotations about fixed
// world axes driven by the schedule's poses). Stateless apart from the pose cursor.
class ExerciseKinematics {
 public:
  ExerciseKinematics(Exercise exercise, const Schedule& schedule);
  // States of sacrum, left thigh, right thigh at t (s), in that order.
  std::array<SensorState, 3> states_at(double t);
  // Linear acceleration of each sensor (m/s^2, in W), by a central difference of positions (h = 1 ms).
  std::array<Eigen::Vector3d, 3> linear_acceleration_at(double t);
  // The world rotation axis of each segment (unit vector in W): bridge Y_w, clamshell X_w.
  [[nodiscard]] Eigen::Vector3d rotation_axis_world() const;

 private:
  std::array<SensorState, 3> states_from(const PoseSample& pose) const;
  Exercise exercise_;
  const Schedule& schedule_;
  std::size_t cursor_ = 0;
};

// Names and values of the truth joint angles (deg) at the IMU rate (see docs/SIMULATOR.md):
//  bridge:    pelvic_tilt_deg, thigh_inclination_left_deg, thigh_inclination_right_deg,
//             hip_extension_left_deg, hip_extension_right_deg
//  clamshell: pelvic_roll_deg, thigh_opening_left_deg, hip_opening_left_deg
struct JointAngleTrack {
  std::vector<std::string> names;
  std::vector<std::vector<double>> values_deg;  // [angle][imu sample]
};

struct ImuRender {
  std::size_t samples = 0;  // per sensor
  std::array<std::vector<std::int16_t>, 3> accel;  // per sensor [samples x 3] counts
  std::array<std::vector<std::int16_t>, 3> gyro;   // per sensor [samples x 3] counts
  std::array<Eigen::Vector3d, 3> gyro_bias_dps;    // constant bias added per sensor axis
  std::array<Eigen::Vector3d, 3> rotation_axis_sensor;  // each segment's rotation axis in its sensor frame
  std::uint64_t clipped_samples = 0;
  JointAngleTrack angles;
};

// Renders floor(duration * imu_rate) samples for the montage's three IMUs (sacrum, thigh L, thigh R).
ImuRender render_imu(const SimulatorSettings& settings, const Schedule& schedule);

}  // namespace glutescope::sim
