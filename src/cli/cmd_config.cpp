// glutescope config: print the effective default analysis settings, or check a settings file.
#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::cli {

void add_config_command(CLI::App& app, int& exit_status) {
  auto print_defaults = std::make_shared<bool>(false);
  auto check = std::make_shared<std::string>();
  CLI::App* cmd =
      app.add_subcommand("config", "Analysis settings: print the defaults as TOML or check a file");
  cmd->add_flag("--print-defaults", *print_defaults,
                "Print the full default settings TOML (every key, with units)");
  auto* config = cmd->add_option("--config", *check,
                                 "Check this analysis settings TOML and print its effective settings");
  // Old spelling, hidden; kept for one release (docs/CLI.md).
  cmd->add_option("--check", *check, "")->group("")->excludes(config);
  cmd->callback([print_defaults, check, &exit_status] {
    if (!check->empty()) {
      try {
        fmt::print(stdout, "{}", pipeline::to_toml(pipeline::load_analysis_settings(*check)));
      } catch (const pipeline::ConfigError& e) {
        throw UserError(e.what(), 1);
      }
    } else if (*print_defaults) {
      fmt::print(stdout, "{}", pipeline::to_toml(pipeline::kDefaultAnalysisPipelineSettings));
    } else {
      throw UserError("config: give --print-defaults or --config FILE", 1);
    }
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
