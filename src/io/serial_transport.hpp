// Serial port transport (USB CDC-ACM, FTDI, UART, Bluetooth SPP, pseudo-terminals in tests) on
// Boost.Asio's serial_port: raw 8N1, no flow control, asynchronous reads driven by an io_context
// that the calling (acquisition) thread runs inside read_some.
//
// Threading contract: one thread calls open/read_some/close; no internal threads.
#pragma once

#include <memory>
#include <string>

#include "io/byte_source.hpp"

namespace glutescope::io {

struct SerialSettings {
  std::string path;             // e.g. /dev/ttyACM0, or a symlink to one (followed at every open)
  unsigned baud_rate = 921600;  // Bd; ignored by pseudo-terminals and CDC-ACM, used by FTDI/UART
  bool exclusive = true;        // TIOCEXCL + flock so a second program cannot open the port
};

class SerialTransport final : public ByteSource {
 public:
  explicit SerialTransport(SerialSettings settings);
  ~SerialTransport() override;

  // Throws TransportError: not_found ("no such port"), busy (another program has it: EBUSY from
  // TIOCEXCL, or our flock held), not_a_tty, permission_denied, configuration.
  void open() override;
  ReadResult read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) override;
  bool write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  [[nodiscard]] bool is_open() const noexcept override;
  [[nodiscard]] std::string describe() const override;

 private:
  struct Impl;
  SerialSettings settings_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glutescope::io
