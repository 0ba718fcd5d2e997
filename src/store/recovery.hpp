// Recovery of a session whose writer died (status "recording"): see docs/SESSION_FORMAT.md §Recovery.
//
// recover(FILE.h5):
//   1. reads FILE.h5.journal (records up to the first torn/corrupt one); it starts with a checkpoint: the
//   rows
//      and block entries per stream the file held durably (fsync'ed) then, with the CRC-32 of their bytes;
//   2. opens FILE.h5 read-only (SWMR-read when it is still flagged open; never `h5clear -s`, which truncated
//      crashed SWMR files to their stale end-of-allocation in our measurements, research/imu-and-hdf5.md
//      §2.3; with a checkpoint also a file whose superblock claims bytes a full disk never received) and
//      checks that the checkpointed rows read back with the recorded CRCs (else it throws: nothing is
//      fabricated);
//   3. writes a fresh v1 file FILE.h5.recovering with the original metadata, the file's rows up to the
//      checkpoint (all its rows when there is no journal), then the journal's rows not already present
//      (deduplicated by sample index), the journal's events, gaps, timing fit and statistics; status
//      "recovered";
//   4. renames FILE.h5 → FILE.h5.orig (kept untouched for inspection), FILE.h5.recovering → FILE.h5, removes
//      the journal. Until step 4 the original and its journal are never modified.
// Throws std::runtime_error (SessionFormatError for unreadable files) naming the path; refuses a file whose
// status is not "recording" and refuses to overwrite an existing FILE.h5.orig.
//
// Threading: call from any one thread; the file must not be open for writing by a live process.
#pragma once

#include <cstdint>
#include <filesystem>

namespace glutescope::store {

struct RecoveryReport {
  std::filesystem::path original_backup;  // FILE.h5.orig
  bool journal_found = false;
  bool journal_torn_tail = false;   // bytes after the last intact record were ignored
  bool file_was_truncated = false;  // FILE.h5 claimed more bytes than the disk held (its disk filled up)
  std::uint64_t journal_records = 0;
  std::uint64_t emg_rows_from_file = 0;
  std::uint64_t emg_rows_from_journal = 0;
  std::uint64_t imu_rows_from_file = 0;  // all sensors
  std::uint64_t imu_rows_from_journal = 0;
  std::uint64_t events = 0;
  std::uint64_t gaps = 0;
  // Damage in the middle of the journal (CRC mismatch with intact records after it): the ranges skipped.
  std::uint64_t journal_damaged_records = 0;  // damaged ranges, each one or more records
  std::uint64_t journal_damaged_bytes = 0;
  std::uint64_t journal_first_damaged_offset = 0;
  // With a damaged journal the rows it lost may still be in the file: rows past the checkpoint are then
  // taken from the file too (while their sample index keeps increasing), though no CRC vouches for them.
  std::uint64_t emg_rows_unverified_from_file = 0;
  std::uint64_t imu_rows_unverified_from_file = 0;
};

RecoveryReport recover(const std::filesystem::path& path);

}  // namespace glutescope::store
