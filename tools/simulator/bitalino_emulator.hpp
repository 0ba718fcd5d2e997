// BITalino (r)evolution emulator (`glutescope simulate --device bitalino --pty`): the physiological model
// (session.hpp) sampled at 1000 Hz and sent as the (r)evolution firmware sends it (bitalino_protocol.hpp:
// 8-byte frames for A1-A5, CRC-4, 4-bit sequence number counting every sample period), answering the
// firmware's commands over a pseudo-terminal: 0x07 version ("BITalino_v5.1\n"), 0xC3 rate, start with a
// channel mask, 0xFF / 0x00 stop. Faults (device_emulator.hpp): dropped frames (sequence numbers still
// count them, as when the firmware's transmit buffer is full), garbage bytes, an unplug and replug.
#pragma once

#include <cstdint>
#include <vector>

#include "devices/bitalino_protocol.hpp"
#include "simulator/device_emulator.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {

// Which simulated signals the emulated board carries (default montage indices, docs/DEVICES.md):
// A1-A4 = EMG channels GMax_L, GMax_R, ES_L3_L, ES_L3_R; A5 = the sacrum IMU's accelerometer x axis.
inline constexpr int kBitalinoEmgSources[4] = {0, 1, 4, 5};
inline constexpr std::uint8_t kBitalinoAccSensor = 0;
inline constexpr double kBitalinoRateHz = 1000.0;

// The model settings the emulator simulates with (EMG and IMU at 1000 Hz).
SimulatorSettings bitalino_model_settings(SimulatorSettings settings);

// Frame k = model sample k (sequence numbers not set): A1-A4 the EMG converted to 10-bit ADC codes by the
// inverse of the EMG data sheet's transfer function, A5 the acceleration to the 6-bit code of the ACC
// data sheet's transfer function with the default calibration (clipped to the code range).
std::vector<devices::bitalino::Frame> bitalino_frames(const SimulatedSession& session);

// EmulatorMain for the registry (device_emulator.cpp).
void run_bitalino_emulator(const EmulatorOptions& options);

}  // namespace glutescope::sim
