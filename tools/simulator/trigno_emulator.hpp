// Delsys Trigno emulator (`glutescope simulate --device trigno --listen ADDR:PORT`): a loopback TCP server
// with the SDK's three ports (trigno_protocol.hpp): commands on PORT (greeting, replies ending
// <CR><LF><CR><LF>), EMG on PORT+1 (16 float32 LE volts per sample at 1925.926 Hz) and accelerometers on
// PORT+2 (48 float32 LE g at 148.148 Hz), sent frame by frame (26 EMG + 2 accelerometer samples per 13.5 ms),
// driven by the physiological model. Faults (device_emulator.hpp): dropped frames (never sent, which the
// data cannot show), garbage bytes in the EMG stream, a disconnect (all connections closed and the ports
// refusing for a while), a wrong greeting, a refused command.
#pragma once

#include <cstdint>
#include <vector>

#include "simulator/device_emulator.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {

// Sensors 1-8: the default montage's EMG channels (accelerometer 0); sensors 9-11: the sacrum, left
// thigh and right thigh IMUs' accelerometers (EMG 0); sensors 12-16 unpaired (all 0).
inline constexpr int kTrignoEmgSensors = 8;
inline constexpr int kTrignoFirstImuSensor = 8;  // 0-based sensor index of the sacrum IMU

SimulatorSettings trigno_model_settings(SimulatorSettings settings);

// The samples as the recorder must store them: EMG [N x 16] int32 counts of 10 nV, accelerometers
// [M x 48] int16 counts of 1/2048 g (sensor-major: sensor s axis a at column 3 s + a). The emulator sends
// exactly these values as float32 (count x 1e-8 V, count / 2048 g), which convert back exactly.
struct TrignoSamples {
  std::vector<std::int32_t> emg;
  std::vector<std::int16_t> acc;
  std::size_t frames = 0;  // whole 13.5 ms frames (26 EMG and 2 accelerometer samples each)
};
TrignoSamples trigno_samples(const SimulatedSession& session);

void run_trigno_emulator(const EmulatorOptions& options);

}  // namespace glutescope::sim
