// Protocol v1 framing of a simulated session: DEVICE_INFO first, then EMG_BLOCK / IMU_BLOCK / EVENT /
// STATUS frames in device-time order of when the device would send them. No I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "glutescope_protocol.h"
#include "simulator/session.hpp"

namespace glutescope::sim {

// Set markers (docs/SIMULATOR.md §Frames): each set start / stop of the session is one EVENT SET_START /
// SET_STOP (PROTOCOL.md §4.4) with arg = glutescope::Exercise and, for an MVC trial, value =
// GSP_SET_VALUE(glutescope::Muscle, glutescope::Side). The simulated wearable has no button: it sends no
// BUTTON or MARKER events.
// The EVENT payload of one session event, or std::nullopt for kinds the device does not send.
std::optional<gsp_event> wire_event(const Event& event) noexcept;

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
