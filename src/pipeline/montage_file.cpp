#include "pipeline/montage_file.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>
#include <toml++/toml.h>

namespace glutescope::pipeline {
namespace {

std::string required_string(const toml::table& entry, const char* key, const std::string& where) {
  const auto value = entry[key].value<std::string>();
  if (!value || value->empty())
    throw std::runtime_error(fmt::format("{}: missing or empty '{}'", where, key));
  return *value;
}

std::string joined_labels(const auto& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item.label;
  }
  return out;
}

}  // namespace

Montage parse_montage_toml(const std::string& text, const std::string& source_name) {
  toml::table doc;
  try {
    doc = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(fmt::format("{}:{}: {}", source_name, e.source().begin.line, e.description()));
  }
  Montage m;
  const toml::array* emg = doc["emg"].as_array();
  if (emg == nullptr || emg->empty()) {
    throw std::runtime_error(
        fmt::format("{}: no [[emg]] entries (one per device channel, in device order)", source_name));
  }
  for (std::size_t i = 0; i < emg->size(); ++i) {
    const std::string where = fmt::format("{}: [[emg]] entry {}", source_name, i + 1);
    const toml::table* entry = (*emg)[i].as_table();
    if (entry == nullptr) throw std::runtime_error(where + ": not a table");
    EmgChannel c;
    c.label = required_string(*entry, "label", where);
    const std::string muscle = required_string(*entry, "muscle", where);
    const auto parsed_muscle = parse_muscle(muscle);
    if (!parsed_muscle) {
      throw std::runtime_error(
          fmt::format("{} ({}): unknown muscle '{}' (gluteus_maximus, gluteus_medius, erector_spinae_lumbar, "
                      "biceps_femoris, "
                      "tensor_fasciae_latae, other)",
                      where, c.label, muscle));
    }
    c.muscle = *parsed_muscle;
    const std::string side = required_string(*entry, "side", where);
    const auto parsed_side = parse_side(side);
    if (!parsed_side) {
      throw std::runtime_error(
          fmt::format("{} ({}): unknown side '{}' (left, right, midline, unknown)", where, c.label, side));
    }
    c.side = *parsed_side;
    c.electrode_site = (*entry)["site"].value_or(std::string{});
    m.emg.push_back(std::move(c));
  }
  if (const toml::array* imu = doc["imu"].as_array()) {
    for (std::size_t i = 0; i < imu->size(); ++i) {
      const std::string where = fmt::format("{}: [[imu]] entry {}", source_name, i + 1);
      const toml::table* entry = (*imu)[i].as_table();
      if (entry == nullptr) throw std::runtime_error(where + ": not a table");
      ImuSensor s;
      s.label = required_string(*entry, "label", where);
      const std::string segment = required_string(*entry, "segment", where);
      const auto parsed = parse_segment(segment);
      if (!parsed) {
        throw std::runtime_error(
            fmt::format("{} ({}): unknown segment '{}' (sacrum, thigh_left, thigh_right, other)", where,
                        s.label, segment));
      }
      s.segment = *parsed;
      s.site = (*entry)["site"].value_or(std::string{});
      m.imu.push_back(std::move(s));
    }
  }
  return m;
}

Montage load_montage_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read montage file {}", path));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_montage_toml(text.str(), path);
}

