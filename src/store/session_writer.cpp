#include "store/session_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <set>
#include <stdexcept>
#include <system_error>

#include "store/hdf5_handle.hpp"
#include "store/journal.hpp"
#include "store/session_layout.hpp"
#include "store/session_tables.hpp"
#include "store/session_writer_streams.hpp"

namespace glutescope::store {

namespace {

using Clock = std::chrono::steady_clock;

std::size_t chunk_rows_for(double rate_hz, double duration_s, std::size_t row_bytes, std::size_t max_bytes) {
  const auto wanted = static_cast<std::size_t>(std::llround(rate_hz * duration_s));
  const std::size_t cap = std::max<std::size_t>(1, max_bytes / std::max<std::size_t>(row_bytes, 1));
  return std::clamp<std::size_t>(wanted, 1, cap);
}

void set_data_attributes(hid_t dataset, const std::string& unit, double conversion,
                         const std::string& description, const Hdf5Where& where) {
  write_string_attribute(dataset, "unit", unit, where);
  write_scalar_attribute(dataset, "conversion", conversion, where);
  write_scalar_attribute(dataset, "offset", 0.0, where);
  write_scalar_attribute(dataset, "resolution", -1.0, where);
  write_string_attribute(dataset, "continuity", "continuous", where);
  write_string_attribute(dataset, "description", description, where);
}

void create_starting_time(hid_t group, const std::string& group_path, double rate_hz,
                          const std::string& file) {
  const Hdf5Where where{file, group_path + "/starting_time"};
  DataspaceHandle space(checked(H5Screate(H5S_SCALAR), "create dataspace for", where));
  DatasetHandle dataset(checked(H5Dcreate2(group, "starting_time", H5T_NATIVE_DOUBLE, space.get(),
                                           H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                "create dataset", where));
  const double zero = 0.0;
  check_status(H5Dwrite(dataset.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &zero), "write",
               where);
  write_scalar_attribute(dataset.get(), "rate", rate_hz, where);
  write_string_attribute(dataset.get(), "unit", "seconds", where);
}

void validate_label(const std::string& label, const std::string& what) {
  if (label.empty() || label.find('/') != std::string::npos || label == "." || label == "..") {
    throw std::invalid_argument(what + " label \"" + label +
                                "\" cannot name an HDF5 group (must be non-empty, without '/')");
  }
}

}  // namespace

struct SessionWriter::Impl {
  std::filesystem::path path;
  std::string path_text;
  DeviceInfo device;
  Montage montage;
  std::string subject_id;
  SessionWriterOptions options;
  FileHandle file;
  PropListHandle fapl;
  std::unique_ptr<JournalWriter> journal;
  Stream emg;
  std::vector<Stream> imu;
  std::vector<Event> events;
  std::vector<Gap> gaps;
  std::vector<AngleChannel> angles;
  TimingFit timing_fit;
  bool has_timing_fit = false;
  SessionStatistics stats;
  bool emg_int16 = true;
  bool failed = false;
  bool closed = false;
  bool frozen = false;  // HDF5's descriptor points at /dev/null (freeze_file)
  Clock::time_point last_journal_sync;
  Clock::time_point last_checkpoint;
  bool journal_dirty = false;

  [[nodiscard]] Hdf5Where where(const std::string& object) const { return Hdf5Where{path_text, object}; }

  void create_file();
  void write_metadata();
  void create_streams();
  void fsync_file();
  void freeze_file() noexcept;
  void maybe_sync();
  void do_checkpoint();
  void fill_journal(JournalWriter& j);
  [[nodiscard]] JournalCheckpoint durable_state() const;
  void finalize(FinalStatus status);

