// The byte-stream interface every transport implements (serial now, BLE and file replay alike), so
// the framer and the recorder never know where the bytes come from.
//
// Threading contract: a ByteSource is used by one thread at a time (the acquisition thread); it
// owns no thread of its own. All calls may block up to the timeout they are given, no longer.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

namespace glutescope::io {

// Why opening or reading a transport failed; lets callers tell "retry later" from "give up".
enum class TransportErrorKind : std::uint8_t {
  not_found,          // no such device or file (ENOENT, ENODEV, ENXIO)
  busy,               // another program holds the port (EBUSY, lock held)
  not_a_tty,          // the path exists but is not a terminal device
  permission_denied,  // EACCES / EPERM
  configuration,      // the port refused a setting (baud rate, raw mode)
  io,                 // any other I/O failure
};

class TransportError : public std::runtime_error {
 public:
  TransportError(TransportErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  [[nodiscard]] TransportErrorKind kind() const noexcept { return kind_; }

 private:
  TransportErrorKind kind_;
};

// Outcome of one read_some call.
enum class ReadStatus : std::uint8_t {
  data,     // `bytes` > 0 bytes were written into the buffer
  timeout,  // nothing arrived within the timeout; the source is still open
  closed,   // the peer went away (EOF, EIO on a pty whose master closed, unplugged USB) or end of a replay
};

struct ReadResult {
  ReadStatus status = ReadStatus::timeout;
  std::size_t bytes = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  ByteSource() = default;
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  // Opens (or reopens after close) the transport. Throws TransportError with a message naming the
  // path and what the user can do about it.
  virtual void open() = 0;
  // Waits up to `timeout` for at least one byte and returns what is available (at most buffer.size()).
  // Never throws for a lost peer: that is ReadStatus::closed (the source is then closed).
  virtual ReadResult read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) = 0;
  // Sends bytes to the device (commands such as START or REQUEST_DEVICE_INFO), waiting at most
  // `timeout`. Returns false if the peer is gone or the bytes could not all be written in time.
  // Sources that cannot send (file replay) accept and discard them.
  virtual bool write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) = 0;
  virtual void close() noexcept = 0;
  [[nodiscard]] virtual bool is_open() const noexcept = 0;
  // Human-readable name for messages ("serial /dev/ttyACM0 at 921600 Bd").
  [[nodiscard]] virtual std::string describe() const = 0;
};

}  // namespace glutescope::io
