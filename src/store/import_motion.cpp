#include "store/import_motion.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

#include "store/import.hpp"

namespace glutescope::store {
namespace {

constexpr double kAccelRangeG = 16.0;         // stored int16 scale of imported accelerometers
constexpr double kGyroRangeDps = 2000.0;      // and gyroscopes
constexpr double kStandardGravity = 9.80665;  // m/s² per g (CGPM 1901)
constexpr double kImportedMotionRateHz = 100.0;

toml::table parse_toml(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open the montage file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  try {
    return toml::parse(text.str(), path.string());
  } catch (const toml::parse_error& e) {
    throw ImportError(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
  }
}

void check_keys(const toml::table& t, std::initializer_list<const char*> known, const std::string& where) {
  for (const auto& entry : t) {
    const std::string_view key = entry.first.str();
    if (std::none_of(known.begin(), known.end(), [key](const char* n) { return key == n; }))
      throw ImportError(fmt::format("{}: unknown key '{}'", where, key));
  }
}

std::string text_of(const toml::table& t, const char* key, const std::string& fallback,
                    const std::string& where) {
  const auto node = t[key];
  if (!node) return fallback;
  const auto v = node.value<std::string>();
  if (!v) throw ImportError(fmt::format("{}: '{}' must be a string", where, key));
  return *v;
}

std::vector<const toml::table*> entries(const toml::table& doc, const char* name, const std::string& path) {
  std::vector<const toml::table*> out;
  const auto node = doc[name];
  if (!node) return out;
  const toml::array* a = node.as_array();
  if (a == nullptr)
    throw ImportError(fmt::format("{}: '{}' must be an array of tables ([[{}]])", path, name, name));
  for (std::size_t i = 0; i < a->size(); ++i) {
    const toml::table* t = (*a)[i].as_table();
    if (t == nullptr) throw ImportError(fmt::format("{}: [[{}]] entry {}: not a table", path, name, i + 1));
    out.push_back(t);
  }
  return out;
}

AngleColumn angle_entry(const toml::table& t, const std::string& where) {
  check_keys(t, {"column", "label", "joint", "motion", "side", "unit"}, where);
  AngleColumn a;
  a.column = text_of(t, "column", "", where);
  if (a.column.empty()) throw ImportError(where + ": missing 'column'");
  a.channel.label = text_of(t, "label", a.column, where);
  const std::string joint = text_of(t, "joint", "", where), motion = text_of(t, "motion", "", where);
  const auto j = parse_joint(joint);
  if (!j) throw ImportError(fmt::format("{}: joint '{}' is not hip, knee or pelvis", where, joint));
  const auto m = parse_joint_motion(motion);
  if (!m) {
    throw ImportError(
        fmt::format("{}: motion '{}' is not extension, flexion, abduction, tilt or roll", where, motion));
  }
  a.channel.joint = *j;
  a.channel.motion = *m;
  const std::string side = text_of(t, "side", "both", where);
  const auto s = side == "both" ? std::optional<Side>(Side::midline) : parse_side(side);
  if (!s) throw ImportError(fmt::format("{}: side '{}' is not left, right or both", where, side));
  a.channel.side = *s;
  const std::string unit = text_of(t, "unit", "deg", where);
  if (unit != "deg" && unit != "rad")
    throw ImportError(fmt::format("{}: unit '{}' is not deg or rad", where, unit));
  a.to_deg = unit == "rad" ? 180.0 / M_PI : 1.0;
  return a;
}

std::array<std::string, 3> axes(const toml::table& t, const char* key, const std::string& where) {
  std::array<std::string, 3> out;
  const auto node = t[key];
  if (!node) return out;
  const toml::array* a = node.as_array();
  if (a == nullptr || a->size() != 3)
    throw ImportError(fmt::format("{}: '{}' must list 3 column names (x, y, z)", where, key));
  for (std::size_t i = 0; i < 3; ++i) {
    const auto v = (*a)[i].value<std::string>();
    if (!v || v->empty()) throw ImportError(fmt::format("{}: '{}' must list 3 column names", where, key));
    out[i] = *v;
  }
  return out;
}

ImuColumns imu_entry(const toml::table& t, const std::string& where, std::size_t index) {
  check_keys(t, {"segment", "label", "accelerometer", "accelerometer_unit", "gyroscope", "gyroscope_unit"},
             where);
  ImuColumns imu;
  const std::string segment = text_of(t, "segment", "", where);
  const auto seg = parse_segment(segment);
  if (!seg) {
    throw ImportError(
        fmt::format("{}: segment '{}' is not sacrum, thigh_left, thigh_right or other", where, segment));
  }
  imu.sensor.segment = *seg;
  imu.sensor.label = text_of(t, "label", fmt::format("imu_{}", index + 1), where);
  imu.accelerometer = axes(t, "accelerometer", where);
  if (imu.accelerometer[0].empty()) throw ImportError(where + ": missing 'accelerometer'");
  imu.gyroscope = axes(t, "gyroscope", where);
  const std::string au = text_of(t, "accelerometer_unit", "g", where);
  if (au != "g" && au != "m/s2")
    throw ImportError(fmt::format("{}: accelerometer_unit '{}' is not g or m/s2", where, au));
  imu.to_g = au == "g" ? 1.0 : 1.0 / kStandardGravity;
  const std::string gu = text_of(t, "gyroscope_unit", "deg/s", where);
  if (gu != "deg/s" && gu != "rad/s")
    throw ImportError(fmt::format("{}: gyroscope_unit '{}' is not deg/s or rad/s", where, gu));
  imu.to_dps = gu == "deg/s" ? 1.0 : 180.0 / M_PI;
  return imu;
}

EventColumn event_entry(const toml::table& t, const std::string& where) {
  check_keys(t, {"column", "codes"}, where);
  EventColumn e;
  e.column = text_of(t, "column", "", where);
  if (e.column.empty()) throw ImportError(where + ": missing 'column'");
  if (const toml::table* codes = t["codes"].as_table()) {
    for (const auto& [k, v] : *codes) {
      const auto code = parse_printed_decimal(k.str());
      const auto label = v.value<std::string>();
      if (!code || !label) {
        throw ImportError(
            fmt::format("{}: codes: '{}' must be a number mapped to an event label", where, k.str()));
      }
      (void)event_label(*label, 0.0, where);  // an unknown exercise or muscle fails here, not mid-import
      e.codes.emplace_back(to_double(*code), *label);
    }
  }
  return e;
}

// Empty cells hold the previous value; leading empty cells take the first value (NaN if none).
std::vector<double> held(const std::vector<double>& column) {
  std::vector<double> out = column;
  double last = std::numeric_limits<double>::quiet_NaN();
  for (double& v : out) {
    if (std::isfinite(v))
      last = v;
    else
      v = last;
  }
  const auto first = std::find_if(out.begin(), out.end(), [](double v) { return std::isfinite(v); });
  if (first != out.end()) std::fill(out.begin(), first, *first);
  return out;
}

std::size_t decimation(double rate_hz) {
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(rate_hz / kImportedMotionRateHz)));
}

std::vector<double> block_means(const std::vector<double>& x, std::size_t block) {
  std::vector<double> out(x.size() / block);
  for (std::size_t r = 0; r < out.size(); ++r) {
    double sum = 0.0;
    for (std::size_t n = r * block; n < (r + 1) * block; ++n) sum += x[n];
    out[r] = sum / static_cast<double>(block);
  }
  return out;
}

std::int16_t to_count(double value, double range, double per_count, const std::string& column,
                      std::size_t line, const std::string& source, const char* unit) {
  if (!(std::abs(value) < range)) {
    throw ImportError(fmt::format("{}:{}: column '{}': {:g} {} is outside ±{:g} {}", source, line, column,
                                  value, unit, range, unit));
  }
  return static_cast<std::int16_t>(std::clamp<long>(std::lround(value / per_count), -32768, 32767));
}

ImuInfo imported_imu_info(const ImuColumns& imu, double rate_hz) {
  ImuInfo info;
  info.label = imu.sensor.label;
  info.rate_hz = rate_hz;
  info.accel_range_g = kAccelRangeG;
  info.accel_g_per_count = kAccelRangeG / 32768.0;
  info.gyro_range_dps = imu.has_gyroscope() ? kGyroRangeDps : 0.0;
  info.gyro_dps_per_count = imu.has_gyroscope() ? kGyroRangeDps / 32768.0 : 0.0;
  return info;
}

// One sensor's axes (accelerometer x, y, z, then gyroscope x, y, z when it has one) as int16 counts; `line`
// maps a row to the file line (or sample) named when a value is beyond the stored range.
ImuBlock imu_block(const ImuColumns& imu, const ImuInfo& info, const std::array<std::vector<double>, 6>& axis,
                   std::size_t sensor, const std::function<std::size_t(std::size_t)>& line,
                   const std::string& source) {
  ImuBlock b;
  b.sensor = static_cast<std::uint8_t>(sensor);
  const std::size_t n = axis[0].size();
  b.accel.resize(3 * n);
  b.gyro.assign(3 * n, 0);
  for (std::size_t r = 0; r < n; ++r) {
    for (std::size_t k = 0; k < 3; ++k) {
      b.accel[3 * r + k] = to_count(axis[k][r] * imu.to_g, kAccelRangeG, info.accel_g_per_count,
                                    imu.accelerometer[k], line(r), source, "g");
      if (imu.has_gyroscope()) {
        b.gyro[3 * r + k] = to_count(axis[3 + k][r] * imu.to_dps, kGyroRangeDps, info.gyro_dps_per_count,
                                     imu.gyroscope[k], line(r), source, "deg/s");
      }
    }
  }
  return b;
}

}  // namespace

