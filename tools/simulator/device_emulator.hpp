// Emulators of third-party devices (`glutescope simulate --device NAME`): the simulated session's signals
// as the byte stream that device sends, answering its commands as the device does, with fault injection.
// Each device adds an entry to emulators() (device_emulator.cpp); protocol v1 keeps its own path in the
// CLI (frames.hpp, output.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simulator/settings.hpp"

namespace glutescope::sim {

// Faults the emulator injects, in the device's own packet numbering (packet k = the k-th packet the
// device produces, from 0). Dropped packets are produced (their samples are in the truth) but never sent.
struct EmulatorFaults {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> drop_packets;  // inclusive ranges [first, last]
  std::vector<std::pair<std::uint64_t, std::size_t>> garbage;         // (before packet k, that many bytes)
  double disconnect_at_s = -1.0;  // >= 0: the link goes away at this device time (s) ...
  double disconnect_for_s = 1.0;  // ... for this long; packets due meanwhile are lost (as on a real unplug)
};

struct EmulatorOptions {
  SimulatorSettings settings;  // the physiological model (emg_rate_hz/imu_rate_hz are set by the device)
  bool pty = true;             // stream to a pseudo-terminal (else --out)
  std::string out;             // FILE or "-" (no command answers: the stream as if started)
  std::string link;            // with --pty: a symlink kept pointing at the current pty (replug moves it)
  std::string truth;           // ground-truth JSON file, empty = none
  double speed = 1.0;          // 1 = real time; 0 = as fast as the reader takes bytes
  double reader_timeout_s = 60.0;
  EmulatorFaults faults;
  // Bad-input tests: the emulated board misbehaves in one documented way.
  std::string version_override;          // replaces the firmware's version/reset reply text
  std::size_t packet_size_override = 0;  // > 0: packets of this many bytes (wrong packet size)
  // TCP emulators (Trigno): "ADDR:PORT" of the first port (commands; data on the next ports).
  std::string listen;
  std::string refuse_command;  // bad-input tests: the base answers this command with "CANNOT COMPLETE"
};

// Runs the emulator until the session is sent (or the reader leaves). Throws std::runtime_error /
// std::invalid_argument with one line for what the user can fix.
using EmulatorMain = void (*)(const EmulatorOptions& options);

struct EmulatorEntry {
  std::string_view device;  // devices::supported_devices() name
  EmulatorMain run = nullptr;
};

const std::vector<EmulatorEntry>& emulators();
// nullptr when the device has no emulator yet.
EmulatorMain find_emulator(std::string_view device) noexcept;

// "100-120,400" -> {{100,120},{400,400}}; throws std::invalid_argument naming `option`.
std::vector<std::pair<std::uint64_t, std::uint64_t>> parse_packet_ranges(std::string_view text,
                                                                         std::string_view option);
// "7@100,3@2000" -> {{100,7},{2000,3}} (N bytes before packet K); throws std::invalid_argument.
std::vector<std::pair<std::uint64_t, std::size_t>> parse_garbage_list(std::string_view text,
                                                                      std::string_view option);

}  // namespace glutescope::sim
