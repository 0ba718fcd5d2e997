// Protocol v1 framing of a simulated session: DEVICE_INFO first, then EMG_BLOCK / IMU_BLOCK / EVENT /
// STATUS frames in device-time order of when the device would send them. No I/O.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/session.hpp"

namespace glutescope::sim {

// Set markers (docs/SIMULATOR.md §Frames). PROTOCOL.md §4.4 gives BUTTON and MARKER events only an id
// (value 0), so the simulator sends: set start = BUTTON kButtonSetStart, immediately followed by a MARKER
// whose id says what starts (kMarkerMvcBase + glutescope::Muscle value for an MVC trial,
// kMarkerExerciseBase + glutescope::Exercise value for the exercise set); set stop = BUTTON kButtonSetStop.
inline constexpr std::uint16_t kButtonSetStart = 1;
inline constexpr std::uint16_t kButtonSetStop = 2;
inline constexpr std::uint16_t kMarkerMvcBase = 0x0100;
inline constexpr std::uint16_t kMarkerExerciseBase = 0x0200;

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