  template <typename F>
  void guarded(F&& f) {
    if (closed) throw std::logic_error("session " + path_text + " is already closed");
    if (failed) {
      throw std::runtime_error(
          "session writer for " + path_text +
          " failed earlier (see the first error); the file is recoverable with recover()");
    }
    // HDF5's error printing is per thread (thread-safe build): the calling thread may be new.
    silence_hdf5_errors();
    try {
      f();
    } catch (const std::invalid_argument&) {
      throw;  // caller's mistake, nothing written: the writer stays usable
    } catch (...) {
      // From here on the HDF5 file is not written again (its rows past the last checkpoint may be
      // incomplete, e.g. after ENOSPC); make what the journal acknowledged survive power loss too.
      failed = true;
      freeze_file();
      if (journal) {
        try {
          journal->sync();
        } catch (...) {
          // The records are in the page cache; a process crash still keeps them.
        }
      }
      throw;
    }
  }
};

void SessionWriter::Impl::create_file() {
  const auto journal_file = journal_path_for(path);
  std::error_code ec;
  if (!options.force && (std::filesystem::exists(path, ec) || std::filesystem::exists(journal_file, ec))) {
    throw std::runtime_error("session file " + path_text +
                             " (or its journal) already exists; choose another " +
                             "name or overwrite it explicitly (force)");
  }
  if (options.force) {
    std::filesystem::remove(path, ec);
    std::filesystem::remove(journal_file, ec);
  }
  silence_hdf5_errors();
  fapl = PropListHandle(checked(H5Pcreate(H5P_FILE_ACCESS), "create file access list for", where("/")));
  // SWMR needs the latest file format (superblock v3): readable by HDF5 ≥ 1.10 only.
  check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST),
               "set libver bounds for", where("/"));
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get());
  if (id < 0) {
    throw std::runtime_error(
        "cannot create session file " + path_text +
        " (is the directory writable and on a local disk?): " + take_hdf5_error_for_message());
  }
  file = FileHandle(id);
  if (options.journal) journal = std::make_unique<JournalWriter>(journal_file);
}

