#include <cstdio>
#include <exception>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "store/error_detail.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "glutescope: do the glutes fire? Surface EMG + IMU recording and scoring for glute bridges "
      "and clamshells."};
  app.set_version_flag("--version", std::string("glutescope ") + GLUTESCOPE_VERSION);
  app.require_subcommand(1);
  // Errors are one line naming the file and the problem; --verbose appends HDF5's own error stack.
  app.add_flag_callback(
      "--verbose", [] { glutescope::store::set_hdf5_error_detail(true); },
      "Append HDF5's error stack to error messages (for debugging damaged files)");
  app.fallthrough();
  int exit_status = 0;
  glutescope::cli::add_demo_command(app, exit_status);
  glutescope::cli::add_record_command(app, exit_status);
  glutescope::cli::add_info_command(app, exit_status);
  glutescope::cli::add_recover_command(app, exit_status);
  glutescope::cli::add_devices_command(app, exit_status);
  glutescope::cli::add_simulate_command(app, exit_status);
  glutescope::cli::add_analyze_command(app, exit_status);
  glutescope::cli::add_analyze_one_command(app, exit_status);
  glutescope::cli::add_config_command(app, exit_status);
  glutescope::cli::add_import_command(app, exit_status);
  glutescope::cli::add_export_command(app, exit_status);
  glutescope::cli::add_report_command(app, exit_status);
  glutescope::cli::add_view_command(app, exit_status);
  glutescope::cli::add_cohort_command(app, exit_status);
  glutescope::cli::add_validate_command(app, exit_status);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const glutescope::cli::UserError& e) {
    fmt::print(stderr, "glutescope: {}\n", e.what());
    return e.status;
  } catch (const std::exception& e) {
    fmt::print(stderr, "glutescope: {}\n", e.what());
    return 1;
  }
  return exit_status;
}
