#include "store/import.hpp"

#include <edflib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/csv_table.hpp"
#include "store/edf_header.hpp"
#include "store/import_motion.hpp"
#include "store/session_writer.hpp"
#include "store/xdf_reader.hpp"

namespace glutescope::store {
namespace {

struct ColumnMap {
  std::string column;
  EmgChannel channel;
  double to_uv = 1.0;   // multiply a value by this for µV
  bool counts = false;  // values are integer counts
};

std::vector<ColumnMap> load_import_montage(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open the montage file", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  toml::table doc;
  try {
    doc = toml::parse(text.str(), path.string());
  } catch (const toml::parse_error& e) {
    throw ImportError(fmt::format("{}:{}: {}", path.string(), e.source().begin.line, e.description()));
  }
  const toml::array* emg = doc["emg"].as_array();
  if (emg == nullptr || emg->empty()) throw ImportError(fmt::format("{}: no [[emg]] entries", path.string()));
  std::vector<ColumnMap> out;
  for (std::size_t i = 0; i < emg->size(); ++i) {
    const std::string where = fmt::format("{}: [[emg]] entry {}", path.string(), i + 1);
    const toml::table* t = (*emg)[i].as_table();
    if (t == nullptr) throw ImportError(where + ": not a table");
    for (const auto& [k, v] : *t) {
      static const char* known[] = {
          "column", "label", "muscle", "side", "site", "unit", "microvolts_per_count", "role"};
      const std::string_view key = k.str();  // a structured binding cannot be captured before C++20 DR P1091
      if (std::none_of(std::begin(known), std::end(known), [key](const char* n) { return key == n; })) {
        throw ImportError(fmt::format("{}: unknown key '{}'", where, k.str()));
      }
    }
    ColumnMap m;
    m.column = (*t)["column"].value_or(std::string{});
    if (m.column.empty()) throw ImportError(where + ": missing 'column'");
    m.channel.label = (*t)["label"].value_or(m.column);
    const std::string muscle = (*t)["muscle"].value_or(std::string("other"));
    const auto pm = parse_muscle(muscle);
    if (!pm) throw ImportError(fmt::format("{}: unknown muscle '{}'", where, muscle));
    m.channel.muscle = *pm;
    const std::string side = (*t)["side"].value_or(std::string("unknown"));
    const auto ps = parse_side(side);
    if (!ps)
      throw ImportError(fmt::format("{}: unknown side '{}' (left, right, midline, unknown)", where, side));
    m.channel.side = *ps;
    m.channel.electrode_site = (*t)["site"].value_or(std::string{});
    m.channel.role = (*t)["role"].value_or(std::string{});
    if (!m.channel.role.empty() && m.channel.role != "target" && m.channel.role != "compensator")
      throw ImportError(fmt::format("{}: role '{}' is not target or compensator", where, m.channel.role));
    const std::string unit = (*t)["unit"].value_or(std::string("uV"));
    if (unit == "uV")
      m.to_uv = 1.0;
    else if (unit == "mV")
      m.to_uv = 1e3;
    else if (unit == "V")
      m.to_uv = 1e6;
    else if (unit == "counts") {
      m.counts = true;
      m.to_uv = (*t)["microvolts_per_count"].value_or(1.0);
      if (!(m.to_uv > 0.0)) throw ImportError(where + ": microvolts_per_count must be > 0");
    } else {
      throw ImportError(fmt::format("{}: unknown unit '{}' (uV, mV, V, counts)", where, unit));
    }
    out.push_back(std::move(m));
  }
  return out;
}

// IMU blocks (in chunks, as a device would send them), angle channels and events of an import.
void write_motion(SessionWriter& writer, const ImportedMotion& motion, const DeviceInfo& device) {
  for (const ImuBlock& whole : motion.imu_blocks) {
    const double rate = device.imu.at(whole.sensor).rate_hz;
    const std::size_t rows = whole.samples(), block_rows = 1024;
    for (std::size_t r = 0; r < rows; r += block_rows) {
      ImuBlock b;
      b.sensor = whole.sensor;
      b.first_sample = r;
      const std::size_t n = std::min(block_rows, rows - r);
      const auto at = [&](std::size_t row) { return static_cast<std::ptrdiff_t>(3 * row); };
      b.accel.assign(whole.accel.begin() + at(r), whole.accel.begin() + at(r + n));
      b.gyro.assign(whole.gyro.begin() + at(r), whole.gyro.begin() + at(r + n));
      b.device_time_us = static_cast<std::uint64_t>(std::llround(static_cast<double>(r) / rate * 1e6));
      b.host_time_s = static_cast<double>(r) / rate;
      writer.append(b);
    }
  }
  for (const Event& e : motion.events) writer.add_event(e);
  writer.set_angle_channels(motion.angles);
}

// EDF+/BDF+ annotations as events (import_motion.hpp: add_labelled_events), except glutescope's own
// recording-end marker; one outside [0, end_s] is an ImportError naming the annotation.
std::vector<Event> edf_annotation_events(const edf_hdr_struct& hdr, const std::string& src, double end_s) {
  std::vector<Event> out;
  for (long long n = 0; n < hdr.annotations_in_file; ++n) {
    edf_annotation_struct a{};
    if (edf_get_annotation(hdr.handle, static_cast<int>(n), &a) != 0) {
      throw ImportError(fmt::format("{}: annotation {} cannot be read", src, n + 1));
    }
    const std::string text(a.annotation, strnlen(a.annotation, sizeof a.annotation));
    if (text == kRecordingEndAnnotation) continue;
    const double onset = static_cast<double>(a.onset) / EDFLIB_TIME_DIMENSION;
    const double duration =
        a.duration_l > 0 ? static_cast<double>(a.duration_l) / EDFLIB_TIME_DIMENSION : 0.0;
    const std::string where = fmt::format("{}: annotation {} ('{}')", src, n + 1, text.substr(0, 40));
    if (onset < 0.0 || onset + duration > end_s + 1e-9) {
      throw ImportError(fmt::format("{} at {:g}-{:g} s is outside the recording (0-{:g} s)", where, onset,
                                    onset + duration, end_s));
    }
    add_labelled_events(text, onset, duration, where, out);
  }
  return out;
}

// Writes the session to a temporary name beside `out` and renames it; removes the temporary on failure.
void write_session(const ImportOptions& options, const DeviceInfo& device, const Montage& montage,
                   const std::vector<std::int32_t>& counts, std::size_t channels,
                   const std::string& precision_note = {}, const ImportedMotion& motion = {}) {
  if (options.subject_id.empty())
    throw ImportError("no subject id given (--subject ID, a pseudonymous code)");
  if (std::filesystem::exists(options.out) && !options.force) {
    throw ImportError(
        fmt::format("{} already exists: choose another name or add --force", options.out.string()));
  }
  const std::filesystem::path tmp = fmt::format("{}.tmp-{}", options.out.string(), ::getpid());
  try {
    SessionWriterOptions wo;
    wo.force = true;
    wo.journal = false;
    wo.session_description =
        fmt::format("imported from {}{}", options.input.filename().string(), precision_note);
    SessionWriter writer(tmp, device, montage, options.subject_id, wo);
    const std::size_t rows = channels == 0 ? 0 : counts.size() / channels;
    const std::size_t block_rows = 4096;
    for (std::size_t r = 0; r < rows; r += block_rows) {
      EmgBlock b;
      b.first_sample = r;
      b.channels = static_cast<std::uint32_t>(channels);
      const std::size_t n = std::min(block_rows, rows - r);
      b.counts.assign(counts.begin() + static_cast<std::ptrdiff_t>(r * channels),
                      counts.begin() + static_cast<std::ptrdiff_t>((r + n) * channels));
      b.device_time_us =
          static_cast<std::uint64_t>(std::llround(static_cast<double>(r) / device.emg_rate_hz * 1e6));
      b.host_time_s = static_cast<double>(r) / device.emg_rate_hz;
      writer.append(b);
    }
    write_motion(writer, motion, device);
    writer.close();
    std::filesystem::rename(tmp, options.out);
  } catch (const ImportError&) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  } catch (const std::exception& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    std::filesystem::remove(tmp.string() + ".journal", ec);
    throw ImportError(fmt::format("{}: {}", options.out.string(), e.what()));
  }
}

// The device of an import: the file's name as serial number, EMG at `rate_hz` (channels added by the caller).
DeviceInfo imported_device(const ImportOptions& options, double rate_hz) {
  DeviceInfo device;
  device.firmware_version = "import";
  device.serial_number = options.input.filename().string();
  device.emg_format = SampleFormat::int24;
  device.emg_rate_hz = rate_hz;
  return device;
}

// Rates an import accepts: those a device may state (DeviceInfoLimits).
void check_rate(double rate_hz, const std::string& what) {
  if (!(std::isfinite(rate_hz) && rate_hz >= DeviceInfoLimits::min_rate_hz &&
        rate_hz <= DeviceInfoLimits::max_emg_rate_hz)) {
    throw ImportError(fmt::format("{} {:g} Hz is outside {:g} to {:g} Hz", what, rate_hz,
                                  DeviceInfoLimits::min_rate_hz, DeviceInfoLimits::max_emg_rate_hz));
  }
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open", path.string()));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ImportError(fmt::format("{}: read error", path.string()));
  return text.str();
}

// Sample rate from a time column in seconds: increasing and uniform to ±1 % of a period.
double rate_from_times(const CsvTable& table, const std::string& src, const std::string& column) {
  const std::vector<double>& t = table.times_s;
  if (t.size() < 2) {
    throw ImportError(fmt::format("{}: need at least 2 rows to derive the rate from '{}'", src, column));
  }
  const double period = (t.back() - t.front()) / static_cast<double>(t.size() - 1);
  if (!(period > 0.0) || !std::isfinite(period)) {
    throw ImportError(fmt::format("{}: time column '{}' does not increase", src, column));
  }
  for (std::size_t r = 1; r < t.size(); ++r) {
    if (std::fabs(t[r] - t[0] - period * static_cast<double>(r)) > 0.01 * period) {
      throw ImportError(fmt::format("{}:{}: time column '{}' is not uniform ({} s): resample first", src,
                                    table.lines[r], column, t[r]));
    }
  }
  check_rate(1.0 / period, fmt::format("{}: the rate from time column '{}',", src, column));
  return 1.0 / period;
}

// The header bytes (256 × (ns + 1), at most 641 × 256) checked field by field (edf_header.hpp).
void check_edf_file_header(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open", path.string()));
  std::error_code ec;
  const std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) throw ImportError(fmt::format("{}: cannot read its size", path.string()));
  std::vector<std::uint8_t> head(std::min<std::uint64_t>(size, std::uint64_t{256} * (EDFLIB_MAXSIGNALS + 1)));
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  if (!in) throw ImportError(fmt::format("{}: read error", path.string()));
  check_edf_header(head, size, path.string());
}