void SessionWriter::Impl::write_metadata() {
  const hid_t f = file.get();
  const auto root = where("/");
  write_string_attribute(f, "format", std::string(kFormatName), root);
  write_string_attribute(f, "format_version", std::string(kFormatVersion), root);
  write_string_attribute(f, "software_version", "glutescope " + options.software_version, root);
  const std::string start = options.session_start_time.empty() ? iso8601_now() : options.session_start_time;
  write_string_attribute(f, "session_start_time", start, root);
  write_string_attribute(f, "timestamps_reference_time", start, root);
  write_string_attribute(f, "file_create_date", iso8601_now(), root);
  write_string_attribute(f, "session_description", options.session_description, root);
  write_scalar_attribute(f, "host_clock_at_start_s", options.host_clock_at_start_s, root);
  write_string_attribute(f, "status", std::string(kStatusRecording), root);

  {
    auto g = create_group(f, layout::kSubject, root);
    write_string_attribute(g.get(), "subject_id", subject_id, where(layout::kSubject));
  }
  {
    const auto w = where(layout::kDevice);
    auto g = create_group(f, layout::kDevice, root);
    write_scalar_attribute(g.get(), "protocol_version", std::uint8_t{device.protocol_version}, w);
    write_scalar_attribute(g.get(), "device_id", std::uint16_t{device.device_id}, w);
    write_string_attribute(g.get(), "firmware_version", device.firmware_version, w);
    write_string_attribute(g.get(), "serial_number", device.serial_number, w);
    if (!device.device_model.empty()) write_string_attribute(g.get(), "device_model", device.device_model, w);
    if (!device.loss_detection.empty())
      write_string_attribute(g.get(), "loss_detection", device.loss_detection, w);
    write_string_attribute(g.get(), "emg_format",
                           device.emg_format == SampleFormat::int16 ? "int16" : "int24", w);
    write_scalar_attribute(g.get(), "emg_rate_hz", device.emg_rate_hz, w);
  }
  {
    const auto w = where(layout::kChannels);
    auto g = create_group(f, layout::kChannels, root);
    std::vector<std::string> label, device_label, muscle, side, site;
    std::vector<double> gain, uv;
    for (std::size_t i = 0; i < montage.emg.size(); ++i) {
      label.push_back(montage.emg[i].label);
      device_label.push_back(device.emg[i].label);
      muscle.push_back(std::string(to_string(montage.emg[i].muscle)));
      side.push_back(std::string(to_string(montage.emg[i].side)));
      site.push_back(montage.emg[i].electrode_site);
      gain.push_back(device.emg[i].gain);
      uv.push_back(device.emg[i].microvolts_per_count);
    }
    write_string_column(g.get(), "label", label, w);
    write_string_column(g.get(), "device_label", device_label, w);
    write_string_column(g.get(), "muscle", muscle, w);
    write_string_column(g.get(), "side", side, w);
    write_string_column(g.get(), "electrode_site", site, w);
    write_column(g.get(), "gain", gain, w);
    write_column(g.get(), "microvolts_per_count", uv, w);
    std::vector<std::string> names{"label", "device_label",        "muscle", "side", "electrode_site",
                                   "gain",  "microvolts_per_count"};
    std::vector<std::string> role;
    for (const EmgChannel& c : montage.emg) role.push_back(c.role);
    if (std::any_of(role.begin(), role.end(), [](const std::string& r) { return !r.empty(); })) {
      write_string_column(g.get(), "role", role, w);  // format 1.2, only when a channel has a role
      names.emplace_back("role");
    }
    write_string_array_attribute(g.get(), "colnames", names, w);
    write_string_attribute(g.get(), "description",
                           "EMG channel table: row i describes column i of /acquisition/emg/data", w);
  }
  {
    const auto w = where(layout::kImuSensors);
    auto g = create_group(f, layout::kImuSensors, root);
    std::vector<std::string> label, device_label, segment, site;
    std::vector<double> rate, accel_range, gyro_range, accel_scale, gyro_scale, mag_scale;
    std::vector<std::uint8_t> has_mag;
    for (std::size_t i = 0; i < montage.imu.size(); ++i) {
      const auto& d = device.imu[i];
      label.push_back(montage.imu[i].label);
      device_label.push_back(d.label);
      segment.push_back(std::string(to_string(montage.imu[i].segment)));
      site.push_back(montage.imu[i].site);
      rate.push_back(d.rate_hz);
      accel_range.push_back(d.accel_range_g);
      gyro_range.push_back(d.gyro_range_dps);
      accel_scale.push_back(d.accel_g_per_count);
      gyro_scale.push_back(d.gyro_dps_per_count);
      has_mag.push_back(d.has_magnetometer ? 1 : 0);
      mag_scale.push_back(d.mag_ut_per_count);
    }
    write_string_column(g.get(), "label", label, w);
    write_string_column(g.get(), "device_label", device_label, w);
    write_string_column(g.get(), "segment", segment, w);
    write_string_column(g.get(), "site", site, w);
    write_column(g.get(), "rate_hz", rate, w);
    write_column(g.get(), "accel_range_g", accel_range, w);
    write_column(g.get(), "gyro_range_dps", gyro_range, w);
    write_column(g.get(), "accel_g_per_count", accel_scale, w);
    write_column(g.get(), "gyro_dps_per_count", gyro_scale, w);
    write_column(g.get(), "has_magnetometer", has_mag, w);
    write_column(g.get(), "mag_ut_per_count", mag_scale, w);
    write_string_array_attribute(
        g.get(), "colnames",
        {"label", "device_label", "segment", "site", "rate_hz", "accel_range_g", "gyro_range_dps",
         "accel_g_per_count", "gyro_dps_per_count", "has_magnetometer", "mag_ut_per_count"},
        w);
    write_string_attribute(g.get(), "description", "IMU table: row i describes /acquisition/imu/<label[i]>",
                           w);
  }
  create_group(f, "/intervals", root);
}