std::vector<std::string> MotionMontage::columns() const {
  std::vector<std::string> out;
  for (const AngleColumn& a : angles) out.push_back(a.column);
  for (const ImuColumns& i : imus) {
    for (const std::string& c : i.accelerometer) out.push_back(c);
    if (i.has_gyroscope()) {
      for (const std::string& c : i.gyroscope) out.push_back(c);
    }
  }
  for (const EventColumn& e : events) out.push_back(e.column);
  return out;
}

MotionMontage load_motion_montage(const std::filesystem::path& path) {
  const toml::table doc = parse_toml(path);
  const std::string p = path.string();
  MotionMontage m;
  const auto angles = entries(doc, "angle", p);
  for (std::size_t i = 0; i < angles.size(); ++i)
    m.angles.push_back(angle_entry(*angles[i], fmt::format("{}: [[angle]] entry {}", p, i + 1)));
  const auto imus = entries(doc, "imu", p);
  for (std::size_t i = 0; i < imus.size(); ++i)
    m.imus.push_back(imu_entry(*imus[i], fmt::format("{}: [[imu]] entry {}", p, i + 1), i));
  const auto events = entries(doc, "events", p);
  for (std::size_t i = 0; i < events.size(); ++i)
    m.events.push_back(event_entry(*events[i], fmt::format("{}: [[events]] entry {}", p, i + 1)));
  return m;
}

