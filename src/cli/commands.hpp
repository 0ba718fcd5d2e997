// Registration of the glutescope subcommands. Each add_*_command attaches one subcommand to the
// app; its callback stores the process exit status in `exit_status` (0 = success).
#pragma once

#include <stdexcept>
#include <string>

#include <CLI/CLI.hpp>

namespace glutescope::cli {

// Thrown by a subcommand for an error the user can act on; main prints "glutescope: <what>" and
// exits with `status`.
struct UserError : std::runtime_error {
  explicit UserError(const std::string& what, int exit_status = 1)
      : std::runtime_error(what), status(exit_status) {}
  int status;
};

// glutescope demo: simulator -> pty -> recorder -> session -> per-rep summary (README).
void add_demo_command(CLI::App& app, int& exit_status);

// glutescope record / info / recover (docs/RECORDING.md).
void add_record_command(CLI::App& app, int& exit_status);
void add_info_command(CLI::App& app, int& exit_status);
void add_recover_command(CLI::App& app, int& exit_status);
// `glutescope devices`: the supported devices (cmd_devices.cpp, docs/DEVICES.md).
void add_devices_command(CLI::App& app, int& exit_status);
// `glutescope simulate`: the simulated wearable (cmd_simulate.cpp).
void add_simulate_command(CLI::App& app, int& exit_status);
// Analysis (docs/ANALYSIS.md): analyze / config / import / export / report.
void add_analyze_command(CLI::App& app, int& exit_status);
// Hidden: the child process `analyze` runs per file under its watchdog (pipeline::FileWatchdog).
void add_analyze_one_command(CLI::App& app, int& exit_status);
void add_config_command(CLI::App& app, int& exit_status);
void add_import_command(CLI::App& app, int& exit_status);
void add_export_command(CLI::App& app, int& exit_status);
void add_report_command(CLI::App& app, int& exit_status);
void add_view_command(CLI::App& app, int& exit_status);
// `glutescope cohort`: merge shard outputs, per-subject timeline (docs/SCALING.md).
void add_cohort_command(CLI::App& app, int& exit_status);

// `glutescope validate`: analysis accuracy against the simulator's truth (cmd_validate.cpp).
void add_validate_command(CLI::App& app, int& exit_status);

}  // namespace glutescope::cli
