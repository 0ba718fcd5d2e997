#include "store/import.hpp"

#include <edflib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/core.h>
#include <toml++/toml.h>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/session_writer.hpp"

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
          "column", "label", "muscle", "side", "site", "unit", "microvolts_per_count"};
      const std::string_view key =
          k.str();  // a structured binding in a lambda is C++20 that clang 14 refuses
      if (std::none_of(std::begin(known), std::end(known), [&](const char* n) { return key == n; })) {
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

std::vector<std::string> split(const std::string& line, char delim) {
  std::vector<std::string> cells;
  if (delim == ' ') {
    std::istringstream s(line);
    std::string cell;
    while (s >> cell) cells.push_back(cell);
    return cells;
  }
  std::string cell;
  for (char c : line) {
    if (c == delim) {
      cells.push_back(cell);
      cell.clear();
    } else if (c != '\r') {
      cell += c;
    }
  }
  cells.push_back(cell);
  for (auto& c : cells) {
    while (!c.empty() && (c.front() == ' ' || c.front() == '"')) c.erase(c.begin());
    while (!c.empty() && (c.back() == ' ' || c.back() == '"')) c.pop_back();
  }
  return cells;
}

bool is_number(const std::string& s) {
  double v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

int decimals(const std::string& s) {
  const auto dot = s.find('.');
  if (dot == std::string::npos) return 0;
  std::size_t end = s.find_first_of("eE", dot);
  if (end == std::string::npos) end = s.size();
  return static_cast<int>(end - dot - 1);
}

// Writes the session to a temporary name beside `out` and renames it; removes the temporary on failure.
void write_session(const ImportOptions& options, const DeviceInfo& device, const Montage& montage,
                   const std::vector<std::int32_t>& counts, std::size_t channels) {
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
    wo.session_description = fmt::format("imported from {}", options.input.filename().string());
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

}  // namespace

ImportSummary import_csv(const ImportOptions& options) {
  const std::string src = options.input.string();
  if (options.montage.empty())
    throw ImportError("CSV import needs --montage FILE (columns to muscles and sides)");
  if (options.rate_hz.has_value() == !options.time_column.empty()) {
    throw ImportError("give exactly one of --rate HZ or --time-column NAME");
  }
  if (options.rate_hz && !(*options.rate_hz > 0.0 && std::isfinite(*options.rate_hz))) {
    throw ImportError(fmt::format("--rate {} must be a positive number of Hz", *options.rate_hz));
  }
  const std::vector<ColumnMap> map = load_import_montage(options.montage);
  std::ifstream in(options.input, std::ios::binary);
  if (!in) throw ImportError(fmt::format("{}: cannot open", src));
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    lines.push_back(line);
  }
  if (lines.empty()) throw ImportError(fmt::format("{}: no data rows", src));
  char delim = ' ';
  for (char d : {',', ';', '\t'}) {
    if (lines[0].find(d) != std::string::npos) {
      delim = d;
      break;
    }
  }
  std::vector<std::string> header = split(lines[0], delim);
  std::size_t first_data = 1;
  if (std::all_of(header.begin(), header.end(), is_number)) {  // no header row: columns "1", "2", ...
    for (std::size_t i = 0; i < header.size(); ++i) header[i] = std::to_string(i + 1);
    first_data = 0;
  }
  auto find_column = [&](const std::string& name) -> std::size_t {
    const auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      std::string names;
      for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
      throw ImportError(fmt::format("{}: montage column '{}' does not exist in {} (columns: {})",
                                    options.montage.string(), name, src, names));
    }
    return static_cast<std::size_t>(it - header.begin());
  };
  std::vector<std::size_t> columns;
  columns.reserve(map.size());
  for (const ColumnMap& m : map) columns.push_back(find_column(m.column));
  const std::optional<std::size_t> time_col =
      options.time_column.empty() ? std::nullopt : std::optional(find_column(options.time_column));

  const std::size_t rows = lines.size() - first_data;
  const std::size_t ch = map.size();
  std::vector<double> values(rows * ch);
  std::vector<std::string> cells_text(ch);
  std::vector<int> max_decimals(ch, 0);
  std::vector<double> max_abs(ch, 0.0);
  std::vector<double> times;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::vector<std::string> cells = split(lines[first_data + r], delim);
    auto cell = [&](std::size_t col) -> const std::string& {
      if (col >= cells.size()) {
        throw ImportError(fmt::format("{}: data row {} has {} columns, the header {}", src, r + 1,
                                      cells.size(), header.size()));
      }
      return cells[col];
    };
    for (std::size_t c = 0; c < ch; ++c) {
      const std::string& s = cell(columns[c]);
      double v = 0;
      const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
      if (res.ec != std::errc() || res.ptr != s.data() + s.size() || !std::isfinite(v)) {
        throw ImportError(
            fmt::format("{}: data row {}, column '{}': '{}' is not a number", src, r + 1, map[c].column, s));
      }
      values[r * ch + c] = v;
      max_decimals[c] = std::max(max_decimals[c], decimals(s));
      max_abs[c] = std::max(max_abs[c], std::fabs(v));
    }
    if (time_col) {
      const std::string& s = cell(*time_col);
      double t = 0;
      const auto res = std::from_chars(s.data(), s.data() + s.size(), t);
      if (res.ec != std::errc())
        throw ImportError(fmt::format("{}: data row {}: time '{}' is not a number", src, r + 1, s));
      times.push_back(t);
    }
  }
  double rate = options.rate_hz.value_or(0.0);
  if (time_col) {
    if (rows < 2)
      throw ImportError(
          fmt::format("{}: need at least 2 rows to derive the rate from '{}'", src, options.time_column));
    const double period = (times.back() - times.front()) / static_cast<double>(rows - 1);
    if (!(period > 0))
      throw ImportError(fmt::format("{}: time column '{}' does not increase", src, options.time_column));
    for (std::size_t r = 1; r < rows; ++r) {
      if (std::fabs(times[r] - times[0] - period * static_cast<double>(r)) > 0.01 * period) {
        throw ImportError(fmt::format("{}: time column '{}' is not uniform at row {} ({} s): resample first",
                                      src, options.time_column, r + 1, times[r]));
      }
    }
    rate = 1.0 / period;
  }

  DeviceInfo device;
  device.firmware_version = "import";
  device.serial_number = options.input.filename().string();
  device.emg_format = SampleFormat::int24;
  device.emg_rate_hz = rate;
  Montage montage;
  std::vector<double> resolution(ch);
  for (std::size_t c = 0; c < ch; ++c) {
    if (map[c].counts) {
      resolution[c] = 1.0;  // counts stay counts
    } else {
      int d = max_decimals[c];
      while (d > -9 && max_abs[c] * std::pow(10.0, d) >= 2147483647.0) --d;
      resolution[c] = std::pow(10.0, -d);  // in the CSV's unit
    }
    EmgChannel e = map[c].channel;
    e.microvolts_per_count = resolution[c] * map[c].to_uv;
    montage.emg.push_back(e);
    device.emg.push_back(EmgChannelInfo{e.label, 1.0, e.microvolts_per_count});
  }
  std::vector<std::int32_t> counts(rows * ch);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < ch; ++c) {
      counts[r * ch + c] = static_cast<std::int32_t>(std::llround(values[r * ch + c] / resolution[c]));
    }
  }
  write_session(options, device, montage, counts, ch);
  return ImportSummary{ch, rows, rate};
}