Event event_label(const std::string& label, double time_s, const std::string& where) {
  Event e;
  e.time_s = time_s;
  const auto starts = [&](std::string_view prefix) { return label.rfind(prefix, 0) == 0; };
  if (starts("set_start:")) {
    e.kind = EventKind::set_start;
    const std::string ex = label.substr(10);
    if (ex.rfind("other:", 0) == 0 && ex.size() > 6) {
      e.exercise = Exercise::other;
      e.text = ex.substr(6);
    } else if (ex == "bridge" || ex == "clamshell") {
      e.exercise = *parse_exercise(ex);
    } else {
      throw ImportError(
          fmt::format("{}: '{}': exercise is not bridge, clamshell or other:NAME", where, label));
    }
  } else if (starts("mvc_start:")) {
    e.kind = EventKind::set_start;
    e.exercise = Exercise::mvc;
    const std::string rest = label.substr(10);
    const std::size_t colon = rest.find(':');
    const auto muscle = parse_muscle(rest.substr(0, colon));
    const auto side =
        colon == std::string::npos ? std::optional<Side>(Side::unknown) : parse_side(rest.substr(colon + 1));
    if (!muscle || !side) throw ImportError(fmt::format("{}: '{}': unknown muscle or side", where, label));
    e.muscle = *muscle, e.side = *side;
  } else if (label == "set_stop" || label == "mvc_stop") {
    e.kind = EventKind::set_stop;
    e.exercise = label == "mvc_stop" ? Exercise::mvc : Exercise::other;
  } else if (label == "rep_start" || label == "rep_end") {
    e.kind = label == "rep_start" ? EventKind::rep_start : EventKind::rep_end;
  } else {
    e.kind = EventKind::note;
    e.text = label;
  }
  return e;
}

