#include "store/session_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <span>
#include <system_error>

#include "store/hdf5_handle.hpp"
#include "store/hdf5_watchdog.hpp"
#include "store/session_checks.hpp"
#include "store/session_layout.hpp"

namespace glutescope::store {
namespace {

using session_checks::check_length;
using session_checks::check_positive_column;
using session_checks::check_rate;
using session_checks::check_row_dataset;
using session_checks::dataset_rows;
using session_checks::finite_positive;
using session_checks::num;
using session_checks::read_rows;
using session_checks::read_rows_into;
using session_checks::table_column;
using session_checks::table_strings;
using session_checks::throw_format;

struct StreamDatasets {
  std::string group_path;
  std::vector<DatasetHandle> data;  // EMG: data; IMU: accelerometer, gyroscope[, magnetometer]
  DatasetHandle sample_index, block_first_row, block_host_time, block_device_time_us;
};

int major_version(const std::string& version) {
  int major = -1;
  const auto dot = version.find('.');
  const std::string head = version.substr(0, dot);
  const auto [ptr, ec] = std::from_chars(head.data(), head.data() + head.size(), major);
  if (ec != std::errc() || ptr != head.data() + head.size()) return -1;
  return major;
}

template <typename E>
E enum_or(std::uint8_t value) {
  return static_cast<E>(value);
}

// SWMR-read retries a metadata read whose checksum fails (the writer may be mid-write), sleeping between
// attempts with a delay that doubles each time; HDF5 1.10's default of 100 attempts never ends on a file
// whose checksum is simply wrong (one flipped byte in the superblock: still asleep after 590 s). Measured on
// Debian 12, HDF5 1.10.8, a corrupt superblock checksum: 20 attempts fail in 8 ms, 25 in 50 ms, 28 in 0.29 s.
// 28 gives a live reader racing the writer ≈0.3 s of retries per object and a damaged file a fast failure.
constexpr unsigned kSwmrMetadataReadAttempts = 28;

bool opened_with_swmr(hid_t file) {
  unsigned intent = 0;
  return H5Fget_intent(file, &intent) >= 0 && (intent & H5F_ACC_SWMR_READ) != 0;
}

// Opens read-only: normally; else with SWMR-read (a live or crashed SWMR writer leaves the file flagged
// open); else, when allowed, ignoring a superblock end-of-file beyond the real one. Returns the id or throws
// one line.
hid_t open_session_file(const std::string& path, const SessionReaderOpenOptions& options, bool& truncated) {
  const auto where = Hdf5Where{path, "/"};
  PropListHandle swmr_fapl(checked(H5Pcreate(H5P_FILE_ACCESS), "create file access list for", where));
  check_status(H5Pset_metadata_read_attempts(swmr_fapl.get(), kSwmrMetadataReadAttempts),
               "set metadata read attempts for", where);
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id >= 0) return id;
  const Hdf5ErrorText normal = take_hdf5_error();
  id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, swmr_fapl.get());
  if (id >= 0) return id;
  Hdf5ErrorText swmr = take_hdf5_error();
  if (options.allow_truncated) {
    // "skip_eof_check" is the file-access property h5clear --filesize / --increment set (HDF5 ≥ 1.10.1,
    // src/H5Pfapl.c, H5F_ACS_SKIP_EOF_CHECK_NAME): the superblock's end-of-file may lie past the real end.
    const hbool_t skip = 1;
    if (H5Pexist(swmr_fapl.get(), "skip_eof_check") > 0 &&
        H5Pset(swmr_fapl.get(), "skip_eof_check", &skip) >= 0) {
      PropListHandle plain(checked(H5Pcopy(swmr_fapl.get()), "copy file access list for", where));
      id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, plain.get());
      if (id < 0) {
        H5Eclear2(H5E_DEFAULT);
        id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, swmr_fapl.get());
      }
      if (id >= 0) {
        truncated = true;
        return id;
      }
      swmr = take_hdf5_error();
    }
  }
  // One line: the normal open's innermost reason names the damage ("truncated file", "bad superblock
  // checksum"); the SWMR-read open's only when it differs. The stacks only with --verbose.
  std::string message = "cannot open " + path + ": damaged or truncated HDF5 file (" + normal.reason;
  if (swmr.reason != normal.reason) message += "; SWMR-read: " + swmr.reason;
  message += ")";
  if (hdf5_error_detail()) message += " [HDF5: " + normal.stack + " | SWMR-read: " + swmr.stack + "]";
  throw SessionFormatError(message);
}

}  // namespace

struct SessionReader::Impl {
  std::filesystem::path path;
  std::string path_text;
  std::uint64_t file_bytes = 0;  // sizes the watchdog's limit of each read (store/hdf5_watchdog.hpp)
  FileHandle file;
  bool swmr = false;
  bool truncated = false;
  SessionInfo info;
  std::size_t emg_channels = 0;
  bool emg_fits_int16 = false;  // /acquisition/emg/data stores integers that all fit int16
  StreamDatasets emg;
  std::vector<StreamDatasets> imu;
  std::vector<std::string> imu_labels;

  [[nodiscard]] Hdf5Where where(const std::string& object) const { return Hdf5Where{path_text, object}; }
  // Every public read runs inside one (HDF5 can loop forever on a damaged file).
  [[nodiscard]] Hdf5Watch watch() const noexcept { return Hdf5Watch(path_text, file_bytes); }