// An EDF/BDF signal's label without the header's space padding.
std::string edf_label(const edf_hdr_struct& hdr, int s) {
  std::string l = hdr.signalparam[s].label;
  while (!l.empty() && l.back() == ' ') l.pop_back();
  return l;
}

double edf_rate(const edf_hdr_struct& hdr, int s) {
  return hdr.signalparam[s].smp_in_datarecord /
         (static_cast<double>(hdr.datarecord_duration) / EDFLIB_TIME_DIMENSION);
}

// EDFlib reads a signal with an int count: its samples must fit one.
void check_edf_samples(const edf_hdr_struct& hdr, int s, const std::string& src) {
  if (hdr.signalparam[s].smp_in_file > std::numeric_limits<int>::max()) {
    throw ImportError(fmt::format("{}: signal '{}' has {} samples, more than EDFlib reads at once", src,
                                  edf_label(hdr, s), hdr.signalparam[s].smp_in_file));
  }
}

// An EDF/BDF signal's physical values by label (import_motion.hpp: SignalSource), read whole.
SignalSource edf_signal_source(const edf_hdr_struct& hdr, const std::string& src) {
  return [&hdr, src](const std::string& label, double& rate_hz) {
    for (int s = 0; s < hdr.edfsignals; ++s) {
      if (edf_label(hdr, s) != label) continue;
      rate_hz = edf_rate(hdr, s);
      check_rate(rate_hz, fmt::format("{}: signal '{}' rate", src, label));
      check_edf_samples(hdr, s, src);
      std::vector<double> x(static_cast<std::size_t>(hdr.signalparam[s].smp_in_file));
      edfseek(hdr.handle, s, 0, EDFSEEK_SET);
      if (edfread_physical_samples(hdr.handle, s, static_cast<int>(x.size()), x.data()) !=
          static_cast<int>(x.size()))
        throw ImportError(fmt::format("{}: signal '{}' cannot be read", src, label));
      return x;
    }
    throw ImportError(fmt::format("{}: montage signal '{}' is not a signal of the file", src, label));
  };
}

