// Decodes a protocol v1 byte stream with the project's StreamDecoder and keeps what a recorder would
// need to compare with the in-memory session: samples, events, sequence continuity, send order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "devices/stream_decoder.hpp"

namespace glutescope::sim::test {

struct CapturedStream {
  std::vector<std::uint8_t> types;  // message type per frame, in arrival order
  std::vector<std::uint32_t> sequences;
  std::vector<double> completion_s;  // device time at which each frame's content was complete
  std::vector<std::int32_t> emg;     // [samples x channels]
  std::uint32_t emg_channels = 0;
  std::vector<std::int16_t> accel[3];
  std::vector<std::int16_t> gyro[3];
  std::vector<gsp_event> events;
  std::vector<std::uint64_t> event_times_us;
  std::vector<gsp_status> statuses;
  std::size_t device_infos = 0;
  gsp_device_info device_info{};
  bool samples_contiguous = true;  // every block starts where the previous one of its stream ended
  protocol::StreamDecoderCounters counters;
};

class StreamCapture {
 public:
  StreamCapture()
      : decoder_([this](const protocol::Frame& frame, const protocol::Message& message) {
          on_frame(frame, message);
        }) {}

  void feed(std::span<const std::uint8_t> bytes) { decoder_.feed(bytes); }
  CapturedStream finish() {
    stream_.counters = decoder_.counters();
    return stream_;
  }

 private:
  void on_frame(const protocol::Frame& frame, const protocol::Message& message) {
    stream_.types.push_back(frame.header.type);
    stream_.sequences.push_back(frame.header.sequence);
    const double emg_rate = stream_.device_info.emg_rate_hz;
    if (const auto* info = std::get_if<gsp_device_info>(&message)) {
      stream_.device_info = *info;
      ++stream_.device_infos;
      stream_.completion_s.push_back(0.0);
    } else if (const auto* emg = std::get_if<gsp_emg_block>(&message)) {
      stream_.emg_channels = emg->channel_count;
      if (emg->first_sample * std::uint64_t{emg->channel_count} != stream_.emg.size())
        stream_.samples_contiguous = false;
      for (std::size_t s = 0; s < emg->sample_count; ++s) {
        for (std::size_t c = 0; c < emg->channel_count; ++c)
          stream_.emg.push_back(gsp_emg_block_sample(emg, s, c));
      }
      stream_.completion_s.push_back(static_cast<double>(emg->first_sample + emg->sample_count) / emg_rate);
    } else if (const auto* imu = std::get_if<gsp_imu_block>(&message)) {
      const std::size_t i = imu->sensor;
      if (i >= 3 || imu->first_sample * 3ULL != stream_.accel[i].size()) stream_.samples_contiguous = false;
      for (std::size_t s = 0; s < imu->sample_count && i < 3; ++s) {
        std::int16_t a[3];
        std::int16_t g[3];
        gsp_imu_block_sample(imu, s, a, g, nullptr);
        stream_.accel[i].insert(stream_.accel[i].end(), a, a + 3);
        stream_.gyro[i].insert(stream_.gyro[i].end(), g, g + 3);
      }
      const double rate = i < 3 ? stream_.device_info.imu[i].rate_hz : 1.0;
      stream_.completion_s.push_back(static_cast<double>(imu->first_sample + imu->sample_count) / rate);
    } else if (const auto* event = std::get_if<gsp_event>(&message)) {
      stream_.events.push_back(*event);
      stream_.event_times_us.push_back(frame.header.timestamp_us);
      stream_.completion_s.push_back(static_cast<double>(frame.header.timestamp_us) / 1e6);
    } else if (const auto* status = std::get_if<gsp_status>(&message)) {
      stream_.statuses.push_back(*status);
      stream_.completion_s.push_back(static_cast<double>(frame.header.timestamp_us) / 1e6);
    } else {
      stream_.completion_s.push_back(-1.0);
    }
  }

  CapturedStream stream_;
  protocol::StreamDecoder decoder_;
};

}  // namespace glutescope::sim::test
