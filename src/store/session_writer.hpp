// SessionWriter: records one session to an HDF5 file in session format v1 (docs/SESSION_FORMAT.md).
//
// Lifecycle: construct (writes all metadata, creates every dataset, starts SWMR) → append / add_event /
// add_gap / set_timing_fit / set_statistics, with sync_if_due() when idle → close() (status "complete").
// A writer destroyed without close() leaves status "recording" and its crash journal: run recover().
//
// Durability (why, in SESSION_FORMAT.md §Write strategy):
//   * append() returns once the block is in the crash journal's page cache: it then survives a crash of this
//     process (kill -9). The journal is fdatasync'd at least every journal_sync_interval_s (on append or
//     sync_if_due), so a block appended more than that long ago also survives power loss.
//   * HDF5 receives whole chunks only (no partial compressed chunk is ever flushed: no SWMR bloat), each
//     followed by H5Dflush so a SWMR reader sees it; every checkpoint_interval_s the file is H5Fflush'ed,
//     fsync'ed through H5Fget_vfd_handle, and the journal rotated to hold only what HDF5 does not yet have.
//
// Threading: NOT thread-safe. One thread owns a SessionWriter and makes every call (HDF5 state is global to
// the file). The acquisition thread must never call it directly: put a SessionWriterThread in between.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::store {

struct SessionWriterOptions {
  bool force = false;             // replace an existing FILE.h5 (and FILE.h5.journal); else refuse
  bool journal = true;            // write FILE.h5.journal (recovery needs it for the last second)
  double chunk_duration_s = 1.0;  // rows per chunk = rate × this, capped so one chunk ≤ max_chunk_bytes
  std::size_t max_chunk_bytes = 1 << 20;  // HDF5's default per-dataset chunk cache is 1 MiB: stay within it
  double checkpoint_interval_s = 5.0;     // H5Fflush + fsync of the .h5 + journal rotation
  double journal_sync_interval_s = 0.25;  // fdatasync of the journal (≤ 0.5 s: the power-loss bound)
  int deflate_level = 0;                  // 0 = uncompressed; 1–9 = shuffle + deflate (whole chunks only)
  std::string software_version = GLUTESCOPE_VERSION;  // "glutescope <version>" is written
  std::string session_start_time;      // ISO 8601 with offset; empty = now, local time with offset
  double host_clock_at_start_s = 0.0;  // host clock (same as block host_time_s) at session_start_time
  std::string session_description;     // free text, no personal data
};
// The documented default instance.
inline const SessionWriterOptions kDefaultSessionWriterOptions{};

enum class FinalStatus { complete, recovered };

class SessionWriter {
 public:
  // Creates `path` (and `path`.journal) and writes all metadata. Throws:
  //   std::invalid_argument – montage and device disagree (channel/IMU counts), bad IMU labels, empty subject
  //                           id, or options out of range;
  //   std::runtime_error    – the file exists and !options.force, or the path is not writable (message names
  //                           the path).
  // `subject_id` is a pseudonymous code ("S017"); never a name or any other identifying data.
  SessionWriter(std::filesystem::path path, DeviceInfo device, Montage montage, std::string subject_id,
                SessionWriterOptions options = kDefaultSessionWriterOptions);
  SessionWriter(const SessionWriter&) = delete;
  SessionWriter& operator=(const SessionWriter&) = delete;
  // Without close(): treated as a crash. The HDF5 file is frozen as SWMR last flushed it (status "recording";
  // HDF5's descriptor is pointed at /dev/null first, so the close cannot rewrite it) and the journal is kept.
  ~SessionWriter();

  // Append samples. Blocks of one stream must come in increasing sample order without overlap
  // (first_sample > last sample written); holes are allowed and are gaps (add_gap records why).
  // Throws std::invalid_argument for a malformed block (wrong channel count, sensor index, overlap, int16
  // overflow) and std::runtime_error / Hdf5Error for I/O errors (full disk), naming the path. After an I/O
  // error the writer is failed: the HDF5 file is frozen (never written again), further calls throw, and every
  // block whose append() returned is recoverable bit-exact (SESSION_FORMAT.md §3.1).
  void append(const EmgBlock& block);
  void append(const ImuBlock& block);

  // Events, gaps, timing fit and statistics are kept in memory and in the journal; they are written to the
  // HDF5 file at close() (or by recover()). set_* replace the previous value.
  void add_event(const Event& event);
  void add_gap(const Gap& gap);
  // Angle channels (imports), written at close to /acquisition/angle; not journalled (an import writes its
  // file in one go and renames it only when complete).
  void set_angle_channels(std::vector<AngleChannel> angles);
  void set_timing_fit(const TimingFit& fit);
  void set_statistics(const SessionStatistics& statistics);  // emg_samples/imu_samples are ignored

  // Call when idle (e.g. every 100 ms without data): fsyncs the journal and checkpoints when due.
  void sync_if_due();
  // Force a checkpoint now (HDF5 flush + fsync + journal rotation).
  void checkpoint();

  // Write remaining rows, events, gaps, timing fit, statistics and status; fsync; delete the journal.
  void close(FinalStatus status = FinalStatus::complete);

  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  [[nodiscard]] std::uint64_t emg_rows() const noexcept;          // appended (journaled), not only in HDF5
  [[nodiscard]] std::uint64_t emg_rows_in_file() const noexcept;  // rows handed to HDF5 so far
  [[nodiscard]] SessionStatistics statistics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glutescope::store
