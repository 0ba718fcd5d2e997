// Crash journal: an append-only file of raw records beside the session file (FILE.h5.journal).
//
// Why: HDF5 data reach the file only in whole chunks (≈0.5–1 s) and H5Fflush does not fsync
// (research/imu-and-hdf5.md §2.3), so everything appended since the last durable HDF5 checkpoint is also
// written here, one record per call, and fsync'd at least every
// SessionWriterOptions::journal_sync_interval_s. Events, gaps, the timing fit and statistics live only here
// until close (SWMR forbids creating the variable-length strings they need while recording).
//
// File layout (little-endian): 8-byte magic "GSJRNL01", then records:
//   u32 payload_length, u32 crc32(type byte + payload) (zlib/IEEE 802.3 polynomial), u8 type, payload.
// A reader skips a record whose CRC fails or whose length is impossible and resumes at the next byte offset
// where an intact record starts (its CRC-32 must match: a false match has probability 2^-32 per candidate);
// the skipped bytes are reported (JournalContents::damaged). Bytes after the last intact record are a torn
// tail (crash mid-write).
//
// Threading: a JournalWriter belongs to the session writer's thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::store {

enum class JournalRecordType : std::uint8_t {
  emg_block = 1,
  imu_block = 2,
  event = 3,
  gap = 4,
  timing_fit = 5,
  statistics = 6,
  checkpoint = 7,
};

// A block as journaled. `continuation` = these rows continue a block whose first rows (and block-table entry)
// were already in the HDF5 file when the journal was rotated: recovery appends them without a new block
// entry.
struct JournalEmgBlock {
  EmgBlock block;
  bool continuation = false;
};
struct JournalImuBlock {
  ImuBlock block;
  bool continuation = false;
};

// What the HDF5 file held durably (H5Fflush + fsync returned) when this journal was started: per stream (EMG,
// then IMU sensors in order) the rows and block-table entries, and a CRC-32 of the native bytes handed to
// HDF5 for each of the stream's datasets (data datasets, sample_index, block_first_row, block_host_time,
// block_device_time_us; rows [0, rows) or blocks [0, blocks)). Recovery trusts the file only up to here,
// and only if the bytes it reads back have these CRCs: the journal holds every row after this point.
struct StreamCheckpoint {
  std::uint64_t rows = 0;
  std::uint64_t blocks = 0;
  std::vector<std::uint32_t> dataset_crc32;
};
struct JournalCheckpoint {
  std::vector<StreamCheckpoint> streams;
};

using JournalRecord = std::variant<JournalEmgBlock, JournalImuBlock, Event, Gap, TimingFit, SessionStatistics,
                                   JournalCheckpoint>;

// Bytes of a journal that did not form an intact record (CRC mismatch, impossible length or payload) but were
// followed by intact records again: damage in the middle, not a torn tail.
struct JournalDamage {
  std::uint64_t offset = 0;  // first damaged byte
  std::uint64_t bytes = 0;   // up to the next intact record
};

struct JournalContents {
  std::vector<JournalRecord> records;
  std::uint64_t valid_bytes = 0;  // bytes up to the end of the last good record
  std::uint64_t file_bytes = 0;
  bool torn_tail = false;              // bytes after the last good record (crash mid-write, or corruption)
  std::vector<JournalDamage> damaged;  // skipped ranges between intact records (oldest first)
};

// Reads a journal; throws std::runtime_error naming the path if it cannot be read or has no valid magic.
JournalContents read_journal(const std::filesystem::path& path);

std::filesystem::path journal_path_for(const std::filesystem::path& session_path);

class JournalWriter {
 public:
  // Creates (truncates) the journal and fsyncs it and its directory. Throws std::runtime_error naming the
  // path (e.g. unwritable directory).
  explicit JournalWriter(std::filesystem::path path);
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;
  ~JournalWriter();

  // Append one record with a single write(2) (data reach the page cache: they survive a process crash).
  // EMG counts are stored as int16 when `emg_int16`, else int32. Throws std::runtime_error on I/O error
  // (ENOSPC included), naming the path.
  void append(const EmgBlock& block, bool emg_int16, bool continuation = false);
  void append(const ImuBlock& block, bool continuation = false);
  void append(const Event& event);
  void append(const Gap& gap);
  void append(const TimingFit& fit);
  void append(const SessionStatistics& statistics);
  void append(const JournalCheckpoint& checkpoint);

  // fdatasync: the records survive power loss once this returns.
  void sync();

  // Start a fresh journal: write the new contents to PATH.tmp with `fill` (which calls append on this
  // object), fsync, atomically rename over PATH, fsync the directory. A crash at any point leaves either
  // the old or the new journal complete. On an error (e.g. ENOSPC) PATH.tmp is deleted and appends go on to
  // the old journal, which is still complete.
  template <typename Fill>
  void rotate(Fill&& fill) {
    begin_rotation();
    try {
      fill(*this);
      finish_rotation();
    } catch (...) {
      abort_rotation();  // keep appending to the old, complete journal
      throw;
    }
  }

  // Delete the journal (after the session file was closed durably).
  void remove();

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

 private:
  void write_record(JournalRecordType type);
  void begin_rotation();
  void finish_rotation();
  void abort_rotation() noexcept;
  void open_new(const std::filesystem::path& path);

  std::filesystem::path path_;
  int fd_ = -1;
  int old_fd_ = -1;  // during rotation
  std::uint64_t bytes_ = 0;
  std::uint64_t old_bytes_ = 0;       // during rotation
  std::vector<std::uint8_t> buffer_;  // reused record buffer (type byte + payload)
};

// fsync the directory that holds `path` (makes a create/rename/unlink durable). Throws on error.
void sync_directory_of(const std::filesystem::path& path);

}  // namespace glutescope::store
