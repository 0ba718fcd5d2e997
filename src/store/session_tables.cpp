// The session tables written once at close and the label maps of their enum columns (docs/SESSION_FORMAT.md
// §2). Moved out of session_writer.cpp, which keeps the streaming and durability logic.
#include "store/session_tables.hpp"

#include <cmath>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace glutescope::store {

namespace layout {

LabelMap event_kind_labels() {
  return {{0, "marker"},    {1, "set_start"}, {2, "set_stop"},    {3, "note"},
          {4, "lead_off"},  {5, "lead_on"},   {6, "battery_low"}, {7, "disconnect"},
          {8, "reconnect"}, {9, "overflow"},  {10, "rep_start"},  {11, "rep_end"}};
}

LabelMap exercise_labels() {
  LabelMap map;
  for (auto e : {Exercise::bridge, Exercise::clamshell, Exercise::mvc, Exercise::other}) {
    map.emplace_back(static_cast<std::uint8_t>(e), std::string(to_string(e)));
  }
  return map;
}

LabelMap muscle_labels() {
  LabelMap map;
  for (auto m : {Muscle::gluteus_maximus, Muscle::gluteus_medius, Muscle::erector_spinae_lumbar,
                 Muscle::biceps_femoris, Muscle::tensor_fasciae_latae, Muscle::other}) {
    map.emplace_back(static_cast<std::uint8_t>(m), std::string(to_string(m)));
  }
  return map;
}

LabelMap side_labels() {
  LabelMap map;
  for (auto s : {Side::left, Side::right, Side::midline, Side::unknown}) {
    map.emplace_back(static_cast<std::uint8_t>(s), std::string(to_string(s)));
  }
  return map;
}

LabelMap stream_labels() { return {{0, "emg"}, {1, "imu"}}; }

}  // namespace layout

std::string iso8601_now() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char text[64];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S%z", &local);
  std::string s(text);
  // +0100 → +01:00 (ISO 8601 extended); built, not insert()ed, which trips GCC 12's -Wrestrict false positive
  if (s.size() >= 5) s = s.substr(0, s.size() - 2) + ':' + s.substr(s.size() - 2);
  return s;
}

void write_label_map(hid_t object, const layout::LabelMap& map, const Hdf5Where& where) {
  std::vector<std::uint8_t> values;
  std::vector<std::string> names;
  for (const auto& [v, n] : map) {
    values.push_back(v);
    names.push_back(n);
  }
  write_array_attribute(object, "label_values", values, where);
  write_string_array_attribute(object, "label_names", names, where);
}

GroupHandle create_group(hid_t file, const std::string& path, const Hdf5Where& where) {
  PropListHandle lcpl(checked(H5Pcreate(H5P_LINK_CREATE), "create link property list for", where));
  check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "set intermediate groups for", where);
  return GroupHandle(checked(H5Gcreate2(file, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                             "create group", Hdf5Where{where.file, path}));
}

void write_events_table(hid_t f, const std::vector<Event>& events, const std::string& file_path) {
  const Hdf5Where w{file_path, layout::kEvents};
  auto g = create_group(f, layout::kEvents, Hdf5Where{file_path, "/"});
  std::vector<double> time_s, emg_sample;
  std::vector<std::uint8_t> kind, exercise, muscle, side;
  std::vector<std::int32_t> channel;
  std::vector<std::string> text;
  for (const auto& e : events) {
    time_s.push_back(e.time_s);
    emg_sample.push_back(e.emg_sample.value_or(std::numeric_limits<double>::quiet_NaN()));
    kind.push_back(static_cast<std::uint8_t>(e.kind));
    exercise.push_back(static_cast<std::uint8_t>(e.exercise));
    muscle.push_back(static_cast<std::uint8_t>(e.muscle));
    side.push_back(static_cast<std::uint8_t>(e.side));
    channel.push_back(e.channel);
    text.push_back(e.text);
  }
  write_column(g.get(), "time_s", time_s, w);
  write_column(g.get(), "kind", kind, w);
  write_column(g.get(), "exercise", exercise, w);
  write_column(g.get(), "muscle", muscle, w);
  write_column(g.get(), "side", side, w);
  write_column(g.get(), "channel", channel, w);
  write_string_column(g.get(), "text", text, w);
  write_column(g.get(), "emg_sample", emg_sample, w);
  auto label = [&](const char* column, const layout::LabelMap& map) {
    DatasetHandle d(checked(H5Dopen2(g.get(), column, H5P_DEFAULT), "open dataset", w));
    write_label_map(d.get(), map, w);
  };
  label("kind", layout::event_kind_labels());
  label("exercise", layout::exercise_labels());
  label("muscle", layout::muscle_labels());
  label("side", layout::side_labels());
  write_string_array_attribute(
      g.get(), "colnames", {"time_s", "kind", "exercise", "muscle", "side", "channel", "text", "emg_sample"},
      w);
  write_string_attribute(g.get(), "description",
                         "events; time_s = seconds since session_start_time on the host clock; emg_sample = "
                         "the EMG sample index (fractional) of a device-stamped event from the device's own "
                         "clock, NaN for host-stamped events",
                         w);
}

