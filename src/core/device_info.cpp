#include "core/device_info.hpp"

#include <cmath>

#include <fmt/core.h>

namespace glutescope {
namespace {

bool within(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

// "EMG channel 3 (GMax_L) µV per count 0 is outside 1e-06 to 1e+06"
std::optional<std::string> out_of_range(const std::string& what, double v, double lo, double hi,
                                        const char* unit) {
  if (within(v, lo, hi)) return std::nullopt;
  return fmt::format("{} {:g}{} is outside {:g} to {:g}{}", what, v, unit, lo, hi, unit);
}

// The label comes from the device: control characters (terminal escapes) are shown as '?'.
std::string name_of(const char* kind, std::size_t i, const std::string& label) {
  std::string shown = label.substr(0, 15);
  for (char& ch : shown) {
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
  }
  return fmt::format("{} {} ({})", kind, i, shown);
}

}  // namespace

std::optional<std::string> device_info_problem(const DeviceInfo& info) {
  using L = DeviceInfoLimits;
  if (info.emg.empty() || info.emg.size() > L::max_emg_channels) {
    return fmt::format("EMG channel count {} is outside 1 to {}", info.emg.size(), L::max_emg_channels);
  }
  if (info.imu.size() > L::max_imus) {
    return fmt::format("IMU count {} is outside 0 to {}", info.imu.size(), L::max_imus);
  }
  if (auto p = out_of_range("EMG rate", info.emg_rate_hz, L::min_rate_hz, L::max_emg_rate_hz, " Hz"))
    return p;
  for (std::size_t i = 0; i < info.emg.size(); ++i) {
    const EmgChannelInfo& c = info.emg[i];
    const std::string name = name_of("EMG channel", i, c.label);
    if (auto p = out_of_range(name + " gain", c.gain, 0.0, L::max_gain, "")) return p;
    if (!(c.gain > 0.0)) return name + " gain 0 must be > 0";
    if (auto p = out_of_range(name + " uV per count", c.microvolts_per_count, L::min_microvolts_per_count,
                              L::max_microvolts_per_count, "")) {
      return p;
    }
  }
  for (std::size_t i = 0; i < info.imu.size(); ++i) {
    const ImuInfo& m = info.imu[i];
    const std::string name = name_of("IMU", i, m.label);
    if (auto p = out_of_range(name + " rate", m.rate_hz, L::min_rate_hz, L::max_imu_rate_hz, " Hz")) return p;
    // Accelerometer-only sensors (OpenBCI Cyton's LIS3DH, BITalino's ACC, Trigno's sensors) state their
    // absent gyroscope as range and scale both 0; only one of them 0 is still a damaged description.
    const bool no_gyroscope = m.gyro_range_dps == 0.0 && m.gyro_dps_per_count == 0.0;
    const struct {
      const char* field;
      double value;
      double max;
      bool skip;
    } positive[] = {{"accel range", m.accel_range_g, L::max_accel_range_g, false},
                    {"gyro range", m.gyro_range_dps, L::max_gyro_range_dps, no_gyroscope},
                    {"g per count", m.accel_g_per_count, L::max_scale_per_count, false},
                    {"dps per count", m.gyro_dps_per_count, L::max_scale_per_count, no_gyroscope},
                    {"uT per count", m.mag_ut_per_count, L::max_scale_per_count, !m.has_magnetometer}};
    for (const auto& f : positive) {
      if (f.skip) continue;
      if (auto p = out_of_range(name + " " + f.field, f.value, 0.0, f.max, "")) return p;
      if (!(f.value > 0.0)) return fmt::format("{} {} 0 must be > 0", name, f.field);
    }
  }
  return std::nullopt;
}

}  // namespace glutescope
