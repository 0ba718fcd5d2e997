// Replays a recorded byte stream from a file (a capture of what a device sent) through the same
// ByteSource interface, for tests and offline re-decoding.
//
// Threading contract: one thread uses it; no internal threads.
#pragma once

#include <cstdio>
#include <string>

#include "io/byte_source.hpp"

namespace glutescope::io {

struct FileReplaySettings {
  std::string path;
  std::size_t chunk_bytes = 4096;  // largest piece handed out per read_some (> 0)
  double bytes_per_second = 0.0;   // pacing; 0 = as fast as the reader asks
};

class FileReplaySource final : public ByteSource {
 public:
  explicit FileReplaySource(FileReplaySettings settings);
  ~FileReplaySource() override;

  // Opens the file at its beginning. Throws TransportError(not_found / permission_denied / io).
  void open() override;
  // Returns ReadStatus::closed at the end of the file.
  ReadResult read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) override;
  bool write_all(std::span<const std::uint8_t> /*bytes*/, std::chrono::milliseconds /*timeout*/) override {
    return file_ != nullptr;
  }
  void close() noexcept override;
  [[nodiscard]] bool is_open() const noexcept override { return file_ != nullptr; }
  [[nodiscard]] std::string describe() const override;

 private:
  FileReplaySettings settings_;
  std::FILE* file_ = nullptr;
  std::chrono::steady_clock::time_point opened_at_{};
  std::uint64_t bytes_delivered_ = 0;
};

}  // namespace glutescope::io
