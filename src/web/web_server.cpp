#include "web/web_server.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <future>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>

#include <fmt/core.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

namespace glutescope::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kHttpLimitBytes = 8192;                // request header and body
constexpr auto kHttpTimeout = std::chrono::seconds(15);      // a request must arrive within this
constexpr int kSendBufferBytes = 64 * 1024;                  // kernel buffer per client: bounded latency
constexpr auto kStopWait = std::chrono::milliseconds(2000);  // stop(): closing handlers get this long
constexpr std::string_view kCookie = "glutescope_token";

std::string_view sv(beast::string_view s) noexcept { return {s.data(), s.size()}; }

// Constant-time comparison (a token is a secret).
bool same_secret(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The value of `key` in a "k=v&k=v" query or a "k=v; k=v" cookie header ("" if absent).
std::string_view field_value(std::string_view text, std::string_view key, char separator) {
  while (!text.empty()) {
    const std::size_t end = std::min(text.find(separator), text.size());
    std::string_view part = text.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > key.size() && part.substr(0, key.size()) == key && part[key.size()] == '=')
      return part.substr(key.size() + 1);
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  return {};
}

struct Target {
  std::string_view path, query;
};
Target split_target(std::string_view target) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

// The host name of a Host header ("127.0.0.1:8080" -> "127.0.0.1", "[::1]:80" -> "::1", "localhost" as is).
std::string_view host_name(std::string_view host) {
  if (host.starts_with('[')) {
    const std::size_t end = host.find(']');
    return end == std::string_view::npos ? std::string_view{} : host.substr(1, end - 1);
  }
  const std::size_t colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

}  // namespace

class WsSession;

class WebServer::Impl {
 public:
  Impl(WebServerSettings s, MessageHandler m, ConnectHandler c)
      : settings(std::move(s)), on_message(std::move(m)), on_connect(std::move(c)) {}

  void accept();
  void drain();
  void shut_down();
  void add(const std::shared_ptr<WsSession>& s) { sessions.insert(s); }
  void remove(const std::shared_ptr<WsSession>& s) { sessions.erase(s); }
  [[nodiscard]] bool authorised(const http::request<http::string_body>& req) const {
    // Without a token the server is bound to loopback, and only loopback names may address it: a page on
    // another site that rebinds its own DNS name to 127.0.0.1 (DNS rebinding) sends its own name as Host and
    // matching Origin, and would otherwise read the session and press the page's buttons.
    if (settings.token.empty()) return is_loopback(host_name(sv(req[http::field::host])));
    const Target t = split_target(sv(req.target()));
    return same_secret(field_value(t.query, "token", '&'), settings.token) ||
           same_secret(field_value(sv(req[http::field::cookie]), kCookie, ';'), settings.token);
  }

  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  WebServerSettings settings;
  MessageHandler on_message;
  ConnectHandler on_connect;
  std::set<std::shared_ptr<WsSession>> sessions;  // server thread only
  std::mutex inbox_mutex;
  std::vector<WebMessage> inbox;  // guarded by inbox_mutex
  bool drain_posted = false;      // guarded by inbox_mutex
  mutable std::mutex counters_mutex;
  WebCounters counts;  // guarded by counters_mutex
  void count(std::uint64_t WebCounters::*field) {
    std::lock_guard lock(counters_mutex);
    ++(counts.*field);
  }
};

// One WebSocket client: a read loop for control messages and a bounded write queue.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(tcp::socket socket, WebServer::Impl& server) : ws_(std::move(socket)), server_(server) {}

  void start(http::request<http::string_body>&& req) {
    req_ = std::move(req);  // kept until the handshake completes
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().set_option(asio::socket_base::send_buffer_size(kSendBufferBytes),
                                                     ignored);
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.read_message_max(server_.settings.max_message_bytes);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) { self->on_accept(ec); });
  }

  void send(const WebMessage& message) {
    if (closed_) return;
    if (queue_.size() >= server_.settings.client_queue_messages) {
      server_.count(&WebCounters::clients_dropped);  // too slow: dropped, never waited for
      close_now();
      return;
    }
    queue_.push_back(message);
    if (!writing_) write_next();
  }

  void close_now() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    server_.remove(shared_from_this());
    std::lock_guard lock(server_.counters_mutex);
    --server_.counts.clients_connected;
  }

 private:
  void on_accept(beast::error_code ec) {
    if (ec) return;
    server_.add(shared_from_this());
    {
      std::lock_guard lock(server_.counters_mutex);
      ++server_.counts.clients_connected;
      ++server_.counts.clients_total;
    }
    if (server_.on_connect) {
      for (const WebMessage& m : server_.on_connect()) send(m);
    }
    read();
  }

  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (closed_) return;
    if (ec == websocket::error::message_too_big) {
      reject();
      return;
    }
    if (ec) {
      close_now();
      return;
    }
    const std::string text = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    const nlohmann::json message = nlohmann::json::parse(text, nullptr, false);
    if (!ws_.got_text() || message.is_discarded() || !message.is_object() || !message.contains("type") ||
        !message["type"].is_string()) {
      reject();
      return;
    }
    std::string reply;
    try {
      reply = server_.on_message ? server_.on_message(message) : std::string();
    } catch (const std::invalid_argument&) {
      reject();
      return;
    }
    if (!reply.empty()) send({false, std::make_shared<const std::string>(std::move(reply))});
    read();
  }

  // A malformed or oversized message: this connection only is closed.
  void reject() {
    server_.count(&WebCounters::clients_closed_bad_message);
    close_now();
  }

  void write_next() {
    writing_ = true;
    ws_.binary(queue_.front().binary);
    ws_.async_write(
        asio::buffer(*queue_.front().payload),
        [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) { self->on_write(ec); });
  }

  void on_write(beast::error_code ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      close_now();
      return;
    }
    if (queue_.front().binary) server_.count(&WebCounters::binary_sent);
    queue_.pop_front();
    if (!queue_.empty()) write_next();
  }

  websocket::stream<beast::tcp_stream> ws_;
  WebServer::Impl& server_;
  http::request<http::string_body> req_;
  beast::flat_buffer buffer_;
  std::deque<WebMessage> queue_;
  bool writing_ = false;
  bool closed_ = false;
};

