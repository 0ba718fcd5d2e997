// TCP client transport (the Delsys Trigno SDK server's command and data ports; loopback in tests) on
// Boost.Asio, with the same bounded-wait contract as the serial transport: connect, read and write
// each wait at most the time they are given, driven by an io_context the calling thread runs.
// Reconnection is the recorder's (LinkSupervisor): open() after close() connects again.
//
// Threading contract: one thread calls open/read_some/write_all/close; no internal threads.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "io/byte_source.hpp"

namespace glutescope::io {

struct TcpSettings {
  std::string host = "127.0.0.1";  // numeric address or name
  unsigned port = 0;
  std::string name;  // what the port carries, for messages ("Trigno EMG")
  std::chrono::milliseconds connect_timeout{2000};
};

class TcpTransport final : public ByteSource {
 public:
  explicit TcpTransport(TcpSettings settings);
  ~TcpTransport() override;

  // Throws TransportError: not_found (name does not resolve, connection refused: nothing listens),
  // io (timeout or any other failure). TCP_NODELAY is set: commands are small.
  void open() override;
  ReadResult read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) override;
  bool write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  [[nodiscard]] bool is_open() const noexcept override;
  [[nodiscard]] std::string describe() const override;

 private:
  struct Impl;
  TcpSettings settings_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glutescope::io