Montage match_montage(const Montage& montage, const DeviceInfo& device) {
  if (montage.emg.size() != device.emg.size()) {
    throw std::runtime_error(fmt::format(
        "montage has {} EMG channels but the device reports {} ({}): use a montage made for this device",
        montage.emg.size(), device.emg.size(), joined_labels(device.emg)));
  }
  for (std::size_t i = 0; i < montage.emg.size(); ++i) {
    if (montage.emg[i].label != device.emg[i].label) {
      throw std::runtime_error(
          fmt::format("montage channel {} is '{}' but the device calls it '{}' (device channels: {})", i + 1,
                      montage.emg[i].label, device.emg[i].label, joined_labels(device.emg)));
    }
  }
  if (montage.imu.size() != device.imu.size()) {
    throw std::runtime_error(fmt::format("montage has {} IMUs but the device reports {} ({})",
                                         montage.imu.size(), device.imu.size(), joined_labels(device.imu)));
  }
  for (std::size_t i = 0; i < montage.imu.size(); ++i) {
    if (montage.imu[i].label != device.imu[i].label) {
      throw std::runtime_error(fmt::format("montage IMU {} is '{}' but the device calls it '{}'", i + 1,
                                           montage.imu[i].label, device.imu[i].label));
    }
  }
  Montage matched = montage;
  for (std::size_t i = 0; i < matched.emg.size(); ++i) {
    matched.emg[i].gain = device.emg[i].gain;
    matched.emg[i].microvolts_per_count = device.emg[i].microvolts_per_count;
  }
  return matched;
}

namespace {

// datasets/montage-bitalino.toml and montage-trigno.toml as built-ins (tests/devices keeps them equal).
Montage third_party_montage(const std::string& device) {
  const Montage standard = default_montage();
  Montage m;
  if (device == "bitalino") {
    // A1-A4: GMax L/R and lumbar ES L/R of the default montage; A5: the board's one-axis accelerometer.
    const std::size_t sources[4] = {0, 1, 4, 5};
    for (std::size_t i = 0; i < 4; ++i) {
      EmgChannel c = standard.emg[sources[i]];
      c.label = fmt::format("A{}", i + 1);
      m.emg.push_back(c);
    }
    m.imu = {{"A5 accelerometer", Segment::sacrum,
              "flat sacrum, S1-S2 (one axis, column x; 6 bits with five channels)"}};
    return m;
  }
  // Trigno: sensors 1-8 on the default montage's muscles, 9-11 on the sacrum and thighs, 12-16 unused.
  for (std::size_t i = 0; i < 16; ++i) {
    EmgChannel c = i < standard.emg.size()
                       ? standard.emg[i]
                       : EmgChannel{"",
                                    Muscle::other,
                                    Side::unknown,
                                    i < 11 ? "sacrum/thigh motion sensor, EMG unused" : "not placed",
                                    1.0,
                                    1.0};
    c.label = fmt::format("sensor {}", i + 1);
    m.emg.push_back(c);
  }
  for (std::size_t i = 0; i < 16; ++i) {
    ImuSensor s{fmt::format("sensor {} accelerometer", i + 1), Segment::other,
                std::string(i < 8 ? "on the sensor's muscle" : "not placed") + " (accelerometer only)"};
    if (i >= 8 && i < 11) s = standard.imu[i - 8];
    if (i >= 8 && i < 11) {
      s.label = fmt::format("sensor {} accelerometer", i + 1);
      s.site += " (accelerometer only)";
    }
    m.imu.push_back(s);
  }
  return m;
}

}  // namespace

Montage device_default_montage(const std::string& device) {
  Montage m = default_montage();
  if (device == "glutescope") return m;
  if (device == "bitalino" || device == "trigno") return third_party_montage(device);
  if (device != "cyton" && device != "cyton-daisy") {
    throw std::invalid_argument(
        fmt::format("no built-in montage for --device {}: give --montage FILE", device));
  }
  for (std::size_t i = 0; i < m.emg.size(); ++i) m.emg[i].label = fmt::format("CH{}", i + 1);
  if (device == "cyton-daisy") {
    for (std::size_t i = m.emg.size(); i < 16; ++i) {
      m.emg.push_back(
          {fmt::format("CH{}", i + 1), Muscle::other, Side::unknown, "unassigned (Daisy)", 1.0, 1.0});
    }
  }
  m.imu = {{"accel", Segment::sacrum, "Cyton board flat on the sacrum, S1-S2 (accelerometer only)"}};
  return m;
}

}  // namespace glutescope::pipeline
