#include "io/tcp_transport.hpp"

// As in serial_transport.cpp: GCC 12's -Wnull-dereference fires inside inlined Asio (Boost 1.74).
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <fmt/core.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace glutescope::io {

namespace asio = boost::asio;
using asio::ip::tcp;

struct TcpTransport::Impl {
  asio::io_context io;
  tcp::socket socket{io};

  // Runs the io_context until `done` or `timeout`; on timeout cancels the socket's operations and runs
  // the aborted handlers so that no buffer stays referenced. Returns whether the operation completed.
  bool run(bool& done, std::chrono::milliseconds timeout) {
    io.restart();
    io.run_for(timeout);
    if (done) return true;
    boost::system::error_code ignored;
    socket.cancel(ignored);
    io.restart();
    io.run();
    return false;
  }
};

TcpTransport::TcpTransport(TcpSettings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {}

TcpTransport::~TcpTransport() { close(); }

void TcpTransport::open() {
  close();
  boost::system::error_code ec;
  tcp::resolver resolver(impl_->io);
  const auto endpoints = resolver.resolve(settings_.host, std::to_string(settings_.port), ec);
  if (ec) {
    throw TransportError(
        TransportErrorKind::not_found,
        fmt::format("cannot resolve host {} for {}: {}", settings_.host, describe(), ec.message()));
  }
  bool done = false;
  boost::system::error_code result;
  asio::async_connect(impl_->socket, endpoints,
                      [&](const boost::system::error_code& e, const tcp::endpoint&) {
                        done = true;
                        result = e;
                      });
  if (!impl_->run(done, settings_.connect_timeout)) {
    close();
    throw TransportError(TransportErrorKind::io, fmt::format("{}: no answer within {} ms", describe(),
                                                             settings_.connect_timeout.count()));
  }
  if (result) {
    close();
    const bool refused = result == asio::error::connection_refused;
    throw TransportError(refused ? TransportErrorKind::not_found : TransportErrorKind::io,
                         fmt::format("cannot connect to {}: {}{}", describe(), result.message(),
                                     refused ? " (is the server running and the port right?)" : ""));
  }
  impl_->socket.set_option(tcp::no_delay(true), ec);  // best effort
}

ReadResult TcpTransport::read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (!impl_->socket.is_open()) return {ReadStatus::closed, 0};
  bool done = false;
  boost::system::error_code result_ec;
  std::size_t result_bytes = 0;
  impl_->socket.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                                [&](const boost::system::error_code& ec, std::size_t n) {
                                  done = true;
                                  result_ec = ec;
                                  result_bytes = n;
                                });
  impl_->run(done, timeout);
  if (result_bytes > 0) return {ReadStatus::data, result_bytes};
  if (!result_ec || result_ec == asio::error::operation_aborted) return {ReadStatus::timeout, 0};
  close();  // EOF (the server closed), reset, or any other error: the peer is gone
  return {ReadStatus::closed, 0};
}

bool TcpTransport::write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) {
  if (!impl_->socket.is_open()) return false;
  bool done = false;
  boost::system::error_code result_ec;
  asio::async_write(impl_->socket, asio::buffer(bytes.data(), bytes.size()),
                    [&](const boost::system::error_code& ec, std::size_t) {
                      done = true;
                      result_ec = ec;
                    });
  if (!impl_->run(done, timeout)) return false;
  return !result_ec;
}

void TcpTransport::close() noexcept {
  if (impl_ && impl_->socket.is_open()) {
    boost::system::error_code ignored;
    impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
    impl_->socket.close(ignored);
  }
}

bool TcpTransport::is_open() const noexcept { return impl_ && impl_->socket.is_open(); }

std::string TcpTransport::describe() const {
  return settings_.name.empty()
             ? fmt::format("TCP {}:{}", settings_.host, settings_.port)
             : fmt::format("{} (TCP {}:{})", settings_.name, settings_.host, settings_.port);
}

}  // namespace glutescope::io
