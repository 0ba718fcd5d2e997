// Protocol v1 framing of a simulated session: DEVICE_INFO first, then EMG_BLOCK / IMU_BLOCK / EVENT /
// STATUS frames in device-time order of when the device would send them. No I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/session.hpp"

namespace glutescope::sim {

// Marker EVENT frames use GSP_EVENT_BUTTON with these button ids; value = exercise | muscle << 8
// (glutescope::Exercise and glutescope::Muscle values; muscle 255 = none). docs/SIMULATOR.md §Frames.
inline constexpr std::uint16_t kButtonSetStart = 1;
inline constexpr std::uint16_t kButtonSetStop = 2;

struct EncodedFrame {
  std::uint64_t send_time_us = 0;  // device time at which the frame is complete and sent
  std::uint8_t type = 0;           // gsp_message_type
  std::vector<std::uint8_t> wire;  // COBS bytes with the trailing 0x00
};

// Frames in send order, sequence numbers consecutive from 0. A sample block is sent when its last
// sample has been acquired (first + count samples after the stream start); STATUS every whole second;
// ties go DEVICE_INFO, EMG, IMU (sensor order), EVENT, STATUS.
std::vector<EncodedFrame> encode_frame_list(const SimulatedSession& session);

// All frames concatenated: the exact byte stream `glutescope simulate --out` writes.
std::vector<std::uint8_t> encode_frames(const SimulatedSession& session);

}  // namespace glutescope::sim