void SessionWriter::Impl::create_streams() {
  const int level = options.deflate_level;
  auto create_common = [&](Stream& s, hid_t group, const std::string& gpath, double rate_hz) {
    const std::size_t block_chunk = 256;
    s.sample_index.create(group, gpath, "sample_index", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 0, s.chunk_rows,
                          level, path_text);
    write_string_attribute(
        s.sample_index.dataset.get(), "description",
        "device sample index of each row (first sample of the session = 0); holes are gaps",
        s.sample_index.where);
    s.block_first_row.create(group, gpath, "block_first_row", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 0,
                             block_chunk, 0, path_text);
    s.block_host_time.create(group, gpath, "block_host_time", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 8, 0,
                             block_chunk, 0, path_text);
    write_string_attribute(s.block_host_time.dataset.get(), "unit", "seconds", s.block_host_time.where);
    write_string_attribute(
        s.block_host_time.dataset.get(), "description",
        "host monotonic clock when the block arrived (same clock as host_clock_at_start_s)",
        s.block_host_time.where);
    s.block_device_time_us.create(group, gpath, "block_device_time_us", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8,
                                  0, block_chunk, 0, path_text);
    write_string_attribute(s.block_device_time_us.dataset.get(), "unit", "microseconds",
                           s.block_device_time_us.where);
    create_starting_time(group, gpath, rate_hz, path_text);
    write_scalar_attribute(group, "rate_hz", rate_hz, Hdf5Where{path_text, gpath});
  };

  {
    const std::string gpath = layout::kEmgGroup;
    auto g = create_group(file.get(), gpath, where("/"));
    const std::size_t channels = device.emg.size();
    const std::size_t element = emg_int16 ? 2 : 4;
    emg.chunk_rows = chunk_rows_for(device.emg_rate_hz, options.chunk_duration_s,
                                    element * std::max<std::size_t>(channels, 1), options.max_chunk_bytes);
    emg.data.resize(1);
    emg.data[0].create(g.get(), gpath, "data", emg_int16 ? H5T_STD_I16LE : H5T_STD_I32LE,
                       emg_int16 ? H5T_NATIVE_INT16 : H5T_NATIVE_INT32, element, channels, emg.chunk_rows,
                       level, path_text);
    std::vector<double> channel_conversion;
    for (const auto& c : device.emg) channel_conversion.push_back(c.microvolts_per_count);
    // NWB ElectricalSeries pattern: volts = data × conversion × channel_conversion[channel] + offset.
    set_data_attributes(emg.data[0].dataset.get(), "volts", 1e-6,
                        "surface EMG, device ADC counts [samples x channels]", emg.data[0].where);
    write_array_attribute(emg.data[0].dataset.get(), "channel_conversion", channel_conversion,
                          emg.data[0].where);
    write_scalar_attribute(emg.data[0].dataset.get(), "channel_conversion_axis", std::int32_t{1},
                           emg.data[0].where);
    emg.pending.resize(1);
    create_common(emg, g.get(), gpath, device.emg_rate_hz);
  }
  imu.resize(device.imu.size());
  for (std::size_t i = 0; i < device.imu.size(); ++i) {
    const auto& info = device.imu[i];
    const std::string gpath = std::string(layout::kImuGroup) + "/" + montage.imu[i].label;
    auto g = create_group(file.get(), gpath, where("/"));
    write_scalar_attribute(g.get(), "sensor_index", static_cast<std::uint32_t>(i),
                           Hdf5Where{path_text, gpath});
    write_string_attribute(g.get(), "segment", std::string(to_string(montage.imu[i].segment)),
                           Hdf5Where{path_text, gpath});
    Stream& s = imu[i];
    s.chunk_rows = chunk_rows_for(info.rate_hz, options.chunk_duration_s, 6, options.max_chunk_bytes);
    s.data.resize(info.has_magnetometer ? 3 : 2);
    s.pending.resize(s.data.size());
    const char* names[3] = {"accelerometer", "gyroscope", "magnetometer"};
    const char* units[3] = {"g", "degrees/s", "microtesla"};
    const double conversions[3] = {info.accel_g_per_count, info.gyro_dps_per_count, info.mag_ut_per_count};
    for (std::size_t k = 0; k < s.data.size(); ++k) {
      s.data[k].create(g.get(), gpath, names[k], H5T_STD_I16LE, H5T_NATIVE_INT16, 2, 3, s.chunk_rows, level,
                       path_text);
      // An accelerometer-only sensor (OpenBCI Cyton) keeps the dataset, so the layout stays one layout,
      // and says in its description and conversion 0 that nothing was measured.
      const bool absent = k == 1 && !info.has_gyroscope();
      set_data_attributes(s.data[k].dataset.get(), units[k], conversions[k],
                          absent
                              ? std::string("no gyroscope on this sensor (accelerometer only): all zeros, "
                                            "conversion 0, not a measurement")
                              : std::string(names[k]) + " counts [samples x 3] (x, y, z in the sensor frame)",
                          s.data[k].where);
    }
    create_common(s, g.get(), gpath, info.rate_hz);
  }
}

void SessionWriter::Impl::fsync_file() {
  void* handle = nullptr;
  check_status(H5Fget_vfd_handle(file.get(), fapl.get(), &handle), "get file descriptor of", where("/"));
  const int fd = *static_cast<int*>(handle);  // sec2 driver: the handle is the POSIX descriptor
  if (::fsync(fd) != 0) {
    const int error = errno;
    throw std::runtime_error("cannot fsync session file " + path_text + ": " +
                             std::generic_category().message(error));
  }
}

