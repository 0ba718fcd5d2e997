#include "devices/device_registry.hpp"

#include <algorithm>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "devices/bitalino_device.hpp"
#include "devices/cyton_device.hpp"
#include "devices/glutescope_device.hpp"
#include "devices/trigno_device.hpp"

namespace glutescope::devices {
namespace {

using DriverFactory = std::unique_ptr<DeviceDriver> (*)(const DriverOptions&);

struct Entry {
  DeviceDescription description;
  DriverFactory make = nullptr;  // null: not yet built
};

std::unique_ptr<DeviceDriver> make_glutescope(const DriverOptions& /*options*/) {
  return std::make_unique<GlutescopeDriver>();
}

std::unique_ptr<DeviceDriver> make_bitalino(const DriverOptions& /*options*/) {
  return std::make_unique<BitalinoDriver>();
}

std::unique_ptr<DeviceDriver> make_trigno(const DriverOptions& /*options*/) {
  return std::make_unique<TrignoDriver>();
}

std::unique_ptr<DeviceDriver> make_cyton(const DriverOptions& options) {
  return std::make_unique<CytonDriver>(false, options.channel_gains);
}

std::unique_ptr<DeviceDriver> make_cyton_daisy(const DriverOptions& options) {
  return std::make_unique<CytonDriver>(true, options.channel_gains);
}

const std::vector<Entry>& entries() {
  static const std::vector<Entry> table = [] {
    std::vector<Entry> t;
    t.push_back({glutescope_description(), &make_glutescope});
    t.push_back({cyton_description(false), &make_cyton});
    t.push_back({cyton_description(true), &make_cyton_daisy});
    t.push_back({bitalino_description(), &make_bitalino});
    t.push_back({trigno_description(), &make_trigno});
    return t;
  }();
  return table;
}

const char* to_string(LossDetection loss) {
  switch (loss) {
    case LossDetection::exact:
      return "exact";
    case LossDetection::counter_wraps:
      return "counter-wraps";
    case LossDetection::none:
      return "none";
  }
  return "unknown";
}

std::string motion_text(const DeviceDescription& d) {
  if (d.motion.empty()) return "none";
  std::string text;
  for (const MotionSensorDescription& m : d.motion) {
    std::string axes = m.accelerometer ? "accelerometer" : "";
    if (m.gyroscope) axes += axes.empty() ? "gyroscope" : " + gyroscope";
    if (m.magnetometer) axes += axes.empty() ? "magnetometer" : " + magnetometer";
    if (!m.gyroscope) axes += " (no gyroscope)";
    text +=
        fmt::format("{}{}: {} at {:g} Hz [{}]", text.empty() ? "" : "; ", m.label, axes, m.rate_hz, m.unit);
  }
  return text;
}

}  // namespace

const std::vector<DeviceDescription>& supported_devices() {
  static const std::vector<DeviceDescription> list = [] {
    std::vector<DeviceDescription> l;
    for (const Entry& e : entries()) l.push_back(e.description);
    return l;
  }();
  return list;
}

const DeviceDescription* find_device(std::string_view name) noexcept {
  const auto& list = supported_devices();
  const auto it =
      std::find_if(list.begin(), list.end(), [&](const DeviceDescription& d) { return d.name == name; });
  return it == list.end() ? nullptr : &*it;
}

std::string device_names() {
  std::string names;
  for (const DeviceDescription& d : supported_devices()) names += (names.empty() ? "" : ", ") + d.name;
  return names;
}

std::unique_ptr<DeviceDriver> make_driver(std::string_view name, const DriverOptions& options) {
  for (const Entry& e : entries()) {
    if (e.description.name != name) continue;
    if (e.make == nullptr) {
      throw UnsupportedDeviceError(
          fmt::format("--device {}: {} is listed but its decoder is not yet built in this version", name,
                      e.description.title));
    }
    return e.make(options);
  }
  throw UnsupportedDeviceError(
      fmt::format("unknown --device '{}' (choose one of: {})", name, device_names()));
}

std::string devices_json() {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const DeviceDescription& d : supported_devices()) {
    nlohmann::ordered_json j;
    j["name"] = d.name;
    j["title"] = d.title;
    j["built"] = d.built;
    j["link"] = d.link == LinkKind::serial ? "serial" : "tcp";
    if (d.default_baud != 0) j["default_baud"] = d.default_baud;
    if (d.default_base_port != 0) j["default_base_port"] = d.default_base_port;
    nlohmann::ordered_json streams = nlohmann::ordered_json::array();
    for (const LinkStreamDescription& s : d.streams)
      streams.push_back({{"name", s.name}, {"tcp_port_offset", s.tcp_port_offset}});
    j["streams"] = streams;
    j["emg_channels"] = d.emg_channels;
    j["emg_rate_hz"] = d.emg_rate_hz;
    j["emg_rates"] = d.emg_rates;
    j["emg_unit"] = d.emg_unit;
    j["emg_scale"] = d.emg_scale;
    nlohmann::ordered_json motion = nlohmann::ordered_json::array();
    for (const MotionSensorDescription& m : d.motion) {
      motion.push_back({{"label", m.label},
                        {"rate_hz", m.rate_hz},
                        {"accelerometer", m.accelerometer},
                        {"gyroscope", m.gyroscope},
                        {"magnetometer", m.magnetometer},
                        {"unit", m.unit}});
    }
    j["motion_sensors"] = motion;
    j["loss_detection"] = to_string(d.loss_detection);
    j["losses_detected"] = d.losses_detected;
    j["losses_undetectable"] = d.losses_undetectable;
    j["clock"] = d.clock;
    j["source"] = d.source;
    list.push_back(j);
  }
  return list.dump(2) + "\n";
}

std::string devices_table() {
  std::string text;
  for (const DeviceDescription& d : supported_devices()) {
    text += fmt::format("{}{}: {}\n", d.name, d.built ? "" : " (not yet built)", d.title);
    const std::string link =
        d.link == LinkKind::serial
            ? fmt::format("serial{}", d.default_baud ? fmt::format(", {} Bd", d.default_baud) : "")
            : fmt::format("TCP, base port {}", d.default_base_port);
    text += fmt::format("  link:    {}\n", link);
    text += fmt::format("  EMG:     {} channels, {}, {} ({})\n", d.emg_channels, d.emg_rates, d.emg_unit,
                        d.emg_scale);
    text += fmt::format("  motion:  {}\n", motion_text(d));
    text += fmt::format("  loss:    {} - {}; cannot see: {}\n", to_string(d.loss_detection),
                        d.losses_detected, d.losses_undetectable);
    text += fmt::format("  clock:   {}\n", d.clock);
    text += fmt::format("  source:  {}\n", d.source);
  }
  return text;
}

}  // namespace glutescope::devices
