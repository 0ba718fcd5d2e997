// glutescope recover: rebuild a session file whose recorder died (status "recording") from the file and its
// crash journal (store::recover, docs/SESSION_FORMAT.md §Recovery).
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "store/hdf5_watchdog.hpp"
#include "store/recovery.hpp"

namespace glutescope::cli {

void add_recover_command(CLI::App& app, int& exit_status) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("recover",
                                     "Recover a session file left \"recording\" by a crash or kill; the "
                                     "original is kept as FILE.h5.orig");
  cmd->add_option("file", *path, "Session file (.h5)")->required();
  cmd->callback([path, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    try {
      const store::RecoveryReport r = store::recover(*path);
      fmt::print(
          "recovered {}: {} EMG rows from the file + {} from the journal, {} IMU rows + {}, {} events, "
          "{} gaps{}; original kept as {}\n",
          *path, r.emg_rows_from_file, r.emg_rows_from_journal, r.imu_rows_from_file, r.imu_rows_from_journal,
          r.events, r.gaps, r.journal_found ? "" : " (no journal found)", r.original_backup.string());
      if (r.journal_damaged_records > 0) {
        // Damage is named, never dropped silently: the rows it cost are the ones neither source holds.
        fmt::print(
            "journal damaged: {} range(s) of {} bytes skipped (first at byte {}); taken from the file past "
            "its checkpoint instead, without a CRC to vouch for them: {} EMG rows, {} IMU rows\n",
            r.journal_damaged_records, r.journal_damaged_bytes, r.journal_first_damaged_offset,
            r.emg_rows_unverified_from_file, r.imu_rows_unverified_from_file);
      }
      if (r.journal_torn_tail) fmt::print("journal: a torn last record was ignored (crash mid-write)\n");
      exit_status = 0;
    } catch (const std::exception& e) {
      // Store errors name the file already ("cannot recover FILE: ..."): say it once.
      const std::string what = e.what();
      throw UserError(
          what.find(*path) != std::string::npos ? what : fmt::format("cannot recover {}: {}", *path, what),
          1);
    }
  });
}

}  // namespace glutescope::cli