// One HTTP connection: embedded assets, or the upgrade to /ws.
class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, WebServer::Impl& server) : stream_(std::move(socket)), server_(server) {}

  void read() {
    parser_.emplace();
    parser_->header_limit(kHttpLimitBytes);
    parser_->body_limit(kHttpLimitBytes);
    stream_.expires_after(kHttpTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t /*bytes*/) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec) {
      close();
      return;
    }
    http::request<http::string_body> req = parser_->release();
    const Target target = split_target(sv(req.target()));
    if (!server_.authorised(req)) {
      respond(req, http::status::unauthorized, "token missing or wrong\n");
      return;
    }
    if (websocket::is_upgrade(req)) {
      upgrade(std::move(req), target);
      return;
    }
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      respond(req, http::status::method_not_allowed, "GET only\n");
      return;
    }
    const WebAsset* asset = find_asset(target.path);
    if (asset == nullptr) {
      respond(req, http::status::not_found, "not found\n");
      return;
    }
    serve(req, *asset);
  }

  void upgrade(http::request<http::string_body> req, const Target& target) {
    const std::string_view origin = sv(req[http::field::origin]);
    const std::string expected = fmt::format("http://{}", sv(req[http::field::host]));
    if (target.path != "/ws") {
      respond(req, http::status::not_found, "not found\n");
    } else if (!origin.empty() && origin != expected) {
      respond(req, http::status::forbidden, "origin not allowed\n");
    } else if (server_.sessions.size() >= server_.settings.max_clients) {
      respond(req, http::status::service_unavailable, "too many clients\n");
    } else {
      stream_.expires_never();
      std::make_shared<WsSession>(stream_.release_socket(), server_)->start(std::move(req));
    }
  }

  void serve(const http::request<http::string_body>& req, const WebAsset& asset) {
    auto res = std::make_shared<http::response<http::string_body>>(http::status::ok, req.version());
    // Every embedded asset is UTF-8 text (web/src, uPlot).
    res->set(http::field::content_type, fmt::format("{}; charset=utf-8", asset.content_type));
    if (!server_.settings.token.empty() && asset.path == "/index.html") {
      res->set(http::field::set_cookie,
               fmt::format("{}={}; HttpOnly; SameSite=Strict; Path=/", kCookie, server_.settings.token));
    }
    if (req.method() == http::verb::get) res->body().assign(asset.bytes.begin(), asset.bytes.end());
    finish(req, res, asset.bytes.size());
  }

  void respond(const http::request<http::string_body>& req, http::status status, std::string_view text) {
    server_.count(&WebCounters::http_rejected);
    auto res = std::make_shared<http::response<http::string_body>>(status, req.version());
    res->set(http::field::content_type, "text/plain; charset=utf-8");
    res->body() = text;
    finish(req, res, text.size());
  }

  void finish(const http::request<http::string_body>& req,
              const std::shared_ptr<http::response<http::string_body>>& res, std::size_t length) {
    res->set(http::field::server, "glutescope");
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    res->set("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:");
    res->keep_alive(req.keep_alive());
    res->content_length(length);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) {
        self->close();
        return;
      }
      self->read();
    });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  WebServer::Impl& server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

void WebServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by stop()
    std::make_shared<HttpSession>(std::move(socket), *this)->read();
    accept();
  });
}