void SessionWriter::Impl::freeze_file() noexcept {
  // Why: closing an HDF5 file flushes its metadata cache, and HDF5 then rewrites durable metadata in place to
  // point at space it allocates at that moment (measured: closing moved the chunk index of checkpointed rows
  // past the checkpoint's end of file). After ENOSPC that space never reaches the disk, so rows the last
  // checkpoint made durable would no longer read. And HDF5 1.10 cannot survive a close whose flush fails: it
  // leaves a half-destroyed file that crashes the library's atexit cleanup (measured, H5F__close_cb).
  // So the file is frozen as it is: the descriptor HDF5 writes through is pointed at /dev/null. The close
  // then "succeeds" into nothing, and the file stays what SWMR had flushed, exactly as after kill -9 (status
  // "recording", still flagged SWMR): recover() finishes it from the journal.
  if (!file || frozen) return;
  void* handle = nullptr;
  if (H5Fget_vfd_handle(file.get(), fapl.get(), &handle) < 0 || handle == nullptr) {
    H5Eclear2(H5E_DEFAULT);
    return;
  }
  const int fd = *static_cast<int*>(handle);  // sec2 driver: the POSIX descriptor
  const int sink = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (sink < 0) return;
  if (::dup2(sink, fd) >= 0) frozen = true;
  ::close(sink);
}

void SessionWriter::Impl::fill_journal(JournalWriter& j) {
  // First what HDF5 durably holds (just fsync'ed), then everything it does not: pending rows of each stream
  // (as their blocks), then all events, gaps, the timing fit and statistics.
  j.append(durable_state());
  auto pending_to_journal = [&](Stream& s, auto&& emit) {
    std::size_t row = 0;  // index into pending rows
    std::size_t b = 0;
    const std::size_t n = s.pending_rows();
    while (row < n) {
      const bool starts_block =
          b < s.pending_blocks.size() && s.pending_blocks[b].first_row == s.rows_in_file + row;
      std::size_t end = n;
      if (b + (starts_block ? 1 : 0) < s.pending_blocks.size()) {
        end =
            static_cast<std::size_t>(s.pending_blocks[b + (starts_block ? 1 : 0)].first_row - s.rows_in_file);
      }
      const BlockEntry entry = starts_block ? s.pending_blocks[b] : BlockEntry{};
      emit(row, end - row, entry, !starts_block);
      if (starts_block) ++b;
      row = end;
    }
  };
  pending_to_journal(emg,
                     [&](std::size_t row, std::size_t count, const BlockEntry& entry, bool continuation) {
                       EmgBlock block;
                       block.first_sample = emg.pending_samples[row];
                       block.channels = static_cast<std::uint32_t>(device.emg.size());
                       block.device_time_us = entry.device_time_us;
                       block.host_time_s = entry.host_time_s;
                       block.counts.resize(count * block.channels);
                       const auto& bytes = emg.pending[0];
                       for (std::size_t k = 0; k < block.counts.size(); ++k) {
                         const std::size_t index = row * block.channels + k;
                         if (emg_int16) {
                           std::int16_t v;
                           std::memcpy(&v, bytes.data() + index * 2, 2);
                           block.counts[k] = v;
                         } else {
                           std::memcpy(&block.counts[k], bytes.data() + index * 4, 4);
                         }
                       }
                       j.append(block, emg_int16, continuation);
                     });
  for (std::size_t i = 0; i < imu.size(); ++i) {
    Stream& s = imu[i];
    pending_to_journal(s,
                       [&](std::size_t row, std::size_t count, const BlockEntry& entry, bool continuation) {
                         ImuBlock block;
                         block.sensor = static_cast<std::uint8_t>(i);
                         block.first_sample = s.pending_samples[row];
                         block.device_time_us = entry.device_time_us;
                         block.host_time_s = entry.host_time_s;
                         std::vector<std::int16_t>* targets[3] = {&block.accel, &block.gyro, &block.mag};
                         for (std::size_t k = 0; k < s.data.size(); ++k) {
                           targets[k]->resize(count * 3);
                           std::memcpy(targets[k]->data(), s.pending[k].data() + row * 6, count * 6);
                         }
                         j.append(block, continuation);
                       });
  }
  for (const auto& e : events) j.append(e);
  for (const auto& g : gaps) j.append(g);
  if (has_timing_fit) j.append(timing_fit);
  j.append(stats);
}