  DatasetHandle open_dataset(const std::string& object) const {
    if (!has_link(file.get(), object)) {
      throw SessionFormatError(path_text + " is damaged or not a v1 session: missing " + object);
    }
    return DatasetHandle(
        checked(H5Dopen2(file.get(), object.c_str(), H5P_DEFAULT), "open dataset", where(object)));
  }

  // Opens a stream's datasets and checks rank, shape and type of each before anything is read:
  // data [rows x width] integers of at most `max_bytes` bytes, sample_index / block_first_row /
  // block_device_time_us 1-D integers, block_host_time 1-D floats.
  StreamDatasets open_stream(const std::string& group, const std::vector<std::string>& data_names,
                             std::size_t width, std::size_t max_bytes) const {
    StreamDatasets s;
    s.group_path = group;
    for (const auto& n : data_names) {
      std::string dataset = group;
      dataset += '/';
      dataset += n;
      s.data.push_back(open_dataset(dataset));
      check_row_dataset(s.data.back().get(), width, H5T_INTEGER, max_bytes, where(dataset));
    }
    auto one_d = [&](const char* name, H5T_class_t type_class) {
      DatasetHandle d = open_dataset(group + "/" + name);
      check_row_dataset(d.get(), 0, type_class, 8, where(group + "/" + name));
      return d;
    };
    s.sample_index = one_d("sample_index", H5T_INTEGER);
    s.block_first_row = one_d("block_first_row", H5T_INTEGER);
    s.block_host_time = one_d("block_host_time", H5T_FLOAT);
    s.block_device_time_us = one_d("block_device_time_us", H5T_INTEGER);
    return s;
  }

  // The counts → unit attributes of a data dataset (NWB-style): conversion finite > 0, offset finite, and
  // for EMG one finite positive channel_conversion per channel. Checked at open: every reader relies on them.
  // `may_be_absent`: a gyroscope of an accelerometer-only IMU (OpenBCI Cyton, BITalino, Trigno) is written as
  // zeros with conversion 0 and offset 0 (docs/SESSION_FORMAT.md, docs/DEVICES.md): accepted, exactly that.
  void check_conversion(hid_t data, const Hdf5Where& w, bool per_channel, bool may_be_absent = false) const {
    const double conversion = read_scalar_attribute<double>(data, "conversion", w);
    const double offset = read_scalar_attribute<double>(data, "offset", w);
    if (may_be_absent && conversion == 0.0 && offset == 0.0) return;
    if (!finite_positive(conversion) || !std::isfinite(offset)) {
      throw_format(w, "has conversion " + num(conversion) + " and offset " + num(offset) +
                          " (expected finite, conversion > 0)");
    }
    if (!per_channel) return;
    const auto channel_conversion = read_array_attribute<double>(data, "channel_conversion", w);
    if (channel_conversion.size() != emg_channels) {
      throw_format(w, "/@channel_conversion has " + std::to_string(channel_conversion.size()) +
                          " values for " + std::to_string(emg_channels) + " channels");
    }
    check_positive_column(channel_conversion, w, "@channel_conversion");
  }

  // The whole sample index of a stream, checked: strictly increasing (the row → sample map every reader
  // relies on) and within kMaxSessionSpanS at the stream's rate (walk_sample_index).
  std::vector<std::uint64_t> checked_sample_index(const StreamDatasets& s, double rate_hz) const {
    std::vector<std::uint64_t> index;
    index.reserve(rows(s));
    walk_sample_index(s, rate_hz, [&](std::span<const std::uint64_t> batch) {
      index.insert(index.end(), batch.begin(), batch.end());
    });
    return index;
  }

  // The same checks without keeping the index: its span (last value + 1; 0 when empty).
  std::uint64_t checked_sample_span(const StreamDatasets& s, double rate_hz) const {
    return walk_sample_index(s, rate_hz, [](std::span<const std::uint64_t>) {});
  }

  // Reads the sample index in batches of 64 Ki rows into one reused buffer, checks it and hands each batch
  // to `take`; returns the span. (512 KiB: below malloc's mmap threshold, so the buffer comes from memory the
  // process already touched rather than fresh pages the kernel must clear; docs/PERFORMANCE.md.)
  template <typename Take>
  std::uint64_t walk_sample_index(const StreamDatasets& s, double rate_hz, Take&& take) const {
    const auto w = where(s.group_path + "/sample_index");
    const std::uint64_t n = rows(s);
    constexpr std::uint64_t kBatch = 1U << 16;
    std::vector<std::uint64_t> batch(std::min(kBatch, n));
    std::uint64_t previous = 0;
    for (std::uint64_t first = 0; first < n; first += kBatch) {
      const std::uint64_t count = std::min(kBatch, n - first);
      read_rows_into(s.sample_index.get(), first, count, 0, w, batch.data());
      for (std::uint64_t k = 0; k < count; ++k) {
        const std::uint64_t r = first + k, v = batch[k];
        if (r > 0 && v <= previous) {
          throw_format(w, std::string(v == previous ? "repeats" : "decreases") + " at row " +
                              std::to_string(r) + " (" + std::to_string(v) + " after " +
                              std::to_string(previous) + "): the file is damaged");
        }
        previous = v;
      }
      take(std::span<const std::uint64_t>(batch.data(), count));
    }
    const double max_span = kMaxSessionSpanS * rate_hz;
    if (n > 0 && static_cast<double>(previous) >= max_span) {
      throw_format(w, "reaches sample " + std::to_string(previous) + ", beyond the " +
                          std::to_string(static_cast<int>(kMaxSessionSpanS / 3600)) +
                          " h a session may span at " + num(rate_hz) + " Hz");
    }
    return n == 0 ? 0 : previous + 1;
  }

