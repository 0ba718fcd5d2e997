#include "pipeline/device_link.hpp"

#include <algorithm>
#include <array>
#include <chrono>

#include <fmt/core.h>

#include "devices/device_registry.hpp"
#include "io/serial_transport.hpp"
#include "io/tcp_transport.hpp"
#include "pipeline/recorder.hpp"

namespace glutescope::pipeline {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::max(seconds, 0.0) * 1000.0));
}

// A reply longer than this without its terminator keeps only its last half (a board still streaming
// binary packets while it answers); the terminator is searched in what is kept.
constexpr std::size_t kMaxReplyBytes = 64 * 1024;

}  // namespace

DeviceLink::DeviceLink(std::vector<std::unique_ptr<io::ByteSource>> streams) : streams_(std::move(streams)) {
  if (streams_.empty()) throw std::invalid_argument("a device link needs at least one byte stream");
}

void DeviceLink::open() {
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    try {
      streams_[i]->open();
    } catch (...) {
      close();
      throw;
    }
  }
}

void DeviceLink::close() noexcept {
  for (auto& s : streams_) s->close();
}

bool DeviceLink::is_open() const noexcept {
  return std::all_of(streams_.begin(), streams_.end(), [](const auto& s) { return s->is_open(); });
}

std::string DeviceLink::describe() const {
  std::string text = streams_.front()->describe();
  for (std::size_t i = 1; i < streams_.size(); ++i) text += " + " + streams_[i]->describe();
  return text;
}

DeviceLink::Read DeviceLink::read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (streams_.size() == 1) return {streams_.front()->read_some(buffer, timeout), 0};
  const auto share = std::max(std::chrono::milliseconds(1), timeout / static_cast<long>(streams_.size()));
  Read last;
  for (std::size_t k = 0; k < streams_.size(); ++k) {
    const std::size_t i = (next_read_ + k) % streams_.size();
    last = {streams_[i]->read_some(buffer, share), i};
    if (last.result.status != io::ReadStatus::timeout) {
      next_read_ = (i + 1) % streams_.size();
      return last;
    }
  }
  return last;
}

io::ByteSource& DeviceLink::stream(std::size_t index, const devices::DeviceDriver& driver,
                                   const std::string& what) {
  if (index >= streams_.size()) {
    throw std::logic_error(fmt::format("{}: step '{}' names stream {} of {}", driver.description().name, what,
                                       index, streams_.size()));
  }
  return *streams_[index];
}

void DeviceLink::discard_for(io::ByteSource& source, double seconds) {
  std::array<std::uint8_t, 4096> scratch{};
  const auto deadline = Clock::now() + to_ms(seconds);
  while (Clock::now() < deadline && source.is_open()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const io::ReadResult r = source.read_some(scratch, std::max(left, std::chrono::milliseconds(1)));
    if (r.status == io::ReadStatus::data) discarded_bytes_ += r.bytes;
    if (r.status == io::ReadStatus::closed) break;
  }
}

std::string DeviceLink::read_reply(io::ByteSource& source, const devices::CommandStep& step,
                                   const std::string& device) {
  std::string reply;
  std::array<std::uint8_t, 4096> scratch{};
  const auto deadline = Clock::now() + to_ms(step.reply_timeout_s);
  while (true) {
    const auto now = Clock::now();
    if (now >= deadline) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    const io::ReadResult r = source.read_some(scratch, std::max(left, std::chrono::milliseconds(1)));
    if (r.status == io::ReadStatus::closed) {
      throw DeviceSilentError(fmt::format("{}: {} closed while waiting for the reply to {}", device,
                                          source.describe(), step.what));
    }
    if (r.status != io::ReadStatus::data) continue;
    discarded_bytes_ += r.bytes;
    reply.append(reinterpret_cast<const char*>(scratch.data()), r.bytes);
    const auto end = reply.find(step.reply_until);
    if (end != std::string::npos) {
      reply.resize(end + step.reply_until.size());  // anything after the terminator is dropped too
      return reply;
    }
    if (reply.size() > kMaxReplyBytes) reply.erase(0, reply.size() - kMaxReplyBytes / 2);
  }
  throw DeviceSilentError(
      fmt::format("{}: no reply to {} within {:g} s (expected text ending '{}'{})", device, step.what,
                  step.reply_timeout_s, step.reply_until,
                  reply.empty() ? "" : fmt::format(", got '{}'", devices::printable_reply(reply))));
}

void DeviceLink::run(devices::DeviceDriver& driver, const std::vector<devices::CommandStep>& steps) {
  const std::string& device = driver.description().name;
  for (const devices::CommandStep& step : steps) {
    io::ByteSource& source = stream(step.stream, driver, step.what);
    // The write timeout is the step's reply timeout: a device that cannot take a few command bytes in
    // that time will not answer either. A failed write shows up as a closed link or a missing reply.
    if (!step.bytes.empty()) (void)source.write_all(step.bytes, to_ms(step.reply_timeout_s));
    if (!step.reply_until.empty()) driver.check_reply(step, read_reply(source, step, device));
    if (step.settle_s > 0.0) discard_for(source, step.settle_s);
  }
}

void DeviceLink::send_quietly(const std::vector<devices::CommandStep>& steps) noexcept {
  for (const devices::CommandStep& step : steps) {
    if (step.stream >= streams_.size() || !streams_[step.stream]->is_open()) continue;
    try {
      (void)streams_[step.stream]->write_all(step.bytes, std::chrono::milliseconds(100));
    } catch (...) {  // best effort: the recording is already over
    }
  }
}

std::vector<std::unique_ptr<io::ByteSource>> make_link_streams(const devices::DeviceDescription& description,
                                                               const RecordOptions& options) {
  std::vector<std::unique_ptr<io::ByteSource>> streams;
  if (options.source_factory) {
    if (description.streams.size() != 1) {
      throw RecordingError(fmt::format("--device {} needs {} byte streams; this source gives one",
                                       description.name, description.streams.size()));
    }
    streams.push_back(options.source_factory());
    return streams;
  }
  if (description.link == devices::LinkKind::serial) {
    if (options.port.empty()) throw RecordingError("no serial port given (--port PATH)");
    const unsigned baud = options.baud_rate != 0 ? options.baud_rate : description.default_baud;
    streams.push_back(std::make_unique<io::SerialTransport>(io::SerialSettings{options.port, baud, true}));
    return streams;
  }
  // TCP (Trigno): one connection per byte stream, at the base port plus the stream's offset.
  const std::string host = options.host.empty() ? std::string("127.0.0.1") : options.host;
  const unsigned base = options.base_port != 0 ? options.base_port : description.default_base_port;
  for (const devices::LinkStreamDescription& s : description.streams) {
    streams.push_back(std::make_unique<io::TcpTransport>(
        io::TcpSettings{host, base + s.tcp_port_offset, fmt::format("{} {}", description.name, s.name)}));
  }
  return streams;
}

}  // namespace glutescope::pipeline