// The EMG signals: the montage's [[emg]] columns by label (`map` read from it), or every signal as it is
// labelled when there is no montage.
std::vector<int> edf_emg_signals(const edf_hdr_struct& hdr, const ImportOptions& options,
                                 std::vector<ColumnMap>& map, const std::string& src) {
  std::vector<int> signals;
  if (options.montage.empty()) {
    for (int s = 0; s < hdr.edfsignals; ++s) {
      ColumnMap m;
      m.column = edf_label(hdr, s);
      m.channel.label = m.column;
      map.push_back(m);
      signals.push_back(s);
    }
    return signals;
  }
  map = load_import_montage(options.montage);
  for (const ColumnMap& m : map) {
    int found = -1;
    for (int s = 0; s < hdr.edfsignals; ++s) {
      if (edf_label(hdr, s) == m.column) found = s;
    }
    if (found < 0) {
      std::string names;
      for (int s = 0; s < hdr.edfsignals; ++s) names += (names.empty() ? "" : ", ") + edf_label(hdr, s);
      throw ImportError(fmt::format("{}: montage column '{}' is not a signal of {} (signals: {})",
                                    options.montage.string(), m.column, src, names));
    }
    signals.push_back(found);
  }
  return signals;
}

// Samples of signal `s` to import: EDF/BDF hold whole data records; glutescope's own export marks the true
// end so the zero padding of the last record is not imported as signal.
std::size_t edf_rows(const edf_hdr_struct& hdr, int s, double rate) {
  auto rows = static_cast<std::size_t>(hdr.signalparam[s].smp_in_file);
  for (long long n = 0; n < hdr.annotations_in_file; ++n) {
    edf_annotation_struct a{};
    if (edf_get_annotation(hdr.handle, static_cast<int>(n), &a) == 0 &&
        std::string_view(a.annotation) == kRecordingEndAnnotation) {
      const auto end_rows =
          static_cast<std::size_t>(std::llround(static_cast<double>(a.onset) / EDFLIB_TIME_DIMENSION * rate));
      rows = std::min(rows, end_rows);
    }
  }
  return rows;
}

