// The live web view of `record --web` and `demo --web` (docs/CLINICIAN.md): the page's server, its feed
// from pipeline::LiveAnalysis and the inbox its operator controls use (pipeline::RemoteCommands).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <fmt/core.h>

#include "pipeline/control_input.hpp"
#include "pipeline/recorder.hpp"
#include "web/live_feed.hpp"

namespace glutescope::cli {

// Declare it before the live analysis, so that it is destroyed after it: the feed and the server outlive
// every callback.
struct WebView {
  pipeline::RemoteCommands commands;
  web::LiveFeed feed{&commands};
  std::unique_ptr<web::WebServer> server;

  WebView(const std::string& bind, std::string token) {
    const auto [address, port] = web::parse_bind(bind);
    web::WebServerSettings settings;
    settings.address = address;
    settings.port = port;
    settings.token = token == "auto" ? web::make_token() : std::move(token);
    server = std::make_unique<web::WebServer>(
        settings, [this](const nlohmann::json& m) { return feed.handle(m); },
        [this] { return feed.snapshot(); });
    feed.attach(server.get());
    fmt::print(stdout, "web: {}\n", server->url());
    std::fflush(stdout);
  }
  // After the live analysis stopped: bounded (WebServer::stop).
  void close() {
    feed.attach(nullptr);
    server->stop();
    const web::WebCounters c = server->counters();
    fmt::print(stdout, "web: {} clients served, {} dropped as too slow, {} closed for bad messages\n",
               c.clients_total, c.clients_dropped, c.clients_closed_bad_message);
  }
};

// Hooks the live analysis (whose observer is view->feed, or none) and the view into a recording.
inline void connect_live(pipeline::RecordOptions& options, pipeline::LiveAnalysis* live, WebView* view) {
  options.live_consumer = live;
  options.clock_consumer = [live](double host_clock_at_start_s, const ClockMapping& fit) {
    live->on_clock(host_clock_at_start_s, fit);
  };
  if (view != nullptr) options.remote_commands = &view->commands;
}

}  // namespace glutescope::cli
