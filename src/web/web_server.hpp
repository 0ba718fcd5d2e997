// The clinician page's server (docs/CLINICIAN.md): HTTP for the page's embedded assets only and one
// WebSocket endpoint (/ws), on Boost.Beast over the Asio io_context of its own thread.
//
// Security (issue 15): loopback by default; a non-loopback address needs a token (WebServerSettings::token,
// checked on every HTTP request and on the upgrade, from ?token= or the cookie the page gets with it); only
// the embedded assets are served, looked up by exact path (no file system, so no traversal: anything else
// is 404); the upgrade's Origin, when a browser sends one, must be the page's own; a WebSocket message is
// at most max_message_bytes and must be a JSON object with a known "type", otherwise that connection is
// closed and nothing else is touched.
//
// Threading contract:
//   publish(): any thread (the live analysis worker). It never waits for the network: it appends to a
//     bounded inbox under a mutex held only for the append (full inbox: the message is dropped and
//     counted) and wakes the server thread. The server thread fans the inbox out to each client's bounded
//     queue; a client whose queue is full (it reads slower than we send) is disconnected and counted.
//   Handlers (on_message, on_connect) run on the server thread.
//   stop() / the destructor: from the owning thread; closes everything and joins within a bounded wait.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace glutescope::web {

// One file of the page, compiled into the binary (web_assets.cpp, generated at build time).
struct WebAsset {
  std::string_view path;          // "/index.html"
  std::string_view content_type;  // MIME type without parameters (served as UTF-8)
  std::span<const unsigned char> bytes;
};
std::span<const WebAsset> embedded_assets() noexcept;
// The asset at exactly `path` ("/" is "/index.html"), or null.
const WebAsset* find_asset(std::string_view path) noexcept;

struct WebServerSettings {
  std::string address = "127.0.0.1";        // IPv4 or IPv6 literal
  unsigned short port = 8080;               // 0 = any free port (port() tells which)
  std::string token;                        // required when `address` is not loopback
  std::size_t max_message_bytes = 4096;     // incoming WebSocket message limit
  std::size_t client_queue_messages = 256;  // outgoing messages waiting per client before it is dropped
  std::size_t max_clients = 32;             // further upgrades get 503
  std::size_t inbox_messages = 1024;        // publish() hand-off capacity
};

// A message for every client: text (JSON) or binary (trace frames).
struct WebMessage {
  bool binary = false;
  std::shared_ptr<const std::string> payload;
};

struct WebCounters {
  std::uint64_t clients_connected = 0;  // currently
  std::uint64_t clients_total = 0;      // upgrades accepted since start
  std::uint64_t clients_dropped = 0;    // disconnected because their queue was full
  std::uint64_t clients_closed_bad_message = 0;
  std::uint64_t inbox_dropped = 0;  // publish() calls dropped (inbox full)
  std::uint64_t http_rejected = 0;  // 401/403/404/405/503 answers
  std::uint64_t binary_sent = 0;    // binary messages (trace frames) written, summed over clients
};

class WebServer {
 public:
  // Called for each valid control message (a JSON object with "type"); returns the reply to that client
  // (a JSON text) or "" for none. Throwing std::invalid_argument closes that connection as a bad message.
  using MessageHandler = std::function<std::string(const nlohmann::json& message)>;
  // Messages a new client gets first (the current state), in order.
  using ConnectHandler = std::function<std::vector<WebMessage>()>;

  // Binds and starts serving. Throws std::invalid_argument for a non-loopback address without a token or
  // a bad address, std::runtime_error (naming the address) when the port cannot be bound.
  WebServer(WebServerSettings settings, MessageHandler on_message, ConnectHandler on_connect);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  void publish(WebMessage message) noexcept;
  void stop() noexcept;
  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  // http://ADDR:PORT/ (with ?token=... when a token is set).
  [[nodiscard]] std::string url() const;
  [[nodiscard]] WebCounters counters() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
  unsigned short port_ = 0;
  std::string address_;
  std::string token_;
  std::thread thread_;
};

// True for 127.0.0.0/8, ::1 and "localhost".
bool is_loopback(std::string_view address) noexcept;
// A random token (32 hex digits from std::random_device).
std::string make_token();
// "[ADDR:]PORT" → (address, port); empty = 127.0.0.1:8080. Throws std::invalid_argument.
std::pair<std::string, unsigned short> parse_bind(std::string_view text);

}  // namespace glutescope::web
