// The link to one device: its byte streams (one serial port, or several TCP connections for Trigno),
// opened and closed together, and the driver's command steps (devices/device_decoder.hpp CommandStep)
// run on them with bounded waits. The recorder owns one DeviceLink.
//
// Threading contract: one thread (the acquisition thread). Every call returns within the timeouts it
// is given or the steps carry.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "devices/device_decoder.hpp"
#include "io/byte_source.hpp"

namespace glutescope::devices {
struct DeviceDescription;
}

namespace glutescope::pipeline {

struct RecordOptions;

// The device did not answer a command step in time. Retried at a reconnect; fatal at the first connect.
struct DeviceSilentError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class DeviceLink {
 public:
  explicit DeviceLink(std::vector<std::unique_ptr<io::ByteSource>> streams);

  // Opens every stream; if one fails, closes those already open and rethrows its io::TransportError.
  void open();
  void close() noexcept;
  [[nodiscard]] bool is_open() const noexcept;
  [[nodiscard]] std::string describe() const;
  [[nodiscard]] std::size_t stream_count() const noexcept { return streams_.size(); }

  struct Read {
    io::ReadResult result;
    std::size_t stream = 0;  // which stream the bytes (or the close) came from
  };
  // One stream: read_some with `timeout`. Several: each in turn (starting after the last that gave data)
  // with an equal share of `timeout`; returns at the first data or close.
  Read read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout);

  // Runs the steps in order. Throws devices::DeviceReplyError (from driver.check_reply: a wrong answer)
  // or DeviceSilentError (no complete reply within the step's timeout).
  void run(devices::DeviceDriver& driver, const std::vector<devices::CommandStep>& steps);
  // Sends the steps' bytes, best effort, waiting for no reply (stop at the end of a recording).
  void send_quietly(const std::vector<devices::CommandStep>& steps) noexcept;

  // Bytes read and dropped while waiting for replies or settling (never fed to the decoder).
  [[nodiscard]] std::uint64_t discarded_bytes() const noexcept { return discarded_bytes_; }

 private:
  io::ByteSource& stream(std::size_t index, const devices::DeviceDriver& driver, const std::string& what);
  std::string read_reply(io::ByteSource& source, const devices::CommandStep& step, const std::string& device);
  void discard_for(io::ByteSource& source, double seconds);

  std::vector<std::unique_ptr<io::ByteSource>> streams_;
  std::size_t next_read_ = 0;
  std::uint64_t discarded_bytes_ = 0;
};

// The byte streams `description` needs, from the options: `options.source_factory` (tests, BLE, replay)
// as stream 0 of a one-stream device, else a serial port (--port, at --baud or the device's own rate),
// else TCP connections to --host at --base-port + each stream's offset. Throws RecordingError.
std::vector<std::unique_ptr<io::ByteSource>> make_link_streams(const devices::DeviceDescription& description,
                                                               const RecordOptions& options);

}  // namespace glutescope::pipeline
