#include "devices/bitalino_protocol.hpp"

#include <bit>
#include <cassert>
#include <charconv>
#include <stdexcept>

namespace glutescope::devices::bitalino {
namespace {

// x^4 + x + 1 (firmware uart.c crcTable, cpp-api CRC4tab).
constexpr std::array<std::uint8_t, 16> kCrcTable = {0, 3, 6, 5, 12, 15, 10, 9, 11, 8, 13, 14, 7, 4, 1, 2};

}  // namespace

std::optional<std::uint8_t> rate_command(unsigned rate_hz) noexcept {
  switch (rate_hz) {
    case 1:
      return 0x03;
    case 10:
      return 0x43;
    case 100:
      return 0x83;
    case 1000:
      return 0xC3;
    default:
      return std::nullopt;
  }
}

std::optional<unsigned> rate_of_command(std::uint8_t command) noexcept {
  switch (command) {
    case 0x03:
      return 1U;
    case 0x43:
      return 10U;
    case 0x83:
      return 100U;
    case 0xC3:
      return 1000U;
    default:
      return std::nullopt;
  }
}

std::uint8_t start_command(std::uint8_t mask, bool simulated) {
  if (mask == 0 || mask > 0x3F)
    throw std::invalid_argument("BITalino channel mask must select 1 to 6 of A1-A6 (1..0x3F)");
  return static_cast<std::uint8_t>((mask << 2) | (simulated ? 0x02 : 0x01));
}

std::size_t channel_count(std::uint8_t mask) noexcept {
  return static_cast<std::size_t>(std::popcount(static_cast<unsigned>(mask & 0x3F)));
}

std::size_t frame_size(std::size_t channels) {
  if (channels == 0 || channels > kAnalogInputs)
    throw std::invalid_argument("a BITalino frame carries 1 to 6 analog channels");
  return channels + 2 + ((channels >= 3 && channels <= 5) ? 1 : 0);
}

std::uint8_t crc4(std::span<const std::uint8_t> frame) noexcept {
  if (frame.empty()) return 0;
  std::uint8_t crc = 0;
  for (std::size_t i = 0; i + 1 < frame.size(); ++i) {
    crc = kCrcTable[crc] ^ static_cast<std::uint8_t>(frame[i] >> 4);
    crc = kCrcTable[crc] ^ static_cast<std::uint8_t>(frame[i] & 0x0F);
  }
  crc = kCrcTable[crc] ^ static_cast<std::uint8_t>(frame.back() >> 4);
  return kCrcTable[crc];
}

bool crc_ok(std::span<const std::uint8_t> frame) noexcept {
  return !frame.empty() && crc4(frame) == (frame.back() & 0x0F);
}

// The firmware builds an 8-byte frame f[0..7] and sends its last frame_size(n) bytes; byte f[7 − k] is
// the frame's byte (size − 1 − k). Layout (live.c, little-endian 16-bit ORs):
//   f[6] = I1 I2 O1 O2 a0[9:6]     f[5] = a0[5:0] a1[9:8]   f[4] = a1[7:0]
//   f[3] = a2[9:2]                 f[2] = a2[1:0] a3[9:4]   f[1] = a3[3:0] a4[5:2]
//   f[0] = a4[1:0] a5[5:0]         f[7] = sequence(4) CRC(4)
Frame unpack(std::span<const std::uint8_t> frame, std::size_t channels) noexcept {
  assert(channels >= 1 && channels <= kAnalogInputs && frame.size() == frame_size(channels));
  std::array<std::uint8_t, kMaxFrameSize> f{};
  const std::size_t offset = kMaxFrameSize - frame.size();
  for (std::size_t i = 0; i < frame.size(); ++i) f[offset + i] = frame[i];
  Frame out;
  out.sequence = static_cast<std::uint8_t>(f[7] >> 4);
  out.digital = static_cast<std::uint8_t>(f[6] >> 4);
  out.analog[0] = static_cast<std::uint16_t>(((f[6] & 0x0F) << 6) | (f[5] >> 2));
  if (channels > 1) out.analog[1] = static_cast<std::uint16_t>(((f[5] & 0x03) << 8) | f[4]);
  if (channels > 2) out.analog[2] = static_cast<std::uint16_t>((f[3] << 2) | (f[2] >> 6));
  if (channels > 3) out.analog[3] = static_cast<std::uint16_t>(((f[2] & 0x3F) << 4) | (f[1] >> 4));
  if (channels > 4) out.analog[4] = static_cast<std::uint16_t>(((f[1] & 0x0F) << 2) | (f[0] >> 6));
  if (channels > 5) out.analog[5] = static_cast<std::uint16_t>(f[0] & 0x3F);
  return out;
}

std::size_t pack(const Frame& frame, std::size_t channels, std::span<std::uint8_t> out) noexcept {
  const std::size_t size = frame_size(channels);
  assert(out.size() >= size);
  std::array<std::uint8_t, kMaxFrameSize> f{};
  const auto a = [&](std::size_t k) -> unsigned {
    return k < channels ? (frame.analog[k] & (k < 4 ? 0x3FFU : 0x3FU)) : 0U;
  };
  f[6] = static_cast<std::uint8_t>(((frame.digital & 0x0F) << 4) | (a(0) >> 6));
  f[5] = static_cast<std::uint8_t>(((a(0) & 0x3F) << 2) | (a(1) >> 8));
  f[4] = static_cast<std::uint8_t>(a(1) & 0xFF);
  f[3] = static_cast<std::uint8_t>(a(2) >> 2);
  f[2] = static_cast<std::uint8_t>(((a(2) & 0x03) << 6) | (a(3) >> 4));
  f[1] = static_cast<std::uint8_t>(((a(3) & 0x0F) << 4) | (a(4) >> 2));
  f[0] = static_cast<std::uint8_t>(((a(4) & 0x03) << 6) | a(5));
  f[7] = static_cast<std::uint8_t>((frame.sequence & 0x0F) << 4);
  const std::span<const std::uint8_t> wire(f.data() + (kMaxFrameSize - size), size);
  f[7] = static_cast<std::uint8_t>(f[7] | crc4(wire));
  for (std::size_t i = 0; i < size; ++i) out[i] = wire[i];
  return size;
}

std::optional<Version> parse_version(std::string_view reply) {
  const std::size_t at = reply.find(kVersionPrefix);
  if (at == std::string_view::npos) return std::nullopt;
  const char* p = reply.data() + at + kVersionPrefix.size();
  const char* end = reply.data() + reply.size();
  Version v;
  auto r = std::from_chars(p, end, v.major);
  if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return std::nullopt;
  r = std::from_chars(r.ptr + 1, end, v.minor);
  if (r.ec != std::errc()) return std::nullopt;
  v.text.assign(reply.data() + at, r.ptr);
  return v;
}

}  // namespace glutescope::devices::bitalino