void WebServer::Impl::drain() {
  std::vector<WebMessage> batch;
  {
    std::lock_guard lock(inbox_mutex);
    batch.swap(inbox);
    drain_posted = false;
  }
  const std::vector<std::shared_ptr<WsSession>> clients(sessions.begin(), sessions.end());
  for (const WebMessage& m : batch) {
    for (const auto& c : clients) c->send(m);
  }
}

void WebServer::Impl::shut_down() {
  beast::error_code ignored;
  acceptor.close(ignored);
  const std::vector<std::shared_ptr<WsSession>> clients(sessions.begin(), sessions.end());
  for (const auto& c : clients) c->close_now();
}

WebServer::WebServer(WebServerSettings settings, MessageHandler on_message, ConnectHandler on_connect)
    : address_(settings.address), token_(settings.token) {
  if (!is_loopback(settings.address) && settings.token.empty()) {
    throw std::invalid_argument(
        fmt::format("--web {}: a non-loopback address needs --web-token (anyone on the network could watch)",
                    settings.address));
  }
  beast::error_code ec;
  const asio::ip::address address =
      asio::ip::make_address(settings.address == "localhost" ? "127.0.0.1" : settings.address, ec);
  if (ec) throw std::invalid_argument(fmt::format("--web: '{}' is not an IP address", settings.address));
  impl_ = std::make_unique<Impl>(std::move(settings), std::move(on_message), std::move(on_connect));
  const tcp::endpoint endpoint(address, impl_->settings.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(
        fmt::format("--web {}:{}: cannot listen: {}", address_, impl_->settings.port, ec.message()));
  }
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  thread_ = std::thread([this] { impl_->ioc.run(); });
}

WebServer::~WebServer() { stop(); }

void WebServer::publish(WebMessage message) noexcept {
  try {
    std::lock_guard lock(impl_->inbox_mutex);
    if (impl_->inbox.size() >= impl_->settings.inbox_messages) {
      std::lock_guard counters(impl_->counters_mutex);
      ++impl_->counts.inbox_dropped;
      return;
    }
    impl_->inbox.push_back(std::move(message));
    if (!impl_->drain_posted) {
      impl_->drain_posted = true;
      asio::post(impl_->ioc, [impl = impl_.get()] { impl->drain(); });
    }
  } catch (...) {
    // allocation failure: the message is lost, the caller goes on
  }
}

void WebServer::stop() noexcept {
  if (!thread_.joinable()) return;
  try {
    asio::post(impl_->ioc, [impl = impl_.get()] { impl->shut_down(); });
    // Bounded: handlers finishing with operation_aborted end run(); past the wait, stop() cuts them off.
    auto done = std::async(std::launch::async, [this] { thread_.join(); });
    if (done.wait_for(kStopWait) != std::future_status::ready) impl_->ioc.stop();
    done.wait();
  } catch (...) {
    impl_->ioc.stop();
    if (thread_.joinable()) thread_.join();
  }
}

std::string WebServer::url() const {
  const bool v6 = address_.find(':') != std::string::npos;
  std::string host = v6 ? fmt::format("[{}]", address_) : address_;
  if (host == "0.0.0.0") host = "127.0.0.1";
  return token_.empty() ? fmt::format("http://{}:{}/", host, port_)
                        : fmt::format("http://{}:{}/?token={}", host, port_, token_);
}

WebCounters WebServer::counters() const {
  std::lock_guard lock(impl_->counters_mutex);
  return impl_->counts;
}

bool is_loopback(std::string_view address) noexcept {
  if (address == "localhost") return true;
  beast::error_code ec;
  const asio::ip::address a = asio::ip::make_address(std::string(address), ec);
  return !ec && a.is_loopback();
}

std::string make_token() {
  std::random_device rd;
  std::string token;
  for (int i = 0; i < 4; ++i) token += fmt::format("{:08x}", rd());
  return token;
}

std::pair<std::string, unsigned short> parse_bind(std::string_view text) {
  if (text.empty()) return {"127.0.0.1", 8080};
  const std::size_t colon = text.rfind(':');
  std::string address = "127.0.0.1";
  std::string_view port_text = text;
  if (colon != std::string_view::npos) {
    address = std::string(text.substr(0, colon));
    if (address.size() > 2 && address.front() == '[' && address.back() == ']')
      address = address.substr(1, address.size() - 2);
    port_text = text.substr(colon + 1);
  }
  unsigned long port = 0;
  const bool digits =
      !port_text.empty() && port_text.size() <= 5 &&
      std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) port = std::stoul(std::string(port_text));
  if (!digits || port > 65535 || address.empty()) {
    throw std::invalid_argument(fmt::format(
        "--web '{}': expected [ADDRESS:]PORT, e.g. 8080 or 127.0.0.1:8080 (0 = any free port)", text));
  }
  return {address, static_cast<unsigned short>(port)};
}

const WebAsset* find_asset(std::string_view path) noexcept {
  if (path == "/") path = "/index.html";
  for (const WebAsset& a : embedded_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace glutescope::web
