// Recovery of a session whose writer died (status "recording"): see docs/SESSION_FORMAT.md §Recovery.
//
// recover(FILE.h5):
//   1. opens FILE.h5 read-only (SWMR-read when it is still flagged open; never `h5clear -s`, which truncated
//      crashed SWMR files to their stale end-of-allocation in our measurements, research/imu-and-hdf5.md §2.3);
//   2. reads FILE.h5.journal (records up to the first torn/corrupt one);
//   3. writes a fresh v1 file FILE.h5.recovering with the original metadata, the rows found in FILE.h5, then
//      the journal's rows not already present (deduplicated by sample index), the journal's events, gaps,
//      timing fit and statistics; status "recovered";
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
  bool journal_torn_tail = false;         // bytes after the last intact record were ignored
  std::uint64_t journal_records = 0;
  std::uint64_t emg_rows_from_file = 0;
  std::uint64_t emg_rows_from_journal = 0;
  std::uint64_t imu_rows_from_file = 0;    // all sensors
  std::uint64_t imu_rows_from_journal = 0;
  std::uint64_t events = 0;
  std::uint64_t gaps = 0;
};

RecoveryReport recover(const std::filesystem::path& path);

}  // namespace glutescope::store
