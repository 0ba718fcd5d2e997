// What a wearable says about itself (protocol v1 DEVICE_INFO, or an imported recording's header),
// as plain C++ data. The codec in firmware-protocol/ converts its wire struct to this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glutescope {

enum class SampleFormat : std::uint8_t { int16 = 0, int24 = 1 };

struct EmgChannelInfo {
  std::string label;                  // device's own channel name
  double gain = 1.0;                  // amplifier gain (V/V)
  double microvolts_per_count = 1.0;  // referred to the electrode
};

struct ImuInfo {
  std::string label;
  double rate_hz = 200.0;
  double accel_range_g = 8.0;      // full scale ±
  double gyro_range_dps = 2000.0;  // full scale ±
  double accel_g_per_count = 8.0 / 32768.0;
  double gyro_dps_per_count = 2000.0 / 32768.0;
  bool has_magnetometer = false;
  double mag_ut_per_count = 0.0;  // µT per count when has_magnetometer

  // An accelerometer-only sensor (OpenBCI Cyton's LIS3DH) has gyro_dps_per_count = 0: its stored
  // gyroscope dataset holds zeros with conversion 0, and nothing may be read from it.
  [[nodiscard]] bool has_gyroscope() const noexcept { return gyro_dps_per_count > 0.0; }
};

struct DeviceInfo {
  std::uint8_t protocol_version = 1;
  std::uint16_t device_id = 0;
  std::string firmware_version;
  std::string serial_number;
  // Third-party devices (docs/DEVICES.md): the `--device` name ("cyton") and how loss is detected
  // ("exact", "counter-wraps", "none"); empty for protocol v1, whose DEVICE_INFO has no such fields.
  std::string device_model;
  std::string loss_detection;
  SampleFormat emg_format = SampleFormat::int16;
  double emg_rate_hz = 2000.0;
  std::vector<EmgChannelInfo> emg;
  std::vector<ImuInfo> imu;
};

}  // namespace glutescope