  // Rows consistently present in every row dataset (after a crash they may differ by a chunk).
  std::uint64_t rows(const StreamDatasets& s) const {
    std::uint64_t n = dataset_rows(s.sample_index.get(), where(s.group_path + "/sample_index"));
    for (const auto& d : s.data) n = std::min(n, dataset_rows(d.get(), where(s.group_path)));
    return n;
  }

  BlockTable blocks(const StreamDatasets& s, std::uint64_t max_blocks) const {
    const auto w = where(s.group_path);
    std::uint64_t n = std::min(max_blocks, dataset_rows(s.block_first_row.get(), w));
    n = std::min(n, dataset_rows(s.block_host_time.get(), w));
    n = std::min(n, dataset_rows(s.block_device_time_us.get(), w));
    BlockTable t;
    t.first_row = read_rows<std::uint64_t>(s.block_first_row.get(), 0, n, 0, w);
    t.host_time_s = read_rows<double>(s.block_host_time.get(), 0, n, 0, w);
    t.device_time_us = read_rows<std::uint64_t>(s.block_device_time_us.get(), 0, n, 0, w);
    // Keep only blocks whose first row is stored.
    const std::uint64_t stored = rows(s);
    std::size_t keep = 0;
    while (keep < t.first_row.size() && t.first_row[keep] < stored) ++keep;
    t.first_row.resize(keep);
    t.host_time_s.resize(keep);
    t.device_time_us.resize(keep);
    return t;
  }

  std::pair<std::uint64_t, std::uint64_t> clamp(const StreamDatasets& s, std::uint64_t first,
                                                std::uint64_t n) const {
    const std::uint64_t total = rows(s);
    first = std::min(first, total);
    return {first, std::min(n, total - first)};
  }

  const StreamDatasets& imu_stream(std::size_t sensor) const {
    if (sensor >= imu.size()) {
      throw std::out_of_range("IMU " + std::to_string(sensor) + " requested but " + path_text + " has " +
                              std::to_string(imu.size()));
    }
    return imu[sensor];
  }
};

SessionReader::SessionReader(const std::filesystem::path& path, SessionReaderOpenOptions open_options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.path_text = path.string();
  silence_hdf5_errors();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw SessionFormatError("cannot open session " + m.path_text + ": no such file");
  }
  m.file_bytes = std::filesystem::file_size(path, ec);
  if (ec) m.file_bytes = 0;
  // The whole open runs inside one watch, and so does closing what a failed open left open (a copy of the
  // name: the watch outlives impl_ then).
  const std::string watched_name = m.path_text;
  const Hdf5Watch watch(watched_name, m.file_bytes);
  try {
    open(open_options);
  } catch (...) {
    impl_.reset();
    throw;
  }
}

