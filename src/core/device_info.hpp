// What a wearable says about itself (protocol v1 DEVICE_INFO, or an imported recording's header),
// as plain C++ data. The codec in firmware-protocol/ converts its wire struct to this.
#pragma once

#include <cstdint>
#include <optional>
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

// Ranges a DeviceInfo must lie in before a single sample is interpreted (docs/RELIABILITY.md "Device
// input"). They bound what follows from them: sample-index arithmetic (2^63 samples at the highest rate
// are 2.9 million years), µV = count × scale for 24-bit counts (finite, far from overflow), and the
// per-block time shifts. Lower rate bound: BITalino's slowest mode is 1 Hz (research/acquisition.md §3.3);
// upper: 100 kHz EMG is 6× an ADS1299's 16 kSPS maximum, 32 kHz IMU an ICM-42688's highest output rate.
struct DeviceInfoLimits {
  static constexpr std::size_t max_emg_channels = 16;  // PROTOCOL.md §4.1
  // A Delsys Trigno base's 16 sensors, each an accelerometer (devices::kMaxMotionSensors); protocol v1
  // sends at most 4 (GSP_MAX_IMUS: its codec refuses more), the session format allows 255.
  static constexpr std::size_t max_imus = 16;
  static constexpr double min_rate_hz = 1.0;
  static constexpr double max_emg_rate_hz = 100'000.0;
  static constexpr double max_imu_rate_hz = 32'000.0;
  static constexpr double min_microvolts_per_count = 1e-6;  // 1 pV: below any ADC's resolution
  static constexpr double max_microvolts_per_count = 1e6;   // 1 V per count: above any EMG front end
  static constexpr double max_gain = 1e6;
  static constexpr double max_accel_range_g = 1000.0;
  static constexpr double max_gyro_range_dps = 100'000.0;
  static constexpr double max_scale_per_count = 1e3;  // g, °/s or µT per count
};

// Why `info` cannot be used ("EMG rate nan Hz is outside 1 to 100000 Hz"), or nullopt if every channel
// count, rate and scale is finite and inside DeviceInfoLimits. One line, names the field. An IMU without a
// gyroscope (ImuInfo::has_gyroscope) has gyro range and dps per count both exactly 0.
std::optional<std::string> device_info_problem(const DeviceInfo& info);

}  // namespace glutescope