// Channel c's digital values into counts[r * ch + c]; its montage channel and scale into montage/device.
void read_edf_emg(const edf_hdr_struct& hdr, int signal, const ColumnMap& m, std::size_t rows, std::size_t c,
                  std::size_t ch, const std::string& src, std::vector<std::int32_t>& counts,
                  std::vector<int>& buf, Montage& montage, DeviceInfo& device) {
  const auto& p = hdr.signalparam[signal];
  std::string dim = p.physdimension;
  while (!dim.empty() && dim.back() == ' ') dim.pop_back();
  const double unit = dim == "mV" ? 1e3 : dim == "V" ? 1e6 : 1.0;  // uV (µV) or unknown: as is
  const double scale = (p.phys_max - p.phys_min) / static_cast<double>(p.dig_max - p.dig_min);
  const double offset = p.phys_min - p.dig_min * scale;  // physical = digital * scale + offset
  edfseek(hdr.handle, signal, 0, EDFSEEK_SET);
  if (edfread_digital_samples(hdr.handle, signal, static_cast<int>(rows), buf.data()) !=
      static_cast<int>(rows))
    throw ImportError(
        fmt::format("{}: cannot read signal '{}' (truncated file?)", src, edf_label(hdr, signal)));
  // Digital values are kept; a non-zero offset (asymmetric ranges) is folded in at the count resolution.
  const double offset_counts = std::round(offset / scale);
  if (!(std::fabs(offset_counts) <= 2147483647.0 - 8388608.0)) {  // int32 holds any 24-bit value + offset
    throw ImportError(
        fmt::format("{}: signal '{}' physical minimum/maximum put zero {:g} counts away: beyond int32", src,
                    edf_label(hdr, signal), offset_counts));
  }
  for (std::size_t r = 0; r < rows; ++r)
    counts[r * ch + c] = static_cast<std::int32_t>(buf[r] + offset_counts);
  EmgChannel e = m.channel;
  e.microvolts_per_count = scale * unit;
  montage.emg.push_back(e);
  device.emg.push_back(EmgChannelInfo{e.label, 1.0, e.microvolts_per_count});
}

}  // namespace