void SessionReader::open(SessionReaderOpenOptions open_options) {
  Impl& m = *impl_;
  if (H5Fis_hdf5(m.path_text.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw SessionFormatError(m.path_text + " is not an HDF5 file (no HDF5 signature); is it a session file?");
  }
  hid_t id = open_session_file(m.path_text, open_options, m.truncated);
  m.swmr = id >= 0 && !m.truncated && opened_with_swmr(id);
  m.file = FileHandle(id);
  const hid_t f = m.file.get();
  const auto root = m.where("/");
  if (!has_attribute(f, "format") || !has_attribute(f, "format_version")) {
    throw SessionFormatError(m.path_text + " is an HDF5 file but not a glutescope session (no 'format' / " +
                             "'format_version' attributes on /)");
  }
  m.info.format = read_string_attribute(f, "format", root);
  m.info.format_version = read_string_attribute(f, "format_version", root);
  if (m.info.format != kFormatName) {
    throw SessionFormatError(m.path_text + " is an HDF5 file of format \"" + m.info.format + "\", not a " +
                             std::string(kFormatName) + " file");
  }
  const int major = major_version(m.info.format_version);
  if (major < 0) {
    throw SessionFormatError(m.path_text + " has an unreadable format_version \"" + m.info.format_version +
                             "\"");
  }
  if (major > kFormatMajor) {
    throw SessionFormatError(m.path_text + " uses session format " + m.info.format_version +
                             ", newer than this glutescope reads (" + std::string(kFormatVersion) +
                             "): upgrade glutescope to read it");
  }
  m.info.software_version = read_string_attribute(f, "software_version", root);
  m.info.session_start_time = read_string_attribute(f, "session_start_time", root);
  m.info.session_description = read_string_attribute(f, "session_description", root);
  m.info.status = read_string_attribute(f, "status", root);
  m.info.host_clock_at_start_s = read_scalar_attribute<double>(f, "host_clock_at_start_s", root);
  {
    GroupHandle g(
        checked(H5Gopen2(f, layout::kSubject, H5P_DEFAULT), "open group", m.where(layout::kSubject)));
    m.info.subject_id = read_string_attribute(g.get(), "subject_id", m.where(layout::kSubject));
  }
  {
    // The channel table says how many EMG channels there are; the data must have exactly that many columns.
    const auto w = m.where(layout::kChannels);
    GroupHandle g(checked(H5Gopen2(f, layout::kChannels, H5P_DEFAULT), "open group", w));
    const auto labels = table_strings(g.get(), "label", w);
    if (labels.empty() || labels.size() > kMaxEmgChannels) {
      throw_format(w, "lists " + std::to_string(labels.size()) + " EMG channels, expected 1 to " +
                          std::to_string(kMaxEmgChannels));
    }
    m.emg_channels = labels.size();
  }
  // EMG counts: int16 or int24 (stored as int32).
  m.emg = m.open_stream(layout::kEmgGroup, {"data"}, m.emg_channels, 4);
  {
    // Signed integers of at most 2 bytes, or unsigned of 1, convert to int16 without loss (open_stream
    // checked the class and the size).
    const Hdf5Where w = m.where(std::string(layout::kEmgGroup) + "/data");
    DatatypeHandle type(checked(H5Dget_type(m.emg.data[0].get()), "get type of", w));
    const std::size_t size = H5Tget_size(type.get());
    const H5T_sign_t sign = H5Tget_sign(type.get());
    m.emg_fits_int16 = (sign == H5T_SGN_2 && size <= 2) || (sign == H5T_SGN_NONE && size == 1);
  }
  m.check_conversion(m.emg.data[0].get(), m.where("/acquisition/emg/data"), true);
  {
    const auto w = m.where(layout::kImuSensors);
    GroupHandle g(checked(H5Gopen2(f, layout::kImuSensors, H5P_DEFAULT), "open group", w));
    m.imu_labels = table_strings(g.get(), "label", w);
    const auto has_mag = table_column<std::uint8_t>(g.get(), "has_magnetometer", w);
    check_length(has_mag, m.imu_labels.size(), w, "has_magnetometer");
    for (std::size_t i = 0; i < m.imu_labels.size(); ++i) {
      const std::string& label = m.imu_labels[i];
      if (label.empty() || label.find('/') != std::string::npos || label == "." || label == "..") {
        throw_format(w, "/label has \"" + label + "\" at row " + std::to_string(i) + " (not a group name)");
      }
      std::vector<std::string> names = {"accelerometer", "gyroscope"};
      if (has_mag[i] != 0) names.emplace_back("magnetometer");
      m.imu.push_back(m.open_stream(std::string(layout::kImuGroup) + "/" + label, names, 3, 2));
      for (std::size_t k = 0; k < names.size(); ++k) {
        m.check_conversion(m.imu.back().data[k].get(),
                           m.where(std::string(layout::kImuGroup) + "/" + label + "/" + names[k]), false,
                           names[k] == "gyroscope");
      }
    }
  }
}

SessionReader::SessionReader(SessionReader&&) noexcept = default;
SessionReader& SessionReader::operator=(SessionReader&&) noexcept = default;
SessionReader::~SessionReader() {
  if (!impl_) return;  // moved from
  // Closing runs HDF5 too (it flushes and frees what the reads left in its caches).
  const std::string path_text = impl_->path_text;
  const Hdf5Watch watch(path_text, impl_->file_bytes);
  impl_.reset();
}

const SessionInfo& SessionReader::info() const noexcept { return impl_->info; }
bool SessionReader::opened_swmr() const noexcept { return impl_->swmr; }
bool SessionReader::opened_truncated() const noexcept { return impl_->truncated; }

DeviceInfo SessionReader::device() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const hid_t f = m.file.get();
  DeviceInfo d;
  {
    const auto w = m.where(layout::kDevice);
    GroupHandle g(checked(H5Gopen2(f, layout::kDevice, H5P_DEFAULT), "open group", w));
    d.protocol_version = read_scalar_attribute<std::uint8_t>(g.get(), "protocol_version", w);
    d.device_id = read_scalar_attribute<std::uint16_t>(g.get(), "device_id", w);
    d.firmware_version = read_string_attribute(g.get(), "firmware_version", w);
    d.serial_number = read_string_attribute(g.get(), "serial_number", w);
    const std::string format = read_string_attribute(g.get(), "emg_format", w);
    if (format == "int16")
      d.emg_format = SampleFormat::int16;
    else if (format == "int24")
      d.emg_format = SampleFormat::int24;
    else
      throw SessionFormatError(m.path_text + ": unknown emg_format \"" + format + "\" in " + layout::kDevice);
    d.emg_rate_hz = read_scalar_attribute<double>(g.get(), "emg_rate_hz", w);
    check_rate(d.emg_rate_hz, m.where(std::string(layout::kDevice) + "/@emg_rate_hz"));
  }
  {
    const auto w = m.where(layout::kChannels);
    GroupHandle g(checked(H5Gopen2(f, layout::kChannels, H5P_DEFAULT), "open group", w));
    const auto labels = table_strings(g.get(), "device_label", w);
    const auto gain = table_column<double>(g.get(), "gain", w);
    const auto uv = table_column<double>(g.get(), "microvolts_per_count", w);
    check_length(labels, m.emg_channels, w, "device_label");
    check_length(gain, m.emg_channels, w, "gain");
    check_length(uv, m.emg_channels, w, "microvolts_per_count");
    check_positive_column(gain, w, "gain");
    check_positive_column(uv, w, "microvolts_per_count");
    for (std::size_t i = 0; i < labels.size(); ++i) d.emg.push_back({labels[i], gain[i], uv[i]});
  }
  {
    const auto w = m.where(layout::kImuSensors);
    GroupHandle g(checked(H5Gopen2(f, layout::kImuSensors, H5P_DEFAULT), "open group", w));
    const auto labels = table_strings(g.get(), "device_label", w);
    const auto rate = table_column<double>(g.get(), "rate_hz", w);
    const auto accel_range = table_column<double>(g.get(), "accel_range_g", w);
    const auto gyro_range = table_column<double>(g.get(), "gyro_range_dps", w);
    const auto accel_scale = table_column<double>(g.get(), "accel_g_per_count", w);
    const auto gyro_scale = table_column<double>(g.get(), "gyro_dps_per_count", w);
    const auto has_mag = table_column<std::uint8_t>(g.get(), "has_magnetometer", w);
    const auto mag_scale = table_column<double>(g.get(), "mag_ut_per_count", w);
    const std::size_t n = m.imu_labels.size();
    check_length(labels, n, w, "device_label");
    check_length(rate, n, w, "rate_hz");
    check_length(accel_range, n, w, "accel_range_g");
    check_length(gyro_range, n, w, "gyro_range_dps");
    check_length(accel_scale, n, w, "accel_g_per_count");
    check_length(gyro_scale, n, w, "gyro_dps_per_count");
    check_length(has_mag, n, w, "has_magnetometer");
    check_length(mag_scale, n, w, "mag_ut_per_count");
    for (std::size_t i = 0; i < n; ++i) {
      check_rate(rate[i], m.where(std::string(layout::kImuSensors) + "/rate_hz row " + std::to_string(i)));
    }
    check_positive_column(accel_range, w, "accel_range_g");
    // An accelerometer-only IMU has no gyroscope: range and scale both 0 on that row (docs/DEVICES.md).
    for (std::size_t i = 0; i < n; ++i) {
      if (gyro_range.at(i) == 0.0 && gyro_scale.at(i) == 0.0) continue;
      if (!finite_positive(gyro_range.at(i)) || !finite_positive(gyro_scale.at(i))) {
        throw_format(w, " gyro_range_dps/gyro_dps_per_count at row " + std::to_string(i) +
                            " must both be finite positive numbers, or both 0 (no gyroscope)");
      }
    }
    check_positive_column(accel_scale, w, "accel_g_per_count");
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(mag_scale[i]) || mag_scale[i] < 0.0) {
        throw_format(w, "/mag_ut_per_count is " + num(mag_scale[i]) + " at row " + std::to_string(i));
      }
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      ImuInfo info;
      info.label = labels[i];
      info.rate_hz = rate.at(i);
      info.accel_range_g = accel_range.at(i);
      info.gyro_range_dps = gyro_range.at(i);
      info.accel_g_per_count = accel_scale.at(i);
      info.gyro_dps_per_count = gyro_scale.at(i);
      info.has_magnetometer = has_mag.at(i) != 0;
      info.mag_ut_per_count = mag_scale.at(i);
      d.imu.push_back(info);
    }
  }
  return d;
}

