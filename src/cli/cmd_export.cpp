// glutescope export: a session as CSV (raw µV + envelopes) or BDF+ (with set/rep annotations).
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_export.hpp"
#include "store/hdf5_watchdog.hpp"

namespace glutescope::cli {

void add_export_command(CLI::App& app, int& exit_status) {
  auto file = std::make_shared<std::string>();
  auto csv = std::make_shared<std::string>();
  auto bdf = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("export", "Export a session to CSV (µV and envelopes) or BDF+ (EMG-BIDS)");
  cmd->add_option("file", *file, "Session file (.h5)")->required();
  auto* c = cmd->add_option("--to-csv", *csv, "Write CSV to this file");
  auto* b = cmd->add_option("--to-bdf", *bdf, "Write BDF+ to this file");
  // Old spellings, hidden; kept for one release (docs/CLI.md).
  auto* old_c = cmd->add_option("--csv", *csv, "")->group("");
  auto* old_b = cmd->add_option("--bdf", *bdf, "")->group("");
  c->excludes(b)->excludes(old_c)->excludes(old_b);
  old_c->excludes(b)->excludes(old_b);
  old_b->excludes(c);
  cmd->callback([=, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    if (csv->empty() && bdf->empty()) throw UserError("export: give --to-csv OUT.csv or --to-bdf OUT.bdf", 1);
    try {
      pipeline::export_session(*file,
                               csv->empty() ? pipeline::ExportFormat::bdf : pipeline::ExportFormat::csv,
                               csv->empty() ? *bdf : *csv);
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    fmt::print("exported {} to {}\n", *file, csv->empty() ? *bdf : *csv);
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
