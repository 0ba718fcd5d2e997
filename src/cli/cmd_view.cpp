// glutescope view: the clinician page over a recorded or imported session (docs/CLINICIAN.md "Review").
#include <csignal>
#include <cstdio>

#include <chrono>
#include <thread>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_settings.hpp"
#include "store/hdf5_watchdog.hpp"
#include "web/review.hpp"
#include "web/web_server.hpp"

namespace glutescope::cli {
namespace {

volatile std::sig_atomic_t g_view_stop = 0;
extern "C" void on_view_signal(int /*signal*/) { g_view_stop = 1; }

}  // namespace

void add_view_command(CLI::App& app, int& exit_status) {
  auto file = std::make_shared<std::string>();
  auto bind = std::make_shared<std::string>("127.0.0.1:8080");
  auto token = std::make_shared<std::string>();
  auto config = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "view", "Review a session in the browser: sets, reps, per-rep detail and verdicts (docs/CLINICIAN.md)");
  cmd->add_option("file", *file, "Session file (.h5)")->required();
  cmd->add_option("--web", *bind, "Serve on [ADDRESS:]PORT (0 = a free port)")->capture_default_str();
  cmd->add_option("--web-token", *token,
                  "Token the page needs (required for a non-loopback address; 'auto' makes one)");
  cmd->add_option("--config", *config, "Analysis settings TOML");
  cmd->callback([file, bind, token, config, &exit_status] {
    // The file is read (and analysed) before the server starts; the server then serves from memory.
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    std::unique_ptr<web::SessionReview> review;
    std::unique_ptr<web::WebServer> server;
    try {
      pipeline::AnalysisPipelineSettings analysis = config->empty()
                                                        ? pipeline::kDefaultAnalysisPipelineSettings
                                                        : pipeline::load_analysis_settings(*config);
      analysis.threads = pipeline::analysis_threads(1);  // the one file, before the server starts
      review = std::make_unique<web::SessionReview>(*file, analysis);
      const auto [address, port] = web::parse_bind(*bind);
      web::WebServerSettings settings;
      settings.address = address;
      settings.port = port;
      settings.token = *token == "auto" ? web::make_token() : *token;
      const web::SessionReview* r = review.get();
      server = std::make_unique<web::WebServer>(
          settings, [r](const nlohmann::json& m) { return r->handle(m); },
          [r] {
            return std::vector<web::WebMessage>{{false, std::make_shared<const std::string>(r->hello())}};
          });
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    fmt::print(stdout, "{}: {} reps\nweb: {}\n(Ctrl-C ends)\n", *file, review->rep_count(), server->url());
    std::fflush(stdout);
    std::signal(SIGINT, on_view_signal);
    std::signal(SIGTERM, on_view_signal);
    std::signal(SIGPIPE, SIG_IGN);
    while (g_view_stop == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    server->stop();
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
