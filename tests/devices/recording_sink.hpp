// A DeviceSink that keeps everything a decoder emits, for the device decoder tests: EMG and motion rows
// by sample index, gaps, events, the device description.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "devices/device_model.hpp"

namespace glutescope::test {

struct RecordingSink final : devices::DeviceSink {
  std::optional<DeviceInfo> info;
  int info_calls = 0;
  std::map<std::uint64_t, std::vector<std::int32_t>> emg;  // index → one row
  std::map<std::uint64_t, std::vector<std::int16_t>> accel[16];
  std::vector<Gap> gaps;
  std::vector<Event> events;
  std::uint64_t duplicate_rows = 0;

  void on_device_info(const DeviceInfo& i) override {
    info = i;
    ++info_calls;
  }
  void on_emg(const EmgBlock& b) override {
    for (std::size_t s = 0; s < b.samples(); ++s) {
      std::vector<std::int32_t> row(b.counts.begin() + static_cast<long>(s * b.channels),
                                    b.counts.begin() + static_cast<long>((s + 1) * b.channels));
      if (!emg.emplace(b.first_sample + s, std::move(row)).second) ++duplicate_rows;
    }
  }
  void on_imu(const ImuBlock& b) override {
    for (std::size_t s = 0; s < b.samples(); ++s) {
      std::vector<std::int16_t> row(b.accel.begin() + static_cast<long>(3 * s),
                                    b.accel.begin() + static_cast<long>(3 * s + 3));
      if (!accel[b.sensor].emplace(b.first_sample + s, std::move(row)).second) ++duplicate_rows;
    }
  }
  void on_gap(const Gap& g) override { gaps.push_back(g); }
  void on_event(const Event& e) override { events.push_back(e); }

  [[nodiscard]] std::uint64_t emg_gap_samples() const {
    std::uint64_t n = 0;
    for (const Gap& g : gaps) n += g.stream == StreamKind::emg ? g.count : 0;
    return n;
  }
};

}  // namespace glutescope::test
