#include "devices/stream_decoder.hpp"

#include <utility>

namespace glutescope::protocol {
namespace {
// COBS bytes of the largest legal frame, delimiter excluded.
constexpr std::size_t max_encoded = GSP_COBS_MAX_ENCODED_SIZE(GSP_MAX_FRAME_SIZE);
}  // namespace

StreamDecoder::StreamDecoder(FrameHandler handler) : handler_(std::move(handler)), buffer_(max_encoded) {}

void StreamDecoder::feed(std::span<const std::uint8_t> bytes) noexcept {
  for (const std::uint8_t byte : bytes) {
    if (byte == GSP_DELIMITER) {
      if (discarding_) {
        discarding_ = false;
        size_ = 0;
      } else if (size_ > 0) {
        finish_frame();
      }
      // An empty frame (delimiter after delimiter) is idle fill: ignored, not counted.
      continue;
    }
    if (discarding_) {
      ++counters_.garbage_bytes;
      continue;
    }
    if (size_ == buffer_.size()) {
      ++counters_.too_long;
      counters_.garbage_bytes += size_ + 1;
      size_ = 0;
      discarding_ = true;
      continue;
    }
    buffer_[size_++] = byte;
  }
}

void StreamDecoder::reset() noexcept {
  counters_.garbage_bytes += size_;
  size_ = 0;
  discarding_ = false;
}

void StreamDecoder::finish_frame() noexcept {
  const std::size_t length = size_;
  size_ = 0;
  Frame frame;
  const std::uint8_t* payload = nullptr;
  // In-place decode: COBS output never overtakes its input.
  const gsp_result r = gsp_frame_decode(buffer_.data(), length, buffer_.data(), buffer_.size(), &frame.header, &payload);
  switch (r) {
    case GSP_OK:
      break;
    case GSP_ERR_UNSUPPORTED_VERSION:
      ++counters_.unsupported_version;
      return;
    case GSP_ERR_BAD_CRC:
      ++counters_.crc_errors;
      counters_.garbage_bytes += length;
      return;
    case GSP_ERR_BAD_COBS:
      ++counters_.cobs_errors;
      counters_.garbage_bytes += length;
      return;
    case GSP_ERR_TOO_LONG:  // decoded frame above the maximum although its COBS length fitted
      ++counters_.too_long;
      counters_.garbage_bytes += length;
      return;
    default:  // TOO_SHORT, BAD_LENGTH (BUFFER_TOO_SMALL cannot happen: the buffer holds the input)
      ++counters_.length_errors;
      counters_.garbage_bytes += length;
      return;
  }
  if (gsp_is_known_message_type(frame.header.type) == 0) {
    ++counters_.unknown_type;
    return;
  }
  frame.payload = std::span<const std::uint8_t>(payload, frame.header.payload_length);
  if (decode_message(frame, message_) != GSP_OK) {
    ++counters_.payload_errors;
    return;
  }
  ++counters_.frames_ok;
  if (handler_) handler_(frame, message_);
}

SequenceTracker::Verdict SequenceTracker::observe(std::uint32_t sequence) noexcept {
  ++counters_.received;
  if (!started_) {
    started_ = true;
    expected_ = sequence + 1u;
    seen_ = 1;
    return Verdict::first;
  }
  // Signed distance modulo 2^32 handles the wrap from 0xFFFFFFFF to 0.
  const auto delta = static_cast<std::int32_t>(sequence - expected_);
  if (delta >= 0) {
    const auto skipped = static_cast<std::uint64_t>(delta);
    counters_.lost += skipped;
    seen_ = skipped + 1 >= 64 ? 1 : ((seen_ << (skipped + 1)) | 1u);
    expected_ = sequence + 1u;
    return skipped == 0 ? Verdict::in_order : Verdict::gap;
  }
  const std::uint32_t age = expected_ - 1u - sequence;  // 0 = the newest frame seen
  if (age < window) {
    const std::uint64_t bit = std::uint64_t{1} << age;
    if ((seen_ & bit) != 0) {
      ++counters_.duplicates;
      return Verdict::duplicate;
    }
    seen_ |= bit;
    if (counters_.lost > 0) --counters_.lost;
    ++counters_.reordered;
    return Verdict::late;
  }
  ++counters_.restarts;
  expected_ = sequence + 1u;
  seen_ = 1;
  return Verdict::restart;
}

}  // namespace glutescope::protocol
