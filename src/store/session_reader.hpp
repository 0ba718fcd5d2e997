// SessionReader: opens a session file of format v1 (docs/SESSION_FORMAT.md) and returns its contents as the
// core types, counts or physical units.
//
// Opens finished files normally and live or crashed files (status "recording", still flagged as open by a
// SWMR writer) read-only in SWMR-read mode; it never writes. A crashed file shows what its writer had
// flushed; recover() adds the journal's last second.
//
// Errors (std::runtime_error subclasses, one line naming the path and the object): missing file, not an HDF5
// file, truncated or damaged HDF5 file, an HDF5 file that is not a glutescope session, a newer major format
// version, and any dataset or attribute whose rank, shape, type, length or range is not the format's
// (docs/RELIABILITY.md "Session files"). Nothing is sized from the file before it is checked; a damaged
// checksum fails within ≈0.3 s instead of HDF5's endless SWMR retry.
//
// Threading: one SessionReader per thread (it owns an HDF5 file id); independent readers may run in parallel
// (Debian's HDF5 is built thread-safe, calls are serialised inside the library).
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::store {

// The file is not a readable glutescope session (the message says why and names the path).
class SessionFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SessionInfo {
  std::string format;              // "glutescope-session"
  std::string format_version;      // "1.1"
  std::string software_version;    // "glutescope 0.1.0"
  std::string session_start_time;  // ISO 8601 with offset
  std::string session_description;
  std::string status;  // "recording" | "complete" | "recovered"
  std::string subject_id;
  double host_clock_at_start_s = 0.0;
};

// One row per received block: first_row indexes the stream's rows (data, sample_index).
struct BlockTable {
  std::vector<std::uint64_t> first_row;
  std::vector<double> host_time_s;
  std::vector<std::uint64_t> device_time_us;
};

// IMU rows, [rows x 3] row-major each; mag empty when the sensor has no magnetometer.
template <typename T>
struct ImuRows {
  std::vector<T> accel;  // counts, or g
  std::vector<T> gyro;   // counts, or deg/s
  std::vector<T> mag;    // counts, or µT
};

inline constexpr std::uint64_t kAllRows = std::numeric_limits<std::uint64_t>::max();

// How to open a session.
struct SessionReaderOpenOptions {
  // Open a file whose superblock claims more bytes than the disk holds (its writer hit a full disk: HDF5 had
  // allocated space that never reached the disk, and a normal open fails with "truncated file"). Reads past
  // the real end of file return zeros, so only rows the crash journal's checkpoint vouches for (CRC-checked)
  // may be trusted: recover() uses this, nothing else should.
  bool allow_truncated = false;
};

inline const SessionReaderOpenOptions kDefaultSessionReaderOpenOptions{};

class SessionReader {
 public:
  explicit SessionReader(const std::filesystem::path& path,
                         SessionReaderOpenOptions open_options = kDefaultSessionReaderOpenOptions);
  SessionReader(const SessionReader&) = delete;
  SessionReader& operator=(const SessionReader&) = delete;
  SessionReader(SessionReader&&) noexcept;
  SessionReader& operator=(SessionReader&&) noexcept;
  ~SessionReader();

  [[nodiscard]] const SessionInfo& info() const noexcept;
  [[nodiscard]] bool opened_swmr() const noexcept;       // still flagged open by a writer (live or crashed)
  [[nodiscard]] bool opened_truncated() const noexcept;  // allow_truncated was needed to open it
  [[nodiscard]] DeviceInfo device() const;
  [[nodiscard]] Montage montage() const;  // channel gain/µV per count are the device's, as stored

  // EMG rows [first_row, first_row + rows) (clamped to the stored rows), row-major [rows x channels].
  [[nodiscard]] std::uint64_t emg_rows() const;
  [[nodiscard]] std::size_t emg_channels() const noexcept;
  [[nodiscard]] std::vector<std::int32_t> emg_counts(std::uint64_t first_row = 0,
                                                     std::uint64_t rows = kAllRows) const;
  // Whether the stored counts are integers that all fit int16 (signed of at most 16 bits, unsigned of 8);
  // emg_counts_int16 then reads the same values at half the memory (SessionFormatError when they do not).
  [[nodiscard]] bool emg_counts_fit_int16() const noexcept;
  [[nodiscard]] std::vector<std::int16_t> emg_counts_int16(std::uint64_t first_row = 0,
                                                           std::uint64_t rows = kAllRows) const;
  [[nodiscard]] std::vector<double> emg_microvolts(std::uint64_t first_row = 0,
                                                   std::uint64_t rows = kAllRows) const;
  [[nodiscard]] std::vector<std::uint64_t> emg_sample_index(std::uint64_t first_row = 0,
                                                            std::uint64_t rows = kAllRows) const;
  [[nodiscard]] BlockTable emg_blocks(std::uint64_t max_blocks = kAllRows) const;  // the first max_blocks
  // The whole sample index, checked (SessionFormatError naming the row otherwise): strictly increasing and
  // within store::kMaxSessionSpanS at the stream's rate. Read it so before sizing anything from it.
  [[nodiscard]] std::vector<std::uint64_t> checked_emg_sample_index() const;
  [[nodiscard]] std::vector<std::uint64_t> checked_imu_sample_index(std::size_t sensor) const;
  // The same checks, read in batches without keeping the index: its span (last value + 1; 0 when empty). A
  // checked index of `rows` values with span == rows is exactly 0, 1, ..., rows - 1, so a reader that finds
  // so needs no index to place the rows.
  [[nodiscard]] std::uint64_t checked_emg_sample_span() const;
  [[nodiscard]] std::uint64_t checked_imu_sample_span(std::size_t sensor) const;

  [[nodiscard]] std::size_t imu_count() const noexcept;
  [[nodiscard]] std::uint64_t imu_rows(std::size_t sensor) const;
  [[nodiscard]] ImuRows<std::int16_t> imu_counts(std::size_t sensor, std::uint64_t first_row = 0,
                                                 std::uint64_t rows = kAllRows) const;
  [[nodiscard]] ImuRows<double> imu_physical(std::size_t sensor, std::uint64_t first_row = 0,
                                             std::uint64_t rows = kAllRows) const;  // g, deg/s, µT
  [[nodiscard]] std::vector<std::uint64_t> imu_sample_index(std::size_t sensor, std::uint64_t first_row = 0,
                                                            std::uint64_t rows = kAllRows) const;
  [[nodiscard]] BlockTable imu_blocks(std::size_t sensor, std::uint64_t max_blocks = kAllRows) const;

  // Written at close: empty / default for a file still "recording".
  [[nodiscard]] std::vector<Event> events() const;
  [[nodiscard]] std::vector<Gap> gaps() const;
  // /acquisition/angle (format 1.2; empty for older files), checked: names from the label maps of
  // core/montage.hpp, unit "deg", positive finite rates (read_column bounds each dataset).
  [[nodiscard]] std::vector<AngleChannel> angle_channels() const;
  [[nodiscard]] TimingFit timing_fit() const;
  [[nodiscard]] SessionStatistics statistics() const;  // emg_samples / imu_samples always from the rows

  // SWMR reader of a live file: pick up rows flushed since opening.
  void refresh();

 private:
  void open(SessionReaderOpenOptions open_options);  // the constructor's checks, inside its watch
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glutescope::store