void add_implied_set(const std::string& exercise, double end_s, std::vector<Event>& events) {
  if (exercise.empty()) return;
  const Event start = event_label("set_start:" + exercise, 0.0, "--exercise");
  if (std::any_of(events.begin(), events.end(),
                  [](const Event& e) { return e.kind == EventKind::set_start; }))
    return;
  Event stop = start;
  stop.kind = EventKind::set_stop;
  stop.time_s = end_s;
  events.push_back(start);  // order does not matter: the analysis sorts events by time
  events.push_back(stop);
}

namespace {

std::vector<std::string_view> tab_cells(std::string_view line) {
  std::vector<std::string_view> cells;
  for (std::size_t at = 0;;) {
    const std::size_t tab = line.find('\t', at);
    cells.push_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
    if (tab == std::string_view::npos) return cells;
    at = tab + 1;
  }
}

double bids_number(std::string_view cell, const std::string& where, const char* what) {
  if (cell == "n/a" && std::string_view(what) == "duration") return 0.0;
  const auto d = parse_printed_decimal(cell);
  if (!d || to_double(*d) < 0.0) {
    throw ImportError(
        fmt::format("{}: {} '{}' is not a finite number >= 0", where, what, cell.substr(0, 40)));
  }
  return to_double(*d);
}

}  // namespace

void add_labelled_events(const std::string& type, double onset, double duration, const std::string& where,
                         std::vector<Event>& out) {
  const auto pair = [&](const Event& start, EventKind stop_kind) {
    if (!(duration > 0.0)) throw ImportError(fmt::format("{}: '{}' needs a duration > 0", where, type));
    Event stop = start;
    stop.kind = stop_kind;
    stop.time_s = onset + duration;
    stop.text.clear();
    out.push_back(start);
    out.push_back(stop);
  };
  if (type == "bridge" || type == "clamshell" || type.rfind("other:", 0) == 0) {
    pair(event_label("set_start:" + type, onset, where), EventKind::set_stop);
  } else if (type.rfind("mvc:", 0) == 0) {
    pair(event_label("mvc_start:" + type.substr(4), onset, where), EventKind::set_stop);
  } else if (type == "rep") {
    pair(event_label("rep_start", onset, where), EventKind::rep_end);
  } else {
    out.push_back(event_label(type, onset, where));
  }
}

std::vector<Event> read_bids_events(const std::filesystem::path& path, double end_s) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open", path.string()));
  std::string line;
  std::size_t number = 0;
  std::array<std::size_t, 3> col{};
  std::vector<Event> out;
  while (std::getline(in, line)) {
    ++number;
    if (line.size() > kMaxCsvLineBytes)
      throw ImportError(fmt::format("{}:{}: line too long", path.string(), number));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string_view> cells = tab_cells(line);
    const std::string where = fmt::format("{}:{}", path.string(), number);
    if (number == 1) {
      const std::array<std::string_view, 3> names{"onset", "duration", "trial_type"};
      for (std::size_t k = 0; k < 3; ++k) {
        const auto it = std::find(cells.begin(), cells.end(), names[k]);
        if (it == cells.end())
          throw ImportError(fmt::format("{}: no '{}' column in the header", where, names[k]));
        col[k] = static_cast<std::size_t>(it - cells.begin());
      }
      continue;
    }
    if (line.empty()) continue;
    if (cells.size() <= *std::max_element(col.begin(), col.end()))
      throw ImportError(fmt::format("{}: {} cells, fewer than the header names", where, cells.size()));
    const double onset = bids_number(cells[col[0]], where, "onset");
    const double duration = bids_number(cells[col[1]], where, "duration");
    if (onset + duration > end_s) {
      throw ImportError(fmt::format("{}: event {:g}-{:g} s is outside the recording (0-{:g} s)", where, onset,
                                    onset + duration, end_s));
    }
    add_labelled_events(std::string(cells[col[2]]), onset, duration, where, out);
  }
  if (number == 0) throw ImportError(fmt::format("{}: empty (no header)", path.string()));
  return out;
}

