// Motion and event columns of a CSV import (docs/IMPORT.md): the import montage's [[angle]], [[imu]] and
// [[events]] sections, their columns turned into angle channels, IMU blocks and events on the EMG clock.
//
// Columns sampled slower than the EMG share the file through empty cells or repeated (held) values: an
// empty cell holds the previous value. Angle and IMU columns are then averaged in blocks of
// round(EMG rate / 100) rows, so they are stored at EMG rate / that factor (about 100 Hz), the rate the
// segmenter and orientation filter are tuned for.
//
// Event labels (an [[events]] column's codes, and BIDS trial_type values, event_label()):
//   set_start:EXERCISE   EXERCISE = bridge | clamshell | other:NAME       set_stop
//   mvc_start:MUSCLE[:SIDE]                                              mvc_stop
//   rep_start, rep_end   anything else: a note carrying the text
#pragma once

#include <array>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/csv_table.hpp"

namespace glutescope::store {

struct AngleColumn {
  std::string column;
  AngleChannel channel;  // label, joint, motion, side (rate and data filled by motion_from_csv)
  double to_deg = 1.0;
};

struct ImuColumns {
  ImuSensor sensor;
  std::array<std::string, 3> accelerometer;
  std::array<std::string, 3> gyroscope;  // empty names: no gyroscope
  double to_g = 1.0, to_dps = 1.0;
  [[nodiscard]] bool has_gyroscope() const noexcept { return !gyroscope[0].empty(); }
};

struct EventColumn {
  std::string column;
  std::vector<std::pair<double, std::string>>
      codes;  // value -> event label; empty: every new value is a note
};

struct MotionMontage {
  std::vector<AngleColumn> angles;
  std::vector<ImuColumns> imus;
  std::vector<EventColumn> events;
  // The CSV columns to read as motion columns (CsvRequest::motion_columns), in the order motion_from_csv
  // expects them.
  [[nodiscard]] std::vector<std::string> columns() const;
};

// The [[angle]], [[imu]] and [[events]] sections of an import montage (all optional). Throws ImportError
// naming the file, the section entry and the key for an unknown key, joint, motion, side, unit or segment.
MotionMontage load_motion_montage(const std::filesystem::path& path);

struct ImportedMotion {
  std::vector<AngleChannel> angles;
  std::vector<ImuInfo> imu_info;
  std::vector<ImuSensor> imu_sensors;
  std::vector<ImuBlock> imu_blocks;  // one block per sensor
  std::vector<Event> events;
};

// The motion columns of `table` (parsed with montage.columns() as motion_columns) at EMG rate `rate_hz`.
// Throws ImportError naming the file and line for a value an IMU cannot hold (beyond ±16 g, ±2000 °/s).
ImportedMotion motion_from_csv(const MotionMontage& montage, const CsvTable& table, double rate_hz,
                               const std::string& source);

// A signal of a multi-rate recording (EDF/BDF) by label: its physical values and rate (rate_hz out);
// ImportError naming the file when there is no such signal.
using SignalSource = std::function<std::vector<double>(const std::string& label, double& rate_hz)>;
// The [[angle]] and [[imu]] sections of `montage` from the recording's signals (each at its own rate; the
// three axes of a sensor must share one), averaged to about 100 Hz as motion_from_csv does and cut at end_s.
// [[events]] sections are refused (EDF+ annotations are the events). Throws ImportError naming the file.
ImportedMotion motion_from_signals(const MotionMontage& montage, const SignalSource& signal, double end_s,
                                   const std::string& source);

// An event from a label (file comment) at time_s; std::nullopt-free: unknown labels become notes. Throws
// ImportError (with `where`) for a set_start or mvc_start whose exercise or muscle is unknown.
Event event_label(const std::string& label, double time_s, const std::string& where);

// BIDS-style events (tab-separated, a header naming at least onset, duration and trial_type; other columns
// ignored; "n/a" duration = 0) as events of a recording of end_s seconds. trial_type:
//   bridge | clamshell | other:NAME      set_start at onset, set_stop at onset + duration (duration > 0)
//   mvc:MUSCLE[:SIDE]                    an MVC trial over [onset, onset + duration]
//   rep                                  rep_start at onset, rep_end at onset + duration
//   an event label (file comment)        that event at onset; anything else: a note
// Throws ImportError "<file>:<line>: ..." for a missing column, a cell that is not a finite number, a
// negative onset or duration, or an event outside [0, end_s].
std::vector<Event> read_bids_events(const std::filesystem::path& path, double end_s);
// The events of one labelled interval (a BIDS row, an EDF+ annotation with its duration), by the trial_type
// rules above; `where` names the source in errors.
void add_labelled_events(const std::string& type, double onset_s, double duration_s, const std::string& where,
                         std::vector<Event>& out);

// Set events spanning [0, end_s] for `exercise` ("bridge", "clamshell", "other:NAME") when `events` has no
// set_start; ImportError naming the value when it is not one of those.
void add_implied_set(const std::string& exercise, double end_s, std::vector<Event>& events);

}  // namespace glutescope::store