Montage SessionReader::montage() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const hid_t f = m.file.get();
  Montage montage;
  {
    const auto w = m.where(layout::kChannels);
    GroupHandle g(checked(H5Gopen2(f, layout::kChannels, H5P_DEFAULT), "open group", w));
    const auto label = table_strings(g.get(), "label", w);
    const auto muscle = table_strings(g.get(), "muscle", w);
    const auto side = table_strings(g.get(), "side", w);
    const auto site = table_strings(g.get(), "electrode_site", w);
    const auto gain = table_column<double>(g.get(), "gain", w);
    const auto uv = table_column<double>(g.get(), "microvolts_per_count", w);
    for (const auto* column : {&muscle, &side, &site})
      check_length(*column, label.size(), w, "muscle/side/site");
    check_length(gain, label.size(), w, "gain");
    check_length(uv, label.size(), w, "microvolts_per_count");
    check_positive_column(gain, w, "gain");
    check_positive_column(uv, w, "microvolts_per_count");
    std::vector<std::string> role(label.size());
    if (has_link(g.get(), "role")) {
      role = table_strings(g.get(), "role", w);
      check_length(role, label.size(), w, "role");
      for (const std::string& r : role) {
        if (!r.empty() && r != "target" && r != "compensator")
          throw_format(w, "/role '" + r.substr(0, 40) + "' is not target, compensator or empty");
      }
    }
    for (std::size_t i = 0; i < label.size(); ++i) {
      EmgChannel c;
      c.label = label[i];
      c.role = role[i];
      c.muscle = parse_muscle(muscle.at(i)).value_or(Muscle::other);
      c.side = parse_side(side.at(i)).value_or(Side::unknown);
      c.electrode_site = site.at(i);
      c.gain = gain.at(i);
      c.microvolts_per_count = uv.at(i);
      montage.emg.push_back(std::move(c));
    }
  }
  {
    const auto w = m.where(layout::kImuSensors);
    GroupHandle g(checked(H5Gopen2(f, layout::kImuSensors, H5P_DEFAULT), "open group", w));
    const auto segment = table_strings(g.get(), "segment", w);
    const auto site = table_strings(g.get(), "site", w);
    check_length(segment, m.imu_labels.size(), w, "segment");
    check_length(site, m.imu_labels.size(), w, "site");
    for (std::size_t i = 0; i < m.imu_labels.size(); ++i) {
      montage.imu.push_back(
          {m.imu_labels[i], parse_segment(segment.at(i)).value_or(Segment::other), site.at(i)});
    }
  }
  return montage;
}