ImportSummary import_csv(const ImportOptions& options) {
  const std::string src = options.input.string();
  if (options.montage.empty())
    throw ImportError("CSV import needs --montage FILE (columns to muscles and sides)");
  if (options.rate_hz.has_value() == !options.time_column.empty()) {
    throw ImportError("give exactly one of --rate HZ or --time-column NAME");
  }
  if (options.rate_hz) check_rate(*options.rate_hz, "--rate");
  const std::vector<ColumnMap> map = load_import_montage(options.montage);
  CsvRequest request;
  request.source = src;
  request.montage = options.montage.string();
  for (const ColumnMap& m : map) request.value_columns.push_back(m.column);
  const MotionMontage motion_montage = load_motion_montage(options.montage);
  request.motion_columns = motion_montage.columns();
  if (!options.time_column.empty()) request.time_column = options.time_column;
  const CsvTable table = parse_csv_table(read_text(options.input), request);
  const double rate = options.rate_hz ? *options.rate_hz : rate_from_times(table, src, options.time_column);

  const std::size_t rows = table.rows();
  const std::size_t ch = map.size();
  DeviceInfo device = imported_device(options, rate);
  Montage montage;
  std::vector<std::int32_t> counts(rows * ch);
  std::string precision_note;
  ImportSummary summary{ch, rows, rate, {}};
  for (std::size_t c = 0; c < ch; ++c) {
    // Never finer than DeviceInfoLimits' 1 pV per count: no amplifier resolves less.
    const int finest =
        map[c].counts ? 0
                      : static_cast<int>(std::ceil(
                            std::log10(DeviceInfoLimits::min_microvolts_per_count / map[c].to_uv) - 1e-9));
    const ChannelCounts cc = to_counts(table, request, c, map[c].counts, finest);
    for (std::size_t r = 0; r < rows; ++r) counts[r * ch + c] = cc.counts[r];
    EmgChannel e = map[c].channel;
    e.microvolts_per_count = cc.resolution * map[c].to_uv;
    montage.emg.push_back(e);
    device.emg.push_back(EmgChannelInfo{e.label, 1.0, e.microvolts_per_count});
    if (cc.rounded > 0) {
      const std::string note = fmt::format(
          "column '{}': {} of {} values rounded to {:g} uV per count (largest error {:.3g} uV)",
          map[c].column, cc.rounded, rows, e.microvolts_per_count, cc.max_abs_error * map[c].to_uv);
      precision_note += "; " + note;
      summary.notes.push_back(note);
    }
  }
  ImportedMotion motion = motion_from_csv(motion_montage, table, rate, src);
  device.imu = motion.imu_info;
  montage.imu = motion.imu_sensors;
  if (!options.events_tsv.empty()) {
    for (Event& e : read_bids_events(options.events_tsv, static_cast<double>(rows) / rate))
      motion.events.push_back(std::move(e));
  }
  add_implied_set(options.exercise, static_cast<double>(rows) / rate, motion.events);
  if (auto problem = device_info_problem(device)) throw ImportError(fmt::format("{}: {}", src, *problem));
  if (!motion.angles.empty() || !motion.imu_blocks.empty() || !motion.events.empty()) {
    summary.notes.push_back(fmt::format("motion: {} angle channel(s), {} IMU(s), {} event(s)",
                                        motion.angles.size(), motion.imu_blocks.size(),
                                        motion.events.size()));
  }
  write_session(options, device, montage, counts, ch, precision_note, motion);
  return summary;
}

