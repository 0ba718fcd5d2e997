// The "frame record" format of tests/recorder/reliability/*.bin and of the fuzz corpora of
// tests/fuzz/stream_fuzzer.cpp: one leading byte (the fuzzer's chunking seed), then records of
// u16 little-endian length + the raw frame (18-byte header and payload, PROTOCOL.md §2) without CRC and
// COBS. wire_bytes() adds the CRC-32C and the COBS encoding and delimiter, so that mutated frames reach
// the message decoders and the device model instead of failing the CRC. A record's bytes are used as they
// are (payload_length may disagree with the record's length: the decoder must reject that).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "glutescope_protocol.h"

namespace glutescope::test {

// Wire bytes (COBS frames, each ending in 0x00) for every record of `records` (after the leading byte).
// A truncated last record is used as far as it goes.
inline std::vector<std::uint8_t> wire_bytes(std::span<const std::uint8_t> records) {
  std::vector<std::uint8_t> wire;
  std::vector<std::uint8_t> raw;
  std::vector<std::uint8_t> encoded(GSP_MAX_WIRE_SIZE + 8);
  std::size_t at = records.empty() ? 0 : 1;
  while (at + 2 <= records.size()) {
    std::size_t length =
        static_cast<std::size_t>(records[at]) | (static_cast<std::size_t>(records[at + 1]) << 8);
    at += 2;
    length = std::min({length, records.size() - at, std::size_t{GSP_MAX_FRAME_SIZE - GSP_CRC_SIZE}});
    raw.assign(records.begin() + static_cast<std::ptrdiff_t>(at),
               records.begin() + static_cast<std::ptrdiff_t>(at + length));
    at += length;
    const std::uint32_t crc = gsp_crc32c(raw.data(), raw.size());
    for (int i = 0; i < 4; ++i) raw.push_back(static_cast<std::uint8_t>(crc >> (8 * i)));
    std::size_t n = 0;
    if (gsp_cobs_encode(raw.data(), raw.size(), encoded.data(), encoded.size(), &n) != GSP_OK) continue;
    wire.insert(wire.end(), encoded.begin(), encoded.begin() + static_cast<std::ptrdiff_t>(n));
    wire.push_back(0);
  }
  return wire;
}

}  // namespace glutescope::test