std::uint64_t SessionReader::emg_rows() const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->rows(impl_->emg);
}
std::size_t SessionReader::emg_channels() const noexcept { return impl_->emg_channels; }

std::vector<std::int32_t> SessionReader::emg_counts(std::uint64_t first_row, std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto [first, n] = m.clamp(m.emg, first_row, rows);
  return read_rows<std::int32_t>(m.emg.data[0].get(), first, n, m.emg_channels,
                                 m.where("/acquisition/emg/data"));
}

bool SessionReader::emg_counts_fit_int16() const noexcept { return impl_->emg_fits_int16; }

std::vector<std::int16_t> SessionReader::emg_counts_int16(std::uint64_t first_row, std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto w = m.where("/acquisition/emg/data");
  if (!m.emg_fits_int16) throw_format(w, "stores counts wider than 16 bits (read them with emg_counts)");
  const auto [first, n] = m.clamp(m.emg, first_row, rows);
  return read_rows<std::int16_t>(m.emg.data[0].get(), first, n, m.emg_channels, w);
}

std::vector<double> SessionReader::emg_microvolts(std::uint64_t first_row, std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto counts = emg_counts(first_row, rows);
  const auto w = m.where("/acquisition/emg/data");
  const double conversion = read_scalar_attribute<double>(m.emg.data[0].get(), "conversion", w);
  const double offset = read_scalar_attribute<double>(m.emg.data[0].get(), "offset", w);
  const auto channel_conversion = read_array_attribute<double>(m.emg.data[0].get(), "channel_conversion", w);
  if (channel_conversion.size() != m.emg_channels) {
    throw SessionFormatError(m.path_text + ": channel_conversion has " +
                             std::to_string(channel_conversion.size()) + " values for " +
                             std::to_string(m.emg_channels) + " channels");
  }
  if (!finite_positive(conversion) || !std::isfinite(offset)) {
    throw_format(w, "has conversion " + num(conversion) + " and offset " + num(offset) +
                        " (expected finite, conversion > 0)");
  }
  check_positive_column(channel_conversion, w, "@channel_conversion");
  std::vector<double> uv(counts.size());
  for (std::size_t i = 0; i < counts.size(); ++i) {
    const double volts = counts[i] * conversion * channel_conversion[i % m.emg_channels] + offset;
    uv[i] = volts * 1e6;
  }
  return uv;
}

std::vector<std::uint64_t> SessionReader::checked_emg_sample_index() const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->checked_sample_index(impl_->emg, device().emg_rate_hz);
}

std::uint64_t SessionReader::checked_emg_sample_span() const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->checked_sample_span(impl_->emg, device().emg_rate_hz);
}

std::uint64_t SessionReader::checked_imu_sample_span(std::size_t sensor) const {
  const Hdf5Watch watch = impl_->watch();
  const DeviceInfo d = device();
  return impl_->checked_sample_span(impl_->imu_stream(sensor), d.imu.at(sensor).rate_hz);
}

std::vector<std::uint64_t> SessionReader::checked_imu_sample_index(std::size_t sensor) const {
  const Hdf5Watch watch = impl_->watch();
  const DeviceInfo d = device();
  return impl_->checked_sample_index(impl_->imu_stream(sensor), d.imu.at(sensor).rate_hz);
}

std::vector<std::uint64_t> SessionReader::emg_sample_index(std::uint64_t first_row,
                                                           std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto [first, n] = m.clamp(m.emg, first_row, rows);
  return read_rows<std::uint64_t>(m.emg.sample_index.get(), first, n, 0,
                                  m.where("/acquisition/emg/sample_index"));
}

BlockTable SessionReader::emg_blocks(std::uint64_t max_blocks) const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->blocks(impl_->emg, max_blocks);
}

std::size_t SessionReader::imu_count() const noexcept { return impl_->imu.size(); }
std::uint64_t SessionReader::imu_rows(std::size_t sensor) const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->rows(impl_->imu_stream(sensor));
}

ImuRows<std::int16_t> SessionReader::imu_counts(std::size_t sensor, std::uint64_t first_row,
                                                std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto& s = m.imu_stream(sensor);
  const auto [first, n] = m.clamp(s, first_row, rows);
  const auto w = m.where(s.group_path);
  ImuRows<std::int16_t> out;
  out.accel = read_rows<std::int16_t>(s.data[0].get(), first, n, 3, w);
  out.gyro = read_rows<std::int16_t>(s.data[1].get(), first, n, 3, w);
  if (s.data.size() == 3) out.mag = read_rows<std::int16_t>(s.data[2].get(), first, n, 3, w);
  return out;
}