ImportSummary import_edf(const ImportOptions& options) {
  const std::string src = options.input.string();
  check_edf_file_header(options.input);
  edf_hdr_struct hdr{};
  if (edfopen_file_readonly(src.c_str(), &hdr, EDFLIB_READ_ANNOTATIONS) != 0) {
    throw ImportError(fmt::format("{}: not a readable EDF/BDF file: {} (EDFlib error {})", src,
                                  edflib_error_text(hdr.filetype), hdr.filetype));
  }
  struct Closer {
    int h;
    ~Closer() { edfclose_file(h); }
  } closer{hdr.handle};
  std::vector<ColumnMap> map;
  const std::vector<int> signals = edf_emg_signals(hdr, options, map, src);
  if (signals.empty()) throw ImportError(fmt::format("{}: no signals", src));
  const double rate = edf_rate(hdr, signals[0]);
  check_rate(rate, fmt::format("{}: signal '{}' rate", src, edf_label(hdr, signals[0])));
  check_edf_samples(hdr, signals[0], src);
  const std::size_t rows = edf_rows(hdr, signals[0], rate);
  const std::size_t ch = signals.size();
  DeviceInfo device = imported_device(options, rate);
  Montage montage;
  std::vector<std::int32_t> counts(rows * ch);
  std::vector<int> buf(rows);
  for (std::size_t c = 0; c < ch; ++c) {
    if (hdr.signalparam[signals[c]].smp_in_datarecord != hdr.signalparam[signals[0]].smp_in_datarecord) {
      throw ImportError(fmt::format("{}: signal '{}' has another rate than '{}'; map signals of one rate",
                                    src, edf_label(hdr, signals[c]), edf_label(hdr, signals[0])));
    }
    read_edf_emg(hdr, signals[c], map[c], rows, c, ch, src, counts, buf, montage, device);
  }
  const double end_s = static_cast<double>(rows) / rate;
  ImportedMotion implied;
  if (!options.montage.empty()) {
    implied =
        motion_from_signals(load_motion_montage(options.montage), edf_signal_source(hdr, src), end_s, src);
    device.imu = implied.imu_info;
    montage.imu = implied.imu_sensors;
  }
  if (auto problem = device_info_problem(device)) throw ImportError(fmt::format("{}: {}", src, *problem));
  implied.events = edf_annotation_events(hdr, src, end_s);
  if (!options.events_tsv.empty()) {
    for (Event& e : read_bids_events(options.events_tsv, end_s)) implied.events.push_back(std::move(e));
  }
  add_implied_set(options.exercise, end_s, implied.events);
  write_session(options, device, montage, counts, ch, {}, implied);
  return ImportSummary{ch, rows, rate, {}};
}

namespace {

// Whether `s` is named or typed `want` (an empty `want` matches every stream).
bool xdf_stream_is(const XdfStream& s, const std::string& want) {
  return want.empty() || s.name == want || s.type == want;
}

// Every stream as "'name' (type)", for messages.
std::string xdf_stream_list(const XdfFile& f) {
  std::string all;
  for (const XdfStream& s : f.streams)
    all += fmt::format("{}'{}' ({})", all.empty() ? "" : ", ", s.name, s.type);
  return all;
}

bool xdf_regular(const XdfStream& s) { return !s.is_string() && s.nominal_srate > 0.0 && s.samples() > 0; }

// A stream choice that names no stream of the kind it selects is refused, not read as "none".
void xdf_check_choice(const XdfFile& f, const std::string& want, bool (*kind)(const XdfStream&),
                      const char* what, const std::string& src) {
  if (want.empty()) return;
  for (const XdfStream& s : f.streams)
    if (kind(s) && xdf_stream_is(s, want)) return;
  throw ImportError(
      fmt::format("{}: no {} named or typed '{}' (streams: {})", src, what, want, xdf_stream_list(f)));
}

// The stream named or typed `want` (default: type "EMG"); exactly one must match.
const XdfStream& xdf_emg_stream(const XdfFile& f, const std::string& want, const std::string& src) {
  const std::string key = want.empty() ? "EMG" : want;
  const XdfStream* found = nullptr;
  for (const XdfStream& s : f.streams) {
    if (!xdf_stream_is(s, key)) continue;
    if (found != nullptr)
      throw ImportError(fmt::format("{}: more than one stream named or typed '{}'", src, key));
    found = &s;
  }
  if (found == nullptr)
    throw ImportError(
        fmt::format("{}: no stream named or typed '{}' (streams: {})", src, key, xdf_stream_list(f)));
  if (!xdf_regular(*found))
    throw ImportError(
        fmt::format("{}: EMG stream '{}' is not a regular numeric stream with samples", src, found->name));
  return *found;
}

// Values of one channel of a regular stream on a grid at its nominal rate from t0 (recorder clock, corrected
// time stamps), linearly interpolated, held before the first and after the last sample.
std::vector<double> xdf_on_grid(const XdfStream& s, std::size_t channel, double t0, double end_s) {
  const std::vector<double> t = corrected_time_stamps(s);
  const auto n = static_cast<std::size_t>(std::floor(end_s * s.nominal_srate)) + 1;
  std::vector<double> out(n);
  std::size_t j = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const double at = t0 + static_cast<double>(k) / s.nominal_srate;
    while (j + 1 < t.size() && t[j + 1] <= at) ++j;
    const double v0 = s.values[j * s.channel_count + channel];
    if (j + 1 >= t.size() || at <= t[j] || t[j + 1] <= t[j]) {
      out[k] = v0;
      continue;
    }
    const double v1 = s.values[(j + 1) * s.channel_count + channel];
    out[k] = v0 + (v1 - v0) * (at - t[j]) / (t[j + 1] - t[j]);
  }
  return out;
}

