// Montage files (TOML, docs/MONTAGE.md): which device channel records which muscle on which side, and
// where each IMU sits. Loading and checking against the device's DEVICE_INFO.
#pragma once

#include <string>

#include "core/device_info.hpp"
#include "core/montage.hpp"

namespace glutescope::pipeline {

// Reads a montage file. Throws std::runtime_error "FILE: ..." naming the entry and field that is wrong.
Montage load_montage_file(const std::string& path);
// Parses montage TOML text (`source_name` appears in messages).
Montage parse_montage_toml(const std::string& text, const std::string& source_name);

// Checks the montage against what the device reports (channel count and labels in order, IMU count and
// labels) and returns the montage with the device's gain and µV/count per channel. Throws
// std::runtime_error with one line saying what differs.
Montage match_montage(const Montage& montage, const DeviceInfo& device);

// The montage `record --device NAME` uses without --montage: the default glute/ES montage
// (default_montage()) under that device's channel labels (datasets/montage-NAME.toml reproduces it).
// cyton: CH1-CH8 = the eight default muscles, IMU "accel" = the board on the sacrum; cyton-daisy: the
// same and CH9-CH16 unassigned (muscle other). Throws std::invalid_argument for a device without one.
Montage device_default_montage(const std::string& device);

}  // namespace glutescope::pipeline
