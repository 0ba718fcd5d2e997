// The OpenBCI Cyton (and Cyton + Daisy) as `glutescope simulate --device cyton|cyton-daisy` presents it:
// the simulated session (today's physiological model, simulator/session.hpp) as the board's 33-byte
// packets at 250 Hz, answering the SDK's commands (v, s, b, c, C, d, x...X) on a pseudo-terminal as the
// board does, with fault injection (device_emulator.hpp). Layout and sources: docs/DEVICES.md §Cyton.
//
// Model to board: the session is simulated at 1000 Hz and each ADS1299 sample is the mean of 4 model
// samples (the ADS1299's own decimation filter stands behind a real 250 Hz output; this is the
// emulator's simpler stand-in). Channels 1-8 carry the montage's 8 channels; a Daisy's channels 9-16
// carry low-level noise (±5 µV uniform, no muscle). The accelerometer is the sacrum IMU's accelerometer
// at 25 Hz (every second sample of a 50 Hz IMU stream), in the packets whose slot is a multiple of 10.
// A Daisy sends the firmware's averages (CytonDataFormat §16 Channel Data): on odd sample numbers
// (board(n-1) + board(n)) / 2, on even ones (daisy(n-1) + daisy(n)) / 2, integer division toward zero.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "simulator/device_emulator.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {

// Settings the Cyton emulator simulates with (EMG 1000 Hz, IMU 50 Hz, 1 EMG sample per frame).
SimulatorSettings cyton_model_settings(SimulatorSettings settings);

// What the board's ADS1299s and accelerometer measure, slot by slot (slot n = n / 250 s after the first
// start command): µV per channel (8 board + 8 Daisy), and accelerometer counts at 25 Hz.
struct CytonSignals {
  std::vector<std::array<double, 8>> board_uv;     // per slot
  std::vector<std::array<double, 8>> daisy_uv;     // per slot
  std::vector<std::array<std::int16_t, 3>> accel;  // per 10 slots, 0.002/16 g per count
  [[nodiscard]] std::size_t slots() const noexcept { return board_uv.size(); }
};
CytonSignals cyton_signals(const SimulatedSession& session);

// 24-bit count of `uv` at a channel gain (4.5 V / gain / (2^23 - 1) per count), rounded, clamped to the
// ADS1299's range.
std::int32_t cyton_count(double uv, int gain) noexcept;

// The 33-byte packet (CytonDataFormat §Binary Format) with these fields.
std::array<std::uint8_t, 33> encode_cyton_packet(std::uint8_t sample_number,
                                                 const std::array<std::int32_t, 8>& channels,
                                                 const std::array<std::uint8_t, 6>& aux,
                                                 std::uint8_t footer = 0xC0);

// The channel counts the board sends in the packet of `slot` with sample number `counter` (board mode:
// 8 channels of that slot; Daisy mode: the averages described above). Slot 0 of a Daisy has no previous
// sample: the firmware sends an invalid half; this emulator averages with zero.
std::array<std::int32_t, 8> cyton_packet_channels(const CytonSignals& signals, std::uint64_t slot,
                                                  std::uint8_t counter, bool daisy,
                                                  const std::vector<int>& gains);
// Aux bytes of `slot`: the accelerometer (int16 big-endian X, Y, Z) when slot % 10 == 0, else zeros.
std::array<std::uint8_t, 6> cyton_packet_aux(const CytonSignals& signals, std::uint64_t slot);

// The emulator (EmulatorMain) for a plain Cyton and for a Cyton + Daisy.
void run_cyton_emulator(const EmulatorOptions& options);
void run_cyton_daisy_emulator(const EmulatorOptions& options);

}  // namespace glutescope::sim
