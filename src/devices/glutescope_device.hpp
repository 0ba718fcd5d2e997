// glutescope's own firmware protocol v1 (firmware-protocol/PROTOCOL.md) behind the device framework
// (device_decoder.hpp): the existing StreamDecoder (framing, COBS, CRC-32C) and DeviceModel (sequence
// and per-stream sample counters, clock fit) wrapped unchanged, so protocol v1 records exactly as before.
#pragma once

#include <cstdint>
#include <memory>

#include "devices/device_decoder.hpp"
#include "devices/device_model.hpp"
#include "devices/stream_decoder.hpp"

namespace glutescope::devices {

// Decoder: one byte stream (stream 0); other stream indices are counted as garbage.
class GlutescopeDecoder final : public DeviceDecoder {
 public:
  GlutescopeDecoder(DeviceSink& sink, double session_start_host_s);

  void feed(std::size_t stream, std::span<const std::uint8_t> bytes, double host_time_s) noexcept override;
  void reset() noexcept override { decoder_.reset(); }
  void finish() noexcept override { model_.finish(); }
  [[nodiscard]] DecoderCounters counters() const noexcept override;
  [[nodiscard]] ClockMapping clock() const noexcept override { return model_.clock(); }
  // An impossible DEVICE_INFO or counter (DeviceModel::protocol_error): the recorder stops on it and keeps
  // what was recorded.
  [[nodiscard]] std::optional<std::string> stream_error() const override { return model_.protocol_error(); }

  [[nodiscard]] const protocol::StreamDecoderCounters& frame_counters() const noexcept {
    return decoder_.counters();
  }
  [[nodiscard]] const DeviceModelCounters& model_counters() const noexcept { return model_.counters(); }

 private:
  DeviceModel model_;
  double read_time_s_ = 0.0;  // host time of the chunk being fed (the frame handler's arrival time)
  std::uint64_t bytes_ = 0;
  std::uint64_t foreign_stream_bytes_ = 0;
  protocol::StreamDecoder decoder_;
};

// Driver: at every connect, REQUEST_DEVICE_INFO then START (harmless if the device already streams);
// DEVICE_INFO arrives in-band, so no reply is awaited. Stop sends STOP.
class GlutescopeDriver final : public DeviceDriver {
 public:
  [[nodiscard]] const DeviceDescription& description() const noexcept override;
  [[nodiscard]] std::vector<CommandStep> connect_steps() override;
  [[nodiscard]] std::vector<CommandStep> start_steps() override { return {}; }
  [[nodiscard]] std::vector<CommandStep> stop_steps() override;
  [[nodiscard]] std::unique_ptr<DeviceDecoder> make_decoder(DeviceSink& sink,
                                                            double session_start_host_s) override;

 private:
  std::uint16_t next_command_id_ = 1;
};

// The registry entry of protocol v1.
DeviceDescription glutescope_description();

}  // namespace glutescope::devices