JournalCheckpoint SessionWriter::Impl::durable_state() const {
  JournalCheckpoint c;
  c.streams.push_back(emg.checkpoint());
  for (const auto& s : imu) c.streams.push_back(s.checkpoint());
  return c;
}

void SessionWriter::Impl::do_checkpoint() {
  check_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush", where("/"));
  fsync_file();
  if (journal) journal->rotate([&](JournalWriter& j) { fill_journal(j); });
  last_checkpoint = Clock::now();
  last_journal_sync = last_checkpoint;
  journal_dirty = false;
}

void SessionWriter::Impl::maybe_sync() {
  const auto now = Clock::now();
  if (now - last_checkpoint >= std::chrono::duration<double>(options.checkpoint_interval_s)) {
    do_checkpoint();
    return;
  }
  if (journal && journal_dirty &&
      now - last_journal_sync >= std::chrono::duration<double>(options.journal_sync_interval_s)) {
    journal->sync();
    last_journal_sync = now;
    journal_dirty = false;
  }
}

void SessionWriter::Impl::finalize(FinalStatus status) {
  // 1. The remaining partial chunks (written once, so no SWMR copy bloat), then close the SWMR file.
  emg.write_rows(emg.pending_rows());
  for (auto& s : imu) s.write_rows(s.pending_rows());
  check_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "flush", where("/"));
  emg.close();
  for (auto& s : imu) s.close();
  if (!file.reset()) throw_hdf5_error("close", "/", path_text);

  // 2. Reopen normally to write what SWMR forbids (variable-length strings, new objects, attributes).
  file = FileHandle(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
  if (!file) throw_hdf5_error("reopen to finish", "/", path_text);
  const hid_t f = file.get();
  write_events_table(f, events, path_text);
  write_gaps_table(f, gaps, path_text);
  write_angle_channels(f, angles, path_text);
  write_timing_fit(f, timing_fit, path_text);
  stats.emg_samples = emg.rows_total;
  stats.imu_samples = 0;
  for (const auto& s : imu) stats.imu_samples += s.rows_total;
  write_statistics(f, stats, path_text);
  const auto root = where("/");
  if (status == FinalStatus::recovered) {
    write_string_attribute(f, "recovered_by", "glutescope " + std::string(GLUTESCOPE_VERSION), root);
  }
  write_string_attribute(f, "session_end_time", iso8601_now(), root);
  write_string_attribute(
      f, "status", std::string(status == FinalStatus::complete ? kStatusComplete : kStatusRecovered), root);
  check_status(H5Fflush(f, H5F_SCOPE_GLOBAL), "flush", root);
  fsync_file();
  if (!file.reset()) throw_hdf5_error("close", "/", path_text);
  // 3. The file is complete and durable: the journal has no more use.
  if (journal) journal->remove();
  journal.reset();
}

SessionWriter::SessionWriter(std::filesystem::path path, DeviceInfo device, Montage montage,
                             std::string subject_id, SessionWriterOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = std::move(path);
  m.path_text = m.path.string();
  m.device = std::move(device);
  m.montage = std::move(montage);
  m.subject_id = std::move(subject_id);
  m.options = std::move(options);
  if (m.subject_id.empty())
    throw std::invalid_argument("subject id must not be empty (use a pseudonymous code)");
  if (m.montage.emg.size() != m.device.emg.size()) {
    throw std::invalid_argument("montage has " + std::to_string(m.montage.emg.size()) +
                                " EMG channels but the " + "device reports " +
                                std::to_string(m.device.emg.size()));
  }
  if (m.montage.imu.size() != m.device.imu.size()) {
    throw std::invalid_argument("montage has " + std::to_string(m.montage.imu.size()) +
                                " IMUs but the device " + "reports " + std::to_string(m.device.imu.size()));
  }
  if (m.device.imu.size() > 255) throw std::invalid_argument("at most 255 IMUs per session");
  std::set<std::string> labels;
  for (const auto& s : m.montage.imu) {
    validate_label(s.label, "IMU");
    if (!labels.insert(s.label).second)
      throw std::invalid_argument("duplicate IMU label \"" + s.label + "\"");
  }
  if (!(m.device.emg_rate_hz > 0.0)) throw std::invalid_argument("EMG rate must be > 0 Hz");
  for (const auto& s : m.device.imu) {
    if (!(s.rate_hz > 0.0)) throw std::invalid_argument("IMU rate must be > 0 Hz");
  }
  if (!(m.options.chunk_duration_s > 0.0) || !(m.options.checkpoint_interval_s > 0.0) ||
      !(m.options.journal_sync_interval_s > 0.0) || m.options.deflate_level < 0 ||
      m.options.deflate_level > 9) {
    throw std::invalid_argument("session writer options out of range (durations must be > 0, deflate 0–9)");
  }
  m.emg_int16 = m.device.emg_format == SampleFormat::int16;

  m.create_file();
  try {
    m.write_metadata();
    m.create_streams();
    // From here on only raw data may be appended (SWMR); every object above exists and is flushed.
    check_status(H5Fstart_swmr_write(m.file.get()), "start SWMR writing for", m.where("/"));
    m.fsync_file();
    if (m.journal) {
      m.journal->append(m.durable_state());  // no rows yet: recovery takes every row from the journal
      m.journal->sync();
    }
  } catch (...) {
    m.emg.close();
    for (auto& s : m.imu) s.close();
    m.file.reset();
    m.journal.reset();
    std::error_code ec;
    std::filesystem::remove(m.path, ec);
    std::filesystem::remove(journal_path_for(m.path), ec);
    throw;
  }
  m.last_journal_sync = m.last_checkpoint = Clock::now();
}

