// The in-memory simulated session: what the wearable sends (DEVICE_INFO, EMG and IMU blocks, events) and
// the ground truth behind it. No I/O: tests and `glutescope validate` call simulate() directly; the frame
// encoder (frames.hpp) and the CLI turn it into bytes.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include <Eigen/Dense>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "simulator/emg_model.hpp"
#include "simulator/imu_model.hpp"
#include "simulator/schedule.hpp"
#include "simulator/settings.hpp"

namespace glutescope::sim {

struct LeadOffTruth {
  int channel = -1;
  double time_s = 0.0;
};

struct SessionTruth {
  Schedule schedule;                           // reps, MVC trials, markers, activation knots, poses
  std::uint64_t emg_samples = 0;               // per channel
  std::uint64_t imu_samples = 0;               // per sensor
  std::vector<EmgChannelTruth> emg_channels;   // montage order
  std::array<Eigen::Vector3d, 3> gyro_bias_dps{};          // per IMU, sensor axes
  std::array<Eigen::Vector3d, 3> rotation_axis_sensor{};   // each segment's rotation axis, sensor frame
  std::uint64_t imu_clipped_samples = 0;
  JointAngleTrack joint_angles;                // at the IMU rate
  std::vector<double> ecg_beats_s;
  std::optional<LeadOffTruth> lead_off;
};

struct SimulatedSession {
  SimulatorSettings settings;
  Montage montage;
  DeviceInfo device_info;
  std::vector<EmgBlock> emg;    // consecutive blocks of settings.emg_samples_per_frame samples (last may be short)
  std::vector<ImuBlock> imu;    // blocks of all sensors, each sensor's blocks consecutive, sorted by sensor then time
  std::vector<Event> events;    // set start/stop markers and lead-off, time order; time_s = device time (s)
  SessionTruth truth;

  // The whole EMG stream as [samples x channels] counts (concatenated blocks).
  [[nodiscard]] std::vector<std::int32_t> emg_counts() const;
  // One sensor's accelerometer and gyroscope streams as [samples x 3] counts.
  [[nodiscard]] std::vector<std::int16_t> imu_accel(std::uint8_t sensor) const;
  [[nodiscard]] std::vector<std::int16_t> imu_gyro(std::uint8_t sensor) const;
};

// DEVICE_INFO of the simulated wearable: the montage's EMG channels and three IMUs with ImuInfo scales.
DeviceInfo simulated_device_info(const SimulatorSettings& settings, const Montage& montage);

// Generates the whole session in memory. Deterministic for a given settings (seed included).
// Throws std::invalid_argument for invalid settings (validate()).
SimulatedSession simulate(const SimulatorSettings& settings);

}  // namespace glutescope::sim