void write_angle_channels(hid_t f, const std::vector<AngleChannel>& angles, const std::string& file_path) {
  if (angles.empty()) return;
  const Hdf5Where w{file_path, layout::kAngleGroup};
  GroupHandle g = create_group(f, layout::kAngleGroup, w);
  std::vector<std::string> label, joint, motion, side;
  std::vector<double> rate;
  for (std::size_t k = 0; k < angles.size(); ++k) {
    const AngleChannel& a = angles[k];
    if (!(std::isfinite(a.rate_hz) && a.rate_hz > 0.0))
      throw std::invalid_argument("angle channel '" + a.label + "': rate must be positive");
    label.push_back(a.label);
    joint.emplace_back(to_string(a.joint));
    motion.emplace_back(to_string(a.motion));
    side.emplace_back(to_string(a.side));
    rate.push_back(a.rate_hz);
    write_column(g.get(), "data_" + std::to_string(k), a.deg, w);
  }
  write_string_column(g.get(), "label", label, w);
  write_string_column(g.get(), "joint", joint, w);
  write_string_column(g.get(), "motion", motion, w);
  write_string_column(g.get(), "side", side, w);
  write_string_column(g.get(), "unit", std::vector<std::string>(angles.size(), "deg"), w);
  write_column(g.get(), "rate_hz", rate, w);
  write_string_attribute(g.get(), "description",
                         "angle channels (goniometer, motion capture): data_<k> in degrees, sample n at "
                         "n / rate_hz[k] s on the EMG clock, NaN where the source had no value",
                         w);
}

void write_gaps_table(hid_t f, const std::vector<Gap>& gaps, const std::string& file_path) {
  const Hdf5Where w{file_path, layout::kGaps};
  auto g = create_group(f, layout::kGaps, Hdf5Where{file_path, "/"});
  std::vector<std::uint8_t> stream, sensor;
  std::vector<std::uint64_t> start, count;
  std::vector<double> host;
  for (const Gap& gap : gaps) {
    stream.push_back(static_cast<std::uint8_t>(gap.stream));
    sensor.push_back(gap.sensor);
    start.push_back(gap.start_sample);
    count.push_back(gap.count);
    host.push_back(gap.host_time_s);
  }
  write_column(g.get(), "stream", stream, w);
  write_column(g.get(), "sensor", sensor, w);
  write_column(g.get(), "start_sample", start, w);
  write_column(g.get(), "count", count, w);
  write_column(g.get(), "host_time_s", host, w);
  DatasetHandle d(checked(H5Dopen2(g.get(), "stream", H5P_DEFAULT), "open dataset", w));
  write_label_map(d.get(), layout::stream_labels(), w);
  write_string_array_attribute(g.get(), "colnames",
                               {"stream", "sensor", "start_sample", "count", "host_time_s"}, w);
  write_string_attribute(g.get(), "description", "samples the device sent but the host never received", w);
}

void write_timing_fit(hid_t f, const TimingFit& fit, const std::string& file_path) {
  const Hdf5Where w{file_path, layout::kTimingFit};
  auto g = create_group(f, layout::kTimingFit, Hdf5Where{file_path, "/"});
  write_scalar_attribute(g.get(), "offset_s", fit.offset_s, w);
  write_scalar_attribute(g.get(), "drift_ppm", fit.drift_ppm, w);
  write_scalar_attribute(g.get(), "residual_rms_s", fit.residual_rms_s, w);
  write_scalar_attribute(g.get(), "points", fit.points, w);
  write_string_attribute(
      g.get(), "formula",
      "host_time_s = offset_s + (1 + drift_ppm*1e-6) * device_time_us*1e-6 (points = 0: no fit)", w);
}

void write_statistics(hid_t f, const SessionStatistics& stats, const std::string& file_path) {
  const Hdf5Where w{file_path, layout::kStatistics};
  auto g = create_group(f, layout::kStatistics, Hdf5Where{file_path, "/"});
  write_scalar_attribute(g.get(), "emg_samples", stats.emg_samples, w);
  write_scalar_attribute(g.get(), "imu_samples", stats.imu_samples, w);
  write_scalar_attribute(g.get(), "frames_received", stats.frames_received, w);
  write_scalar_attribute(g.get(), "crc_errors", stats.crc_errors, w);
  write_scalar_attribute(g.get(), "lost_frames", stats.lost_frames, w);
  write_scalar_attribute(g.get(), "device_overflows", stats.device_overflows, w);
  write_scalar_attribute(g.get(), "queue_overflow_blocks", stats.queue_overflow_blocks, w);
  write_scalar_attribute(g.get(), "queue_overflow_samples", stats.queue_overflow_samples, w);
  write_scalar_attribute(g.get(), "queue_overflow_bytes", stats.queue_overflow_bytes, w);
}

}  // namespace glutescope::store
