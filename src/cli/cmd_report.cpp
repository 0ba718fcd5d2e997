// glutescope report: the clinician's one-minute read of a session (text on stdout, optional HTML with plots).
#include <iostream>

#include "cli/commands.hpp"
#include "pipeline/analysis_report.hpp"

namespace glutescope::cli {

void add_report_command(CLI::App& app, int& exit_status) {
  auto file = std::make_shared<std::string>();
  auto html = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report",
                                     "Per-rep verdicts and set summaries of a session (analyses it first "
                                     "if FILE.analysis.h5 is missing or stale, or with --config)");
  cmd->add_option("file", *file, "Session file (.h5)")->required();
  cmd->add_option("--html", *html, "Also write a self-contained HTML report with plots to this file");
  cmd->add_option("--config", *config,
                  "Re-analyse with this analysis settings TOML first (replaces FILE.analysis.h5)");
  cmd->callback([file, html, config, &exit_status] {
    const auto path_or_none = [](const std::string& p) {
      return p.empty() ? std::nullopt : std::optional<std::filesystem::path>(p);
    };
    try {
      pipeline::print_session_report(*file, std::cout, path_or_none(*html), path_or_none(*config));
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    std::cout.flush();
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