// [[imu]]/[[angle]] columns: a channel label of a regular numeric stream other than the EMG stream, among
// the streams named or typed `want` (empty: all). A label that more than one such stream carries is refused
// (two sensors both labelling a channel "ax" is common), naming the streams, rather than taken from the
// first.
SignalSource xdf_signal_source(const XdfFile& f, const XdfStream& emg, const std::string& want, double t0,
                               double end_s, const std::string& src) {
  return [&f, &emg, want, t0, end_s, src](const std::string& label, double& rate_hz) {
    const XdfStream* found = nullptr;
    std::size_t channel = 0;
    for (const XdfStream& s : f.streams) {
      if (&s == &emg || !xdf_regular(s) || !xdf_stream_is(s, want)) continue;
      const auto it = std::find(s.labels.begin(), s.labels.end(), label);
      if (it == s.labels.end()) continue;
      if (found != nullptr)
        throw ImportError(
            fmt::format("{}: channel '{}' is in streams '{}' and '{}': choose one with "
                        "--motion-stream NAME|TYPE",
                        src, label, found->name, s.name));
      found = &s;
      channel = static_cast<std::size_t>(it - s.labels.begin());
    }
    if (found == nullptr)
      throw ImportError(fmt::format("{}: no channel labelled '{}' in a regular stream other than the EMG{}",
                                    src, label,
                                    want.empty() ? "" : fmt::format(" named or typed '{}'", want)));
    check_rate(found->nominal_srate,
               fmt::format("{}: stream '{}' rate", src, found->name));  // bounds the grid
    rate_hz = found->nominal_srate;
    return xdf_on_grid(*found, channel, t0, end_s);
  };
}

// Each string stream's samples (first channel; only the streams named or typed `want`, empty: all) as events
// on the EMG clock (event_label, as CSV markers).
std::vector<Event> xdf_marker_events(const XdfFile& f, const std::string& want, double t0, double end_s,
                                     const std::string& src) {
  std::vector<Event> out;
  for (const XdfStream& s : f.streams) {
    if (!s.is_string() || !xdf_stream_is(s, want)) continue;
    const std::vector<double> t = corrected_time_stamps(s);
    for (std::size_t i = 0; i < s.samples(); ++i) {
      const std::string where = fmt::format("{}: stream '{}' sample {}", src, s.name, i + 1);
      const double at = t[i] - t0;
      if (!(at >= 0.0 && at <= end_s))
        throw ImportError(
            fmt::format("{} at {:g} s is outside the EMG recording (0-{:g} s)", where, at, end_s));
      out.push_back(event_label(s.strings[i * s.channel_count], at, where));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Event& a, const Event& b) { return a.time_s < b.time_s; });
  return out;
}

