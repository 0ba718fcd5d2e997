// Every device glutescope can record from: what it is (DeviceDescription, printed by `glutescope devices`
// and documented in docs/DEVICES.md) and how to build its driver (make_driver). Interface and contracts:
// device_decoder.hpp.
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "devices/device_decoder.hpp"

namespace glutescope::devices {

// A motion sensor as the device provides it.
struct MotionSensorDescription {
  std::string label;     // "board accelerometer"
  double rate_hz = 0.0;  // rate of new values (Cyton: 25 Hz inside the 250 Hz stream)
  bool accelerometer = false;
  bool gyroscope = false;
  bool magnetometer = false;
  std::string unit;  // "g", "g, deg/s"
};

// One byte stream of a device's link.
struct LinkStreamDescription {
  std::string name;              // "serial", "commands", "EMG", "accelerometer"
  unsigned tcp_port_offset = 0;  // TCP devices: port = --base-port + offset
};

enum class LinkKind : std::uint8_t { serial, tcp };

struct DeviceDescription {
  std::string name;   // what --device takes: "cyton"
  std::string title;  // "OpenBCI Cyton (8 channels)"
  LinkKind link = LinkKind::serial;
  unsigned default_baud = 0;                   // serial: Bd the device speaks (0 = any, e.g. USB CDC-ACM)
  unsigned default_base_port = 0;              // TCP: first port (Trigno 50040)
  std::vector<LinkStreamDescription> streams;  // index = DeviceDecoder::feed's `stream`
  std::size_t emg_channels = 0;
  std::string emg_rates;     // "250 Hz", "125 Hz per channel", "1000 Hz (1, 10, 100 or 1000)"
  double emg_rate_hz = 0.0;  // the nominal rate per channel recorded by default
  std::string emg_unit;      // unit after the stored conversion: "uV"
  std::string emg_scale;     // "4.5 V / gain / (2^23 - 1) per count, gain 24 by default"
  std::vector<MotionSensorDescription> motion;
  LossDetection loss_detection = LossDetection::exact;
  std::string losses_detected;      // what loss the host sees and how
  std::string losses_undetectable;  // what it cannot see (a counter wrap, no counter at all)
  std::string clock;                // device clock, or how device time is derived
  std::string source;               // the documentation it follows (docs/DEVICES.md cites pages)
  bool built = true;                // false: listed but not yet recordable ("not yet built")
};

// All devices, in the order `glutescope devices` lists them (glutescope first).
const std::vector<DeviceDescription>& supported_devices();
// nullptr for an unknown name.
const DeviceDescription* find_device(std::string_view name) noexcept;
// "glutescope, cyton, cyton-daisy, bitalino, trigno" for messages.
std::string device_names();

// Per-session link settings a driver may need (from `glutescope record`).
struct DriverOptions {
  // Cyton: programmable gain per channel (1, 2, 4, 6, 8, 12 or 24); empty = the board's default (24);
  // one value = every channel. Other devices ignore it.
  std::vector<int> channel_gains;
};

// Unknown device, or a listed device that is not yet built: what() is one line saying so.
struct UnsupportedDeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The driver for `name`. Throws UnsupportedDeviceError, or std::invalid_argument for options the
// device cannot take (a Cyton gain of 3).
std::unique_ptr<DeviceDriver> make_driver(std::string_view name, const DriverOptions& options = {});

// The registry as JSON text (`glutescope devices --json`) and as a human-readable table.
std::string devices_json();
std::string devices_table();

}  // namespace glutescope::devices