ImuRows<double> SessionReader::imu_physical(std::size_t sensor, std::uint64_t first_row,
                                            std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto& s = m.imu_stream(sensor);
  const auto counts = imu_counts(sensor, first_row, rows);
  const auto w = m.where(s.group_path);
  auto scale = [&](const std::vector<std::int16_t>& in, std::size_t k) {
    const double conversion = read_scalar_attribute<double>(s.data[k].get(), "conversion", w);
    const double offset = read_scalar_attribute<double>(s.data[k].get(), "offset", w);
    if (k == 1 && conversion == 0.0 && offset == 0.0) return std::vector<double>(in.size(), 0.0);  // no gyro
    if (!finite_positive(conversion) || !std::isfinite(offset)) {
      throw_format(w, "has conversion " + num(conversion) + " and offset " + num(offset) +
                          " (expected finite, conversion > 0)");
    }
    std::vector<double> out(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] * conversion + offset;
    return out;
  };
  ImuRows<double> out;
  out.accel = scale(counts.accel, 0);
  out.gyro = scale(counts.gyro, 1);
  if (s.data.size() == 3) out.mag = scale(counts.mag, 2);
  return out;
}

std::vector<std::uint64_t> SessionReader::imu_sample_index(std::size_t sensor, std::uint64_t first_row,
                                                           std::uint64_t rows) const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  const auto& s = m.imu_stream(sensor);
  const auto [first, n] = m.clamp(s, first_row, rows);
  return read_rows<std::uint64_t>(s.sample_index.get(), first, n, 0, m.where(s.group_path + "/sample_index"));
}

BlockTable SessionReader::imu_blocks(std::size_t sensor, std::uint64_t max_blocks) const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->blocks(impl_->imu_stream(sensor), max_blocks);
}

std::vector<Event> SessionReader::events() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  std::vector<Event> out;
  if (!has_link(m.file.get(), layout::kEvents)) return out;
  const auto w = m.where(layout::kEvents);
  GroupHandle g(checked(H5Gopen2(m.file.get(), layout::kEvents, H5P_DEFAULT), "open group", w));
  const auto time_s = table_column<double>(g.get(), "time_s", w);
  const auto kind = table_column<std::uint8_t>(g.get(), "kind", w);
  const auto exercise = table_column<std::uint8_t>(g.get(), "exercise", w);
  const auto muscle = table_column<std::uint8_t>(g.get(), "muscle", w);
  const auto side = table_column<std::uint8_t>(g.get(), "side", w);
  const auto channel = table_column<std::int32_t>(g.get(), "channel", w);
  const auto text = table_strings(g.get(), "text", w);
  check_length(kind, time_s.size(), w, "kind");
  check_length(exercise, time_s.size(), w, "exercise");
  check_length(muscle, time_s.size(), w, "muscle");
  check_length(side, time_s.size(), w, "side");
  check_length(channel, time_s.size(), w, "channel");
  check_length(text, time_s.size(), w, "text");
  // Format 1.1 added emg_sample (NaN for host-stamped events); a 1.0 file has none.
  std::vector<double> emg_sample;
  if (has_link(g.get(), "emg_sample")) {
    emg_sample = table_column<double>(g.get(), "emg_sample", w);
    check_length(emg_sample, time_s.size(), w, "emg_sample");
  }
  for (std::size_t i = 0; i < time_s.size(); ++i) {
    if (!std::isfinite(time_s[i])) {
      throw_format(w, "/time_s is " + num(time_s[i]) + " at row " + std::to_string(i) +
                          " (an event needs a finite time)");
    }
    if (!emg_sample.empty() && std::isinf(emg_sample[i])) {
      throw_format(w, "/emg_sample is " + num(emg_sample[i]) + " at row " + std::to_string(i) +
                          " (a sample position is finite, or NaN for none)");
    }
    Event e;
    e.time_s = time_s[i];
    e.kind = enum_or<EventKind>(kind.at(i));
    e.exercise = enum_or<Exercise>(exercise.at(i));
    e.muscle = enum_or<Muscle>(muscle.at(i));
    e.side = enum_or<Side>(side.at(i));
    e.channel = channel.at(i);
    e.text = text.at(i);
    if (!emg_sample.empty() && std::isfinite(emg_sample[i])) e.emg_sample = emg_sample[i];
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<AngleChannel> SessionReader::angle_channels() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  std::vector<AngleChannel> out;
  if (!has_link(m.file.get(), layout::kAngleGroup)) return out;
  const auto w = m.where(layout::kAngleGroup);
  GroupHandle g(checked(H5Gopen2(m.file.get(), layout::kAngleGroup, H5P_DEFAULT), "open group", w));
  const auto label = table_strings(g.get(), "label", w);
  const auto joint = table_strings(g.get(), "joint", w), motion = table_strings(g.get(), "motion", w);
  const auto side = table_strings(g.get(), "side", w), unit = table_strings(g.get(), "unit", w);
  const auto rate = table_column<double>(g.get(), "rate_hz", w);
  for (const auto* column : {&joint, &motion, &side, &unit}) check_length(*column, label.size(), w, "joint");
  check_length(rate, label.size(), w, "rate_hz");
  for (std::size_t k = 0; k < label.size(); ++k) {
    AngleChannel a;
    a.label = label[k];
    const auto j = parse_joint(joint[k]);
    const auto mo = parse_joint_motion(motion[k]);
    const auto sd = parse_side(side[k]);
    if (!j || !mo || !sd || unit[k] != "deg" || !finite_positive(rate[k])) {
      throw_format(w, "/ channel " + std::to_string(k) + " ('" + label[k] + "') has joint '" + joint[k] +
                          "', motion '" + motion[k] + "', side '" + side[k] + "', unit '" + unit[k] +
                          "' or rate " + num(rate[k]) + " outside the documented values");
    }
    a.joint = *j, a.motion = *mo, a.side = *sd, a.rate_hz = rate[k];
    a.deg = table_column<double>(g.get(), "data_" + std::to_string(k), w);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<Gap> SessionReader::gaps() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  std::vector<Gap> out;
  if (!has_link(m.file.get(), layout::kGaps)) return out;
  const auto w = m.where(layout::kGaps);
  GroupHandle g(checked(H5Gopen2(m.file.get(), layout::kGaps, H5P_DEFAULT), "open group", w));
  const auto stream = table_column<std::uint8_t>(g.get(), "stream", w);
  const auto sensor = table_column<std::uint8_t>(g.get(), "sensor", w);
  const auto start = table_column<std::uint64_t>(g.get(), "start_sample", w);
  const auto count = table_column<std::uint64_t>(g.get(), "count", w);
  const auto host = table_column<double>(g.get(), "host_time_s", w);
  check_length(sensor, stream.size(), w, "sensor");
  check_length(start, stream.size(), w, "start_sample");
  check_length(count, stream.size(), w, "count");
  check_length(host, stream.size(), w, "host_time_s");
  for (std::size_t i = 0; i < stream.size(); ++i) {
    if (start[i] > std::numeric_limits<std::uint64_t>::max() - count[i] || stream[i] > 1) {
      throw_format(w, "row " + std::to_string(i) + " is not a gap (stream " + std::to_string(stream[i]) +
                          ", start " + std::to_string(start[i]) + ", count " + std::to_string(count[i]) +
                          ")");
    }
  }
  for (std::size_t i = 0; i < stream.size(); ++i) {
    out.push_back({enum_or<StreamKind>(stream[i]), sensor.at(i), start.at(i), count.at(i), host.at(i)});
  }
  return out;
}

TimingFit SessionReader::timing_fit() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  TimingFit fit;
  if (!has_link(m.file.get(), layout::kTimingFit)) return fit;
  const auto w = m.where(layout::kTimingFit);
  GroupHandle g(checked(H5Gopen2(m.file.get(), layout::kTimingFit, H5P_DEFAULT), "open group", w));
  fit.offset_s = read_scalar_attribute<double>(g.get(), "offset_s", w);
  fit.drift_ppm = read_scalar_attribute<double>(g.get(), "drift_ppm", w);
  fit.residual_rms_s = read_scalar_attribute<double>(g.get(), "residual_rms_s", w);
  fit.points = read_scalar_attribute<std::uint64_t>(g.get(), "points", w);
  if (!std::isfinite(fit.offset_s) || !std::isfinite(fit.drift_ppm) ||
      std::abs(fit.drift_ppm) >= kMaxAbsDriftPpm || !std::isfinite(fit.residual_rms_s) ||
      fit.residual_rms_s < 0.0) {
    throw_format(w, "is not a usable clock fit (offset " + num(fit.offset_s) + " s, drift " +
                        num(fit.drift_ppm) + " ppm, residual " + num(fit.residual_rms_s) + " s)");
  }
  return fit;
}

