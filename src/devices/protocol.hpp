// Thin C++ layer over the C99 codec of wire protocol v1 (firmware-protocol/PROTOCOL.md): encode helpers
// that return wire bytes (used by the simulator and tests), a decoded-message variant, and conversion of
// the wire structs to the core types (DeviceInfo, EmgBlock, ImuBlock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "core/device_info.hpp"
#include "core/session_types.hpp"
#include "glutescope_protocol.h"

namespace glutescope::protocol {

enum class MessageType : std::uint8_t {
  device_info = GSP_MSG_DEVICE_INFO,
  emg_block = GSP_MSG_EMG_BLOCK,
  imu_block = GSP_MSG_IMU_BLOCK,
  event = GSP_MSG_EVENT,
  status = GSP_MSG_STATUS,
  command = GSP_MSG_COMMAND,
  ack = GSP_MSG_ACK,
};

inline constexpr std::size_t max_frame_size = GSP_MAX_FRAME_SIZE;  // unencoded bytes
inline constexpr std::size_t max_wire_size = GSP_MAX_WIRE_SIZE;    // COBS + delimiter

// The header fields a sender chooses for one frame (version and payload length are filled in).
struct FrameStamp {
  std::uint16_t device_id = 0;
  std::uint32_t sequence = 0;      // +1 per frame over all message types
  std::uint64_t timestamp_us = 0;  // device clock (first sample for EMG/IMU blocks)
};

// Hands out consecutive sequence numbers for one device, as firmware must (wraps at 2^32).
class FrameStamper {
 public:
  explicit FrameStamper(std::uint16_t device_id, std::uint32_t first_sequence = 0) noexcept
      : device_id_(device_id), next_sequence_(first_sequence) {}
  FrameStamp stamp(std::uint64_t timestamp_us) noexcept { return {device_id_, next_sequence_++, timestamp_us}; }
  [[nodiscard]] std::uint32_t next_sequence() const noexcept { return next_sequence_; }

 private:
  std::uint16_t device_id_;
  std::uint32_t next_sequence_;
};

// ---- Encoding (throw std::invalid_argument with a message on out-of-range input) ----------------

// Any payload (also unknown types, for tests); returns the complete wire frame including the 0x00.
std::vector<std::uint8_t> encode_frame(std::uint8_t type, const FrameStamp& stamp,
                                       std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_device_info(const FrameStamp& stamp, const gsp_device_info& info);
// From core data; channel kind defaults to EMG for every channel.
std::vector<std::uint8_t> encode_device_info(const FrameStamp& stamp, const glutescope::DeviceInfo& info);
// counts: [samples x channels] row-major; values must fit the format.
std::vector<std::uint8_t> encode_emg_block(const FrameStamp& stamp, std::uint32_t first_sample,
                                           std::uint8_t channels, SampleFormat format,
                                           std::span<const std::int32_t> counts);
// accel, gyro, mag: [samples x 3]; mag empty for a six-axis IMU.
std::vector<std::uint8_t> encode_imu_block(const FrameStamp& stamp, std::uint8_t sensor,
                                           std::uint32_t first_sample, std::span<const std::int16_t> accel,
                                           std::span<const std::int16_t> gyro,
                                           std::span<const std::int16_t> mag = {});
std::vector<std::uint8_t> encode_event(const FrameStamp& stamp, const gsp_event& event);
std::vector<std::uint8_t> encode_status(const FrameStamp& stamp, const gsp_status& status);
std::vector<std::uint8_t> encode_command(const FrameStamp& stamp, const gsp_command& command);
std::vector<std::uint8_t> encode_ack(const FrameStamp& stamp, const gsp_ack& ack);

// ---- Decoding -----------------------------------------------------------------------------------

// One frame after COBS and CRC checks; payload is a view into the decoder's buffer, valid only until
// the decoder is fed again (copy what you keep).
struct Frame {
  gsp_header header{};
  std::span<const std::uint8_t> payload;
};

// Decoded message. gsp_emg_block / gsp_imu_block point into the frame's payload (same lifetime).
using Message = std::variant<gsp_device_info, gsp_emg_block, gsp_imu_block, gsp_event, gsp_status,
                             gsp_command, gsp_ack>;

// Decode one wire frame (with or without its trailing 0x00) into scratch (resized as needed).
[[nodiscard]] gsp_result decode_frame(std::span<const std::uint8_t> wire, std::vector<std::uint8_t>& scratch,
                                      Frame& out);
// Decode the frame's payload by type. GSP_ERR_BAD_PAYLOAD for malformed payloads and unknown types.
[[nodiscard]] gsp_result decode_message(const Frame& frame, Message& out) noexcept;

// ---- Conversion to core types -------------------------------------------------------------------

glutescope::DeviceInfo to_device_info(const gsp_device_info& info, std::uint16_t device_id);

// Widen a wrapping u32 counter into a 64-bit index. The first value seen maps to itself; later values
// are placed at the nearest position (signed 32-bit distance) from the highest index so far, so wraps
// and moderate reordering (< 2^31) are handled. Indices that would be negative saturate at 0.
class CounterUnwrapper {
 public:
  std::uint64_t unwrap(std::uint32_t counter) noexcept;
  void reset() noexcept { started_ = false; highest_ = 0; }
  [[nodiscard]] bool started() const noexcept { return started_; }

 private:
  bool started_ = false;
  std::uint64_t highest_ = 0;
};

// Fill `out` (its vector capacity is reused, so no allocation after warm-up). first_sample is the
// unwrapped index; host_time_s is left for the caller.
void to_emg_block(const gsp_emg_block& block, std::uint64_t first_sample, std::uint64_t device_time_us,
                  EmgBlock& out);
void to_imu_block(const gsp_imu_block& block, std::uint64_t first_sample, std::uint64_t device_time_us,
                  ImuBlock& out);

// Name for logs and error messages ("bad CRC", ...).
const char* to_string(gsp_result result) noexcept;

}  // namespace glutescope::protocol
