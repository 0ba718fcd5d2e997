// Store-internal: the session tables that SWMR forbids while recording, so the writer adds them once at
// close (/intervals/events, /intervals/gaps, /general/timing_fit, /general/statistics), and the HDF5
// helpers the writer shares with them. Layout and column meanings: docs/SESSION_FORMAT.md §2.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "core/session_types.hpp"
#include "store/hdf5_handle.hpp"
#include "store/session_format.hpp"
#include "store/session_layout.hpp"

namespace glutescope::store {

// Now as ISO 8601 local time with its UTC offset (2026-11-23T14:05:09+01:00), for the file's time attributes.
std::string iso8601_now();
// label_values / label_names attributes of an enum column.
void write_label_map(hid_t object, const layout::LabelMap& map, const Hdf5Where& where);
// A group at `path`, creating intermediate groups.
GroupHandle create_group(hid_t file, const std::string& path, const Hdf5Where& where);

void write_events_table(hid_t f, const std::vector<Event>& events, const std::string& file_path);
// /acquisition/angle (format 1.2): per channel a float64 dataset data_<k> (degrees, sample n at n / rate_hz,
// NaN where absent) and the table columns label, joint, motion, side, unit ("deg") and rate_hz. Nothing is
// written for no channel. Throws std::invalid_argument for a rate that is not positive and finite.
void write_angle_channels(hid_t f, const std::vector<AngleChannel>& angles, const std::string& file_path);
void write_gaps_table(hid_t f, const std::vector<Gap>& gaps, const std::string& file_path);
void write_timing_fit(hid_t f, const TimingFit& fit, const std::string& file_path);
// `stats` with its emg_samples and imu_samples already counted by the writer.
void write_statistics(hid_t f, const SessionStatistics& stats, const std::string& file_path);

}  // namespace glutescope::store