ImportSummary import_edf(const ImportOptions& options) {
  const std::string src = options.input.string();
  edf_hdr_struct hdr{};
  if (edfopen_file_readonly(src.c_str(), &hdr, EDFLIB_READ_ANNOTATIONS) != 0) {
    throw ImportError(fmt::format("{}: not a readable EDF/BDF file (EDFlib error {})", src, hdr.filetype));
  }
  struct Closer {
    int h;
    ~Closer() { edfclose_file(h); }
  } closer{hdr.handle};
  std::vector<ColumnMap> map;
  std::vector<int> signals;
  auto label_of = [&](int s) {
    std::string l = hdr.signalparam[s].label;
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l;
  };
  if (!options.montage.empty()) {
    map = load_import_montage(options.montage);
    for (const ColumnMap& m : map) {
      int found = -1;
      for (int s = 0; s < hdr.edfsignals; ++s) {
        if (label_of(s) == m.column) found = s;
      }
      if (found < 0) {
        std::string names;
        for (int s = 0; s < hdr.edfsignals; ++s) names += (names.empty() ? "" : ", ") + label_of(s);
        throw ImportError(fmt::format("{}: montage column '{}' is not a signal of {} (signals: {})",
                                      options.montage.string(), m.column, src, names));
      }
      signals.push_back(found);
    }
  } else {
    for (int s = 0; s < hdr.edfsignals; ++s) {
      ColumnMap m;
      m.column = label_of(s);
      m.channel.label = m.column;
      map.push_back(m);
      signals.push_back(s);
    }
  }
  if (signals.empty()) throw ImportError(fmt::format("{}: no signals", src));
  const auto& p0 = hdr.signalparam[signals[0]];
  const double record_s = static_cast<double>(hdr.datarecord_duration) / EDFLIB_TIME_DIMENSION;
  const double rate = p0.smp_in_datarecord / record_s;
  auto rows = static_cast<std::size_t>(p0.smp_in_file);
  // EDF/BDF hold whole data records; glutescope's own export marks the true end so the zero padding of the
  // last record is not imported as signal.
  for (long long n = 0; n < hdr.annotations_in_file; ++n) {
    edf_annotation_struct a{};
    if (edf_get_annotation(hdr.handle, static_cast<int>(n), &a) == 0 &&
        std::string_view(a.annotation) == kRecordingEndAnnotation) {
      const auto end_rows =
          static_cast<std::size_t>(std::llround(static_cast<double>(a.onset) / EDFLIB_TIME_DIMENSION * rate));
      rows = std::min(rows, end_rows);
    }
  }
  const std::size_t ch = signals.size();
  DeviceInfo device;
  device.firmware_version = "import";
  device.serial_number = options.input.filename().string();
  device.emg_format = SampleFormat::int24;
  device.emg_rate_hz = rate;
  Montage montage;
  std::vector<std::int32_t> counts(rows * ch);
  std::vector<int> buf(rows);
  for (std::size_t c = 0; c < ch; ++c) {
    const auto& p = hdr.signalparam[signals[c]];
    if (p.smp_in_datarecord != p0.smp_in_datarecord) {
      throw ImportError(fmt::format("{}: signal '{}' has another rate than '{}'; map signals of one rate",
                                    src, label_of(signals[c]), label_of(signals[0])));
    }
    std::string dim = p.physdimension;
    while (!dim.empty() && dim.back() == ' ') dim.pop_back();
    const double unit = dim == "mV" ? 1e3 : dim == "V" ? 1e6 : 1.0;  // uV (µV) or unknown: as is
    const double scale = (p.phys_max - p.phys_min) / static_cast<double>(p.dig_max - p.dig_min);
    const double offset = p.phys_min - p.dig_min * scale;  // physical = digital * scale + offset
    edfseek(hdr.handle, signals[c], 0, EDFSEEK_SET);
    if (edfread_digital_samples(hdr.handle, signals[c], static_cast<int>(rows), buf.data()) !=
        static_cast<int>(rows)) {
      throw ImportError(
          fmt::format("{}: cannot read signal '{}' (truncated file?)", src, label_of(signals[c])));
    }
    // Digital values are kept; a non-zero offset (asymmetric ranges) is folded in at the count resolution.
    const double offset_counts = std::round(offset / scale);
    for (std::size_t r = 0; r < rows; ++r)
      counts[r * ch + c] = static_cast<std::int32_t>(buf[r] + offset_counts);
    EmgChannel e = map[c].channel;
    e.microvolts_per_count = scale * unit;
    montage.emg.push_back(e);
    device.emg.push_back(EmgChannelInfo{e.label, 1.0, e.microvolts_per_count});
  }
  write_session(options, device, montage, counts, ch);
  return ImportSummary{ch, rows, rate};
}

}  // namespace glutescope::store
