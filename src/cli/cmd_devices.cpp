// `glutescope devices`: every device glutescope can record from, with channels, rates, units, motion
// sensors and which losses it can detect (devices/device_registry.hpp, docs/DEVICES.md).
#include <cstdio>
#include <memory>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "devices/device_registry.hpp"

namespace glutescope::cli {

void add_devices_command(CLI::App& app, int& exit_status) {
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "devices",
      "List the devices `record --device` and `simulate --device` take: channels, rates, units, motion "
      "sensors, loss detection (docs/DEVICES.md)");
  cmd->add_flag("--json", *json, "Print the list as JSON");
  cmd->callback([json, &exit_status] {
    fmt::print(stdout, "{}", *json ? devices::devices_json() : devices::devices_table());
    std::fflush(stdout);
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