SessionWriter::~SessionWriter() {
  if (!impl_ || impl_->closed) return;
  // Not closed: treated as a crash. The file stays as the last flush left it (status "recording", consistent
  // thanks to SWMR), frozen so that closing cannot rewrite it, and the journal is kept for recover().
  silence_hdf5_errors();  // this may be a thread that never called HDF5
  impl_->freeze_file();
  impl_->emg.close();
  for (auto& s : impl_->imu) s.close();
  impl_->file.reset();
  H5Eclear2(H5E_DEFAULT);
}

void SessionWriter::append(const EmgBlock& block) {
  Impl& m = *impl_;
  m.guarded([&] {
    const std::size_t channels = m.device.emg.size();
    const std::size_t n = block.samples();
    if (block.channels != channels || block.counts.size() != n * channels) {
      throw std::invalid_argument("EMG block has " + std::to_string(block.channels) + " channels and " +
                                  std::to_string(block.counts.size()) + " values; the session has " +
                                  std::to_string(channels) + " channels");
    }
    if (n == 0) return;
    if (m.emg.has_samples && block.first_sample <= m.emg.last_sample) {
      throw std::invalid_argument("EMG block starting at sample " + std::to_string(block.first_sample) +
                                  " overlaps samples already written (last " +
                                  std::to_string(m.emg.last_sample) + ")");
    }
    if (m.emg_int16) {
      for (const std::int32_t v : block.counts) {
        if (v < std::numeric_limits<std::int16_t>::min() || v > std::numeric_limits<std::int16_t>::max()) {
          throw std::invalid_argument("EMG count " + std::to_string(v) +
                                      " does not fit the device's int16 format");
        }
      }
    }
    if (m.journal) {
      m.journal->append(block, m.emg_int16);
      m.journal_dirty = true;
    }
    auto& bytes = m.emg.pending[0];
    const std::size_t offset = bytes.size();
    if (m.emg_int16) {
      bytes.resize(offset + block.counts.size() * 2);
      auto* out = bytes.data() + offset;
      for (std::size_t i = 0; i < block.counts.size(); ++i) {
        const auto v = static_cast<std::int16_t>(block.counts[i]);
        std::memcpy(out + i * 2, &v, 2);
      }
    } else {
      bytes.resize(offset + block.counts.size() * 4);
      std::memcpy(bytes.data() + offset, block.counts.data(), block.counts.size() * 4);
    }
    m.emg.pending_blocks.push_back({m.emg.rows_total, block.host_time_s, block.device_time_us});
    for (std::size_t i = 0; i < n; ++i) m.emg.pending_samples.push_back(block.first_sample + i);
    m.emg.rows_total += n;
    m.emg.has_samples = true;
    m.emg.last_sample = block.first_sample + n - 1;
    m.emg.write_full_chunks();
    m.maybe_sync();
  });
}

