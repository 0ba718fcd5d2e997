// A recorded (or simulated) session as plain in-memory data: what the analysis needs and nothing about
// where it came from. The simulator adapter (exercise/validation) and the HDF5 reader fill it; the
// analysis never does I/O.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "exercise/emg_counts.hpp"

namespace glutescope::exercise {

// One IMU's streams, indexed by sample (the sample index is the truth for time: t = index / rate).
struct ImuStream {
  std::vector<std::int16_t> accel;  // [samples x 3] counts (scale: DeviceInfo::imu[sensor].accel_g_per_count)
  std::vector<std::int16_t> gyro;   // [samples x 3] counts (gyro_dps_per_count)
  [[nodiscard]] std::size_t samples() const noexcept { return accel.size() / 3; }
};

struct SessionData {
  DeviceInfo device;  // rates and per-count scales
  Montage montage;    // channel order of emg_counts; IMU order of imu
  // EMG as [samples x channels] counts, one row per sample index from 0, 16- or 32-bit as the recording
  // needs (emg_counts.hpp). Samples inside a recorded gap hold any value (they are never used: reps
  // overlapping a gap are marked invalid).
  EmgCounts emg_counts;
  std::vector<ImuStream> imu;        // montage.imu order
  std::vector<AngleChannel> angles;  // optional (imports): angle channels
  std::vector<Event> events;         // set_start/set_stop (exercise, MVC muscle), lead_off/lead_on, ...
  std::vector<Gap> gaps;
  // Event times are seconds since sample 0 of the streams (device clock).

  [[nodiscard]] std::size_t emg_channels() const noexcept { return montage.emg.size(); }
  [[nodiscard]] std::size_t emg_samples() const noexcept {
    return montage.emg.empty() ? 0 : emg_counts.size() / montage.emg.size();
  }
};

}  // namespace glutescope::exercise
