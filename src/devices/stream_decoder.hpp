// Byte stream -> protocol v1 frames. The transport (serial, BLE notifications concatenated, file replay)
// feeds arbitrary chunks; frames are cut at 0x00 delimiters, checked (COBS, CRC-32C, version, length,
// payload) and handed to a callback. Every rejected byte and frame is counted, never thrown.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "devices/protocol.hpp"

namespace glutescope::protocol {

struct StreamDecoderCounters {
  std::uint64_t frames_ok = 0;            // frames delivered to the callback
  std::uint64_t crc_errors = 0;
  std::uint64_t cobs_errors = 0;
  std::uint64_t length_errors = 0;        // shorter than header + CRC, or payload_length mismatch
  std::uint64_t too_long = 0;             // more than max_wire_size bytes before a delimiter
  std::uint64_t payload_errors = 0;       // frame intact but its payload malformed for its type
  std::uint64_t unknown_type = 0;         // intact frames of a type this decoder does not know (skipped)
  std::uint64_t unsupported_version = 0;  // intact frames with header version != 1 (skipped)
  std::uint64_t garbage_bytes = 0;        // non-delimiter bytes of frames rejected for COBS/CRC/length/too_long
};

class StreamDecoder {
 public:
  // Called once per accepted frame, on the thread that calls feed(). The frame's payload and the
  // EMG/IMU sample views inside `message` are valid only during the call. Must not call feed().
  using FrameHandler = std::function<void(const Frame& frame, const Message& message)>;

  explicit StreamDecoder(FrameHandler handler);

  // Consume any number of bytes; any split of a stream gives the same frames and counters.
  // Allocation-free: the frame buffer is sized once (max_wire_size) in the constructor.
  void feed(std::span<const std::uint8_t> bytes) noexcept;

  // Drop a partial frame (e.g. after a reconnect); its bytes count as garbage.
  void reset() noexcept;

  [[nodiscard]] const StreamDecoderCounters& counters() const noexcept { return counters_; }
  // Bytes of the frame currently being collected (not yet delimited).
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return size_; }

 private:
  void finish_frame() noexcept;

  FrameHandler handler_;
  std::vector<std::uint8_t> buffer_;  // COBS bytes of the current frame, decoded in place
  std::size_t size_ = 0;
  bool discarding_ = false;           // frame exceeded the maximum: drop until the next delimiter
  Message message_;
  StreamDecoderCounters counters_;
};

// Loss accounting from frame sequence numbers (u32, +1 per frame, wraps). Keeps a 64-frame window so a
// late frame (reordered) is told apart from a duplicate; a jump back by more than the window is taken
// as a device restart and re-anchors the count.
class SequenceTracker {
 public:
  enum class Verdict : std::uint8_t { first, in_order, gap, duplicate, late, restart };

  struct Counters {
    std::uint64_t received = 0;    // every observed sequence number
    std::uint64_t lost = 0;        // frames skipped over and not (yet) arrived late
    std::uint64_t duplicates = 0;
    std::uint64_t reordered = 0;   // arrived after a later frame (were counted lost, then un-counted)
    std::uint64_t restarts = 0;
  };

  static constexpr std::uint32_t window = 64;

  Verdict observe(std::uint32_t sequence) noexcept;
  void reset() noexcept { *this = SequenceTracker{}; }
  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }
  // Sequence number expected next (valid after the first observe).
  [[nodiscard]] std::uint32_t expected() const noexcept { return expected_; }

 private:
  bool started_ = false;
  std::uint32_t expected_ = 0;
  std::uint64_t seen_ = 0;  // bit i set: frame (expected_ - 1 - i) arrived
  Counters counters_;
};

}  // namespace glutescope::protocol