// Counts of one EMG channel: integers as they are for unit "counts", else the values at a resolution that
// puts the largest at 2^23 (float32 keeps 24 bits); microvolts_per_count set accordingly.
std::vector<std::int32_t> xdf_emg_counts(const XdfStream& s, std::size_t channel, ColumnMap& m,
                                         const std::string& src) {
  const std::size_t n = s.samples();
  std::vector<std::int32_t> out(n);
  double max_abs = 0.0;
  for (std::size_t r = 0; r < n; ++r)
    max_abs = std::max(max_abs, std::fabs(s.values[r * s.channel_count + channel]));
  const double step = m.counts ? 1.0 : (max_abs > 0.0 ? max_abs / 8388608.0 : 1.0);
  for (std::size_t r = 0; r < n; ++r) {
    const double v = s.values[r * s.channel_count + channel] / step;
    if (!std::isfinite(v) || std::fabs(v) > 2147483647.0 || (m.counts && v != std::round(v)))
      throw ImportError(fmt::format("{}: stream '{}' channel '{}' sample {}: {:g} is not {}", src, s.name,
                                    m.column, r + 1, v, m.counts ? "an int32 count" : "finite"));
    out[r] = static_cast<std::int32_t>(std::lround(v));
  }
  m.channel.microvolts_per_count = m.to_uv * step;
  return out;
}

// Where each stream's times came from (stored in the session's description): original first time stamp,
// the clock offset applied there, and the corrected one.
std::string xdf_stream_notes(const XdfFile& f) {
  std::string out;
  for (const XdfStream& s : f.streams) {
    if (s.samples() == 0) continue;
    const double corrected = corrected_time_stamps(s).front();
    out += fmt::format(
        "; XDF stream '{}' ({}): {} channels, {:g} Hz, {} samples, first time stamp {:.6f} s, "
        "clock offset {:+.6f} s ({} measurements) -> {:.6f} s",
        s.name, s.type, s.channel_count, s.nominal_srate, s.samples(), s.time_stamps.front(),
        corrected - s.time_stamps.front(), s.clock_offsets.size(), corrected);
  }
  return out;
}

}  // namespace

ImportSummary import_xdf(const ImportOptions& options) {
  const std::string src = options.input.string();
  if (options.montage.empty()) throw ImportError("XDF import needs --montage (the EMG stream's channels)");
  std::vector<ColumnMap> map = load_import_montage(options.montage);
  const XdfFile f = read_xdf(options.input);
  const XdfStream& emg = xdf_emg_stream(f, options.xdf_emg_stream, src);
  xdf_check_choice(f, options.xdf_motion_stream, xdf_regular, "regular numeric stream", src);
  xdf_check_choice(
      f, options.xdf_marker_stream, [](const XdfStream& s) { return s.is_string(); }, "string stream", src);
  const double rate = emg.nominal_srate;
  check_rate(rate, fmt::format("{}: stream '{}' rate", src, emg.name));
  const std::size_t rows = emg.samples(), ch = map.size();
  DeviceInfo device = imported_device(options, rate);
  Montage montage;
  std::vector<std::int32_t> counts(rows * ch);
  for (std::size_t c = 0; c < ch; ++c) {
    const auto it = std::find(emg.labels.begin(), emg.labels.end(), map[c].column);
    if (it == emg.labels.end())
      throw ImportError(fmt::format("{}: montage column '{}' is not a channel of stream '{}' in {}",
                                    options.montage.string(), map[c].column, emg.name, src));
    const std::vector<std::int32_t> one =
        xdf_emg_counts(emg, static_cast<std::size_t>(it - emg.labels.begin()), map[c], src);
    for (std::size_t r = 0; r < rows; ++r) counts[r * ch + c] = one[r];
    montage.emg.push_back(map[c].channel);
    device.emg.push_back(EmgChannelInfo{map[c].channel.label, 1.0, map[c].channel.microvolts_per_count});
  }
  const double t0 = corrected_time_stamps(emg).front();
  const double end_s = static_cast<double>(rows) / rate;
  ImportedMotion motion =
      motion_from_signals(load_motion_montage(options.montage),
                          xdf_signal_source(f, emg, options.xdf_motion_stream, t0, end_s, src), end_s, src);
  device.imu = motion.imu_info;
  montage.imu = motion.imu_sensors;
  if (auto problem = device_info_problem(device)) throw ImportError(fmt::format("{}: {}", src, *problem));
  motion.events = xdf_marker_events(f, options.xdf_marker_stream, t0, end_s, src);
  if (!options.events_tsv.empty()) {
    for (Event& e : read_bids_events(options.events_tsv, end_s)) motion.events.push_back(std::move(e));
  }
  add_implied_set(options.exercise, end_s, motion.events);
  write_session(options, device, montage, counts, ch, xdf_stream_notes(f), motion);
  return ImportSummary{ch, rows, rate, {}};
}

}  // namespace glutescope::store
