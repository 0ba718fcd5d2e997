// glutescope report: the clinician's one-minute read of a session (text on stdout, optional HTML with plots).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_report.hpp"
#include "store/hdf5_watchdog.hpp"

namespace glutescope::cli {
namespace {

// Prints `html` to `pdf` with headless Chromium (A4, the report's @page rule), waiting at most 120 s.
// Throws UserError when Chromium is missing, fails or takes longer.
void print_pdf(const std::filesystem::path& html, const std::filesystem::path& pdf) {
  const std::filesystem::path profile =
      std::filesystem::temp_directory_path() / fmt::format("glutescope-pdf-{}", ::getpid());
  std::vector<std::string> args = {"chromium",
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--user-data-dir=" + profile.string(),
                                   "--no-pdf-header-footer",
                                   "--print-to-pdf=" + std::filesystem::absolute(pdf).string(),
                                   "file://" + std::filesystem::absolute(html).string()};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, "chromium", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    throw UserError("--pdf needs Chromium (apt-get install chromium): 'chromium' not found", 1);
  int status = 0;
  bool done = false;
  for (int i = 0; i < 1200 && !done; ++i) {  // 120 s
    done = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!done) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(profile, ignored);
  if (!done || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || !std::filesystem::exists(pdf)) {
    throw UserError(fmt::format("--pdf {}: Chromium could not print {}", pdf.string(), html.string()), 1);
  }
}

}  // namespace

void add_report_command(CLI::App& app, int& exit_status) {
  auto file = std::make_shared<std::string>();
  auto html = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report",
                                     "Per-rep verdicts and set summaries of a session (analyses it first "
                                     "if FILE.analysis.h5 is missing or stale, or with --config)");
  cmd->add_option("file", *file, "Session file (.h5)")->required();
  cmd->add_option("--html", *html, "Also write a self-contained HTML report with plots to this file");
  auto pdf = std::make_shared<std::string>();
  cmd->add_option(
      "--pdf", *pdf,
      "Also print the HTML report to this PDF (one A4 page per set of up to 10 reps) with headless "
      "Chromium");
  cmd->add_option("--config", *config,
                  "Re-analyse with this analysis settings TOML first (replaces FILE.analysis.h5)");
  cmd->callback([file, html, pdf, config, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    if (!pdf->empty() && html->empty())
      *html = std::filesystem::path(*pdf).replace_extension(".html").string();
    const auto path_or_none = [](const std::string& p) {
      return p.empty() ? std::nullopt : std::optional<std::filesystem::path>(p);
    };
    try {
      pipeline::print_session_report(*file, std::cout, path_or_none(*html), path_or_none(*config));
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    std::cout.flush();
    if (!pdf->empty()) print_pdf(*html, *pdf);
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