void SessionWriter::append(const ImuBlock& block) {
  Impl& m = *impl_;
  m.guarded([&] {
    if (block.sensor >= m.imu.size()) {
      throw std::invalid_argument("IMU block for sensor " + std::to_string(block.sensor) +
                                  " but the session has " + std::to_string(m.imu.size()) + " IMUs");
    }
    Stream& s = m.imu[block.sensor];
    const std::size_t n = block.samples();
    const bool has_mag = s.data.size() == 3;
    if (block.accel.size() != n * 3 || block.gyro.size() != n * 3 ||
        block.mag.size() != (has_mag ? n * 3 : 0)) {
      throw std::invalid_argument(
          "IMU block for sensor " + std::to_string(block.sensor) + " has inconsistent accel/gyro/mag sizes" +
          (has_mag ? " (this IMU has a magnetometer)" : " (this IMU has no magnetometer)"));
    }
    if (n == 0) return;
    if (s.has_samples && block.first_sample <= s.last_sample) {
      throw std::invalid_argument("IMU block starting at sample " + std::to_string(block.first_sample) +
                                  " overlaps samples already written (last " + std::to_string(s.last_sample) +
                                  ")");
    }
    if (m.journal) {
      m.journal->append(block);
      m.journal_dirty = true;
    }
    const std::vector<std::int16_t>* sources[3] = {&block.accel, &block.gyro, &block.mag};
    for (std::size_t k = 0; k < s.data.size(); ++k) {
      auto& bytes = s.pending[k];
      const std::size_t offset = bytes.size();
      bytes.resize(offset + n * 6);
      std::memcpy(bytes.data() + offset, sources[k]->data(), n * 6);
    }
    s.pending_blocks.push_back({s.rows_total, block.host_time_s, block.device_time_us});
    for (std::size_t i = 0; i < n; ++i) s.pending_samples.push_back(block.first_sample + i);
    s.rows_total += n;
    s.has_samples = true;
    s.last_sample = block.first_sample + n - 1;
    s.write_full_chunks();
    m.maybe_sync();
  });
}

void SessionWriter::add_event(const Event& event) {
  Impl& m = *impl_;
  m.guarded([&] {
    if (m.journal) {
      m.journal->append(event);
      m.journal_dirty = true;
    }
    m.events.push_back(event);
    m.maybe_sync();
  });
}

void SessionWriter::add_gap(const Gap& gap) {
  Impl& m = *impl_;
  m.guarded([&] {
    if (m.journal) {
      m.journal->append(gap);
      m.journal_dirty = true;
    }
    m.gaps.push_back(gap);
    m.maybe_sync();
  });
}

void SessionWriter::set_angle_channels(std::vector<AngleChannel> angles) {
  Impl& m = *impl_;
  m.guarded([&] { m.angles = std::move(angles); });
}

void SessionWriter::set_timing_fit(const TimingFit& fit) {
  Impl& m = *impl_;
  m.guarded([&] {
    if (m.journal) {
      m.journal->append(fit);
      m.journal_dirty = true;
    }
    m.timing_fit = fit;
    m.has_timing_fit = true;
  });
}

void SessionWriter::set_statistics(const SessionStatistics& statistics) {
  Impl& m = *impl_;
  m.guarded([&] {
    if (m.journal) {
      m.journal->append(statistics);
      m.journal_dirty = true;
    }
    m.stats = statistics;
  });
}

void SessionWriter::sync_if_due() {
  Impl& m = *impl_;
  m.guarded([&] { m.maybe_sync(); });
}

void SessionWriter::checkpoint() {
  Impl& m = *impl_;
  m.guarded([&] { m.do_checkpoint(); });
}

void SessionWriter::close(FinalStatus status) {
  Impl& m = *impl_;
  m.guarded([&] { m.finalize(status); });
  m.closed = true;
}

const std::filesystem::path& SessionWriter::path() const noexcept { return impl_->path; }
std::uint64_t SessionWriter::emg_rows() const noexcept { return impl_->emg.rows_total; }
std::uint64_t SessionWriter::emg_rows_in_file() const noexcept { return impl_->emg.rows_in_file; }

SessionStatistics SessionWriter::statistics() const {
  SessionStatistics s = impl_->stats;
  s.emg_samples = impl_->emg.rows_total;
  s.imu_samples = 0;
  for (const auto& stream : impl_->imu) s.imu_samples += stream.rows_total;
  return s;
}

}  // namespace glutescope::store