SessionStatistics SessionReader::statistics() const {
  const Hdf5Watch watch = impl_->watch();
  const Impl& m = *impl_;
  SessionStatistics s;
  s.emg_samples = emg_rows();
  for (std::size_t i = 0; i < m.imu.size(); ++i) s.imu_samples += imu_rows(i);
  if (!has_link(m.file.get(), layout::kStatistics)) return s;
  const auto w = m.where(layout::kStatistics);
  GroupHandle g(checked(H5Gopen2(m.file.get(), layout::kStatistics, H5P_DEFAULT), "open group", w));
  s.frames_received = read_scalar_attribute<std::uint64_t>(g.get(), "frames_received", w);
  s.crc_errors = read_scalar_attribute<std::uint64_t>(g.get(), "crc_errors", w);
  s.lost_frames = read_scalar_attribute<std::uint64_t>(g.get(), "lost_frames", w);
  s.device_overflows = read_scalar_attribute<std::uint64_t>(g.get(), "device_overflows", w);
  s.queue_overflow_blocks = read_scalar_attribute<std::uint64_t>(g.get(), "queue_overflow_blocks", w);
  s.queue_overflow_samples = read_scalar_attribute<std::uint64_t>(g.get(), "queue_overflow_samples", w);
  s.queue_overflow_bytes = read_scalar_attribute<std::uint64_t>(g.get(), "queue_overflow_bytes", w);
  return s;
}

void SessionReader::refresh() {
  const Hdf5Watch watch = impl_->watch();
  Impl& m = *impl_;
  if (!m.swmr) return;
  auto refresh_stream = [&](StreamDatasets& s) {
    for (auto& d : s.data) check_status(H5Drefresh(d.get()), "refresh", m.where(s.group_path));
    for (hid_t id : {s.sample_index.get(), s.block_first_row.get(), s.block_host_time.get(),
                     s.block_device_time_us.get()}) {
      check_status(H5Drefresh(id), "refresh", m.where(s.group_path));
    }
  };
  refresh_stream(m.emg);
  for (auto& s : m.imu) refresh_stream(s);
}

}  // namespace glutescope::store