namespace {

// One signal averaged in blocks of round(rate / 100) samples and cut at end_s; rate_hz becomes the new rate.
std::vector<double> motion_signal(const SignalSource& signal, const std::string& label, double end_s,
                                  double& rate_hz) {
  std::vector<double> x = signal(label, rate_hz);
  x.resize(std::min(x.size(), static_cast<std::size_t>(std::max(0.0, end_s * rate_hz))));
  const std::size_t block = decimation(rate_hz);
  rate_hz /= static_cast<double>(block);
  return block_means(x, block);
}

}  // namespace

ImportedMotion motion_from_signals(const MotionMontage& montage, const SignalSource& signal, double end_s,
                                   const std::string& source) {
  if (!montage.events.empty()) {
    throw ImportError(
        fmt::format("{}: [[events]] columns are for CSV; an EDF+/BDF+ file's events are its "
                    "annotations",
                    source));
  }
  ImportedMotion out;
  for (const AngleColumn& a : montage.angles) {
    AngleChannel ch = a.channel;
    ch.deg = motion_signal(signal, a.column, end_s, ch.rate_hz);
    for (double& v : ch.deg) v *= a.to_deg;
    out.angles.push_back(std::move(ch));
  }
  for (const ImuColumns& imu : montage.imus) {
    std::array<std::vector<double>, 6> axis;
    std::array<double, 6> rate{};
    const std::size_t axes = imu.has_gyroscope() ? 6 : 3;
    for (std::size_t k = 0; k < axes; ++k)
      axis[k] = motion_signal(signal, k < 3 ? imu.accelerometer[k] : imu.gyroscope[k - 3], end_s, rate[k]);
    for (std::size_t k = 1; k < axes; ++k) {
      if (rate[k] != rate[0] || axis[k].size() != axis[0].size()) {
        throw ImportError(
            fmt::format("{}: IMU '{}': its signals differ in rate or length", source, imu.sensor.label));
      }
    }
    ImuInfo info = imported_imu_info(imu, rate[0]);
    out.imu_blocks.push_back(imu_block(
        imu, info, axis, out.imu_info.size(), [&](std::size_t r) { return r; }, source));
    out.imu_info.push_back(info);
    out.imu_sensors.push_back(imu.sensor);
  }
  return out;
}

ImportedMotion motion_from_csv(const MotionMontage& montage, const CsvTable& table, double rate_hz,
                               const std::string& source) {
  ImportedMotion out;
  const std::size_t block = decimation(rate_hz);
  const double motion_rate = rate_hz / static_cast<double>(block);
  std::size_t col = 0;
  for (const AngleColumn& a : montage.angles) {
    AngleChannel ch = a.channel;
    ch.rate_hz = motion_rate;
    std::vector<double> deg = held(table.motion.at(col++));
    for (double& v : deg) v *= a.to_deg;
    ch.deg = block_means(deg, block);
    out.angles.push_back(std::move(ch));
  }
  for (const ImuColumns& imu : montage.imus) {
    const ImuInfo info = imported_imu_info(imu, motion_rate);
    std::array<std::vector<double>, 6> axis;
    for (std::size_t k = 0; k < 3; ++k) axis[k] = block_means(held(table.motion.at(col++)), block);
    if (imu.has_gyroscope()) {
      for (std::size_t k = 3; k < 6; ++k) axis[k] = block_means(held(table.motion.at(col++)), block);
    }
    const auto line = [&](std::size_t r) {
      return table.lines.at(std::min(table.lines.size() - 1, r * block));
    };
    out.imu_blocks.push_back(imu_block(imu, info, axis, out.imu_info.size(), line, source));
    out.imu_info.push_back(info);
    out.imu_sensors.push_back(imu.sensor);
  }
  for (const EventColumn& e : montage.events) {
    const std::vector<double>& v = table.motion.at(col++);
    double last = std::numeric_limits<double>::quiet_NaN();
    for (std::size_t r = 0; r < v.size(); ++r) {
      if (!std::isfinite(v[r]) || v[r] == last) continue;  // empty or held: no new event
      last = v[r];
      if (v[r] == 0.0) continue;
      std::string label = fmt::format("{}: {:g}", e.column, v[r]);
      for (const auto& [code, name] : e.codes) {
        if (code == v[r]) label = name;
      }
      Event ev =
          event_label(label, static_cast<double>(r) / rate_hz, fmt::format("{}:{}", source, table.lines[r]));
      ev.emg_sample = static_cast<double>(r);
      out.events.push_back(std::move(ev));
    }
  }
  return out;
}

}  // namespace glutescope::store
