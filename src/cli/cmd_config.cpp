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
  cmd->add_option("--check", *check, "Check a settings TOML file and print its effective settings");
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
      throw UserError("config: give --print-defaults or --check FILE", 1);
    }
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
