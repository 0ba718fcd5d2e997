#include "io/file_replay_source.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <fmt/core.h>

namespace glutescope::io {

FileReplaySource::FileReplaySource(FileReplaySettings settings) : settings_(std::move(settings)) {
  if (settings_.chunk_bytes == 0) throw std::invalid_argument("FileReplaySettings::chunk_bytes must be > 0");
  if (settings_.bytes_per_second < 0.0) {
    throw std::invalid_argument("FileReplaySettings::bytes_per_second must be >= 0");
  }
}

FileReplaySource::~FileReplaySource() { close(); }

void FileReplaySource::open() {
  close();
  file_ = std::fopen(settings_.path.c_str(), "rb");
  if (file_ == nullptr) {
    const int err = errno;
    const auto kind = err == ENOENT   ? TransportErrorKind::not_found
                      : err == EACCES ? TransportErrorKind::permission_denied
                                      : TransportErrorKind::io;
    throw TransportError(kind,
                         fmt::format("cannot open replay file {}: {}", settings_.path, std::strerror(err)));
  }
  opened_at_ = std::chrono::steady_clock::now();
  bytes_delivered_ = 0;
}

ReadResult FileReplaySource::read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (file_ == nullptr) return {ReadStatus::closed, 0};
  std::size_t want = std::min(buffer.size(), settings_.chunk_bytes);
  if (settings_.bytes_per_second > 0.0) {
    // Hand out only what a device at this byte rate would have sent by now, waiting at most `timeout`.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const double elapsed_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - opened_at_).count();
      const double allowed = elapsed_s * settings_.bytes_per_second - static_cast<double>(bytes_delivered_);
      if (allowed >= 1.0) {
        want = std::min(want, static_cast<std::size_t>(allowed));
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return {ReadStatus::timeout, 0};
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  const std::size_t n = std::fread(buffer.data(), 1, want, file_);
  if (n == 0) {
    close();
    return {ReadStatus::closed, 0};
  }
  bytes_delivered_ += n;
  return {ReadStatus::data, n};
}

void FileReplaySource::close() noexcept {
  if (file_ != nullptr) {
    std::fclose(file_);
    file_ = nullptr;
  }
}

std::string FileReplaySource::describe() const { return fmt::format("replay of {}", settings_.path); }

}  // namespace glutescope::io
