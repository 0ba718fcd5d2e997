// A DeviceSink that keeps everything a decoder emits, for decoder unit and property tests.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "devices/device_model.hpp"

namespace glutescope::test {

struct CaptureSink final : devices::DeviceSink {
  std::optional<DeviceInfo> info;
  int infos = 0;
  std::vector<std::uint64_t> emg_index;  // one per row
  std::vector<std::int32_t> emg;         // rows, row-major
  std::vector<std::uint64_t> accel_index;
  std::vector<std::int16_t> accel;  // [n x 3]
  std::vector<std::int16_t> gyro;
  std::vector<Gap> gaps;
  std::vector<Event> events;

  void on_device_info(const DeviceInfo& i) override {
    info = i;
    ++infos;
  }
  void on_emg(const EmgBlock& b) override {
    for (std::size_t r = 0; r < b.samples(); ++r) emg_index.push_back(b.first_sample + r);
    emg.insert(emg.end(), b.counts.begin(), b.counts.end());
  }
  void on_imu(const ImuBlock& b) override {
    for (std::size_t r = 0; r < b.samples(); ++r) accel_index.push_back(b.first_sample + r);
    accel.insert(accel.end(), b.accel.begin(), b.accel.end());
    gyro.insert(gyro.end(), b.gyro.begin(), b.gyro.end());
  }
  void on_gap(const Gap& g) override { gaps.push_back(g); }
  void on_event(const Event& e) override { events.push_back(e); }
};

}  // namespace glutescope::test
