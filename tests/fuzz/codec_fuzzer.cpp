// libFuzzer harness for the C99 codec of protocol v1 (firmware-protocol/c). The first byte picks what the
// rest is fed to:
//   0: a wire frame (gsp_frame_decode), then its payload to the decoder of its type;
//   1: a payload straight to the decoder of type rest[0] (skipping the CRC, so mutations reach the
//      message decoders); a decoded message is re-encoded and must decode to the same message;
//   2: COBS: decode, re-encode, decode again: the same bytes.
// Any out-of-bounds access is the sanitizers' to report; a broken round trip aborts.
#include "fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "glutescope_protocol.h"

namespace {

// Re-encodes a decoded message and checks the copy decodes to the same fields.
template <typename T, typename Encode, typename Decode>
void round_trip(const T& decoded, Encode encode, Decode decode) {
  std::vector<std::uint8_t> payload(GSP_MAX_PAYLOAD_SIZE);
  std::size_t length = 0;
  if (encode(decoded, payload.data(), payload.size(), &length) != GSP_OK) return;  // e.g. unknown kinds
  FUZZ_REQUIRE(length <= payload.size());
  T again;
  std::memset(&again, 0, sizeof again);
  FUZZ_REQUIRE(decode(payload.data(), length, &again) == GSP_OK);
  FUZZ_REQUIRE(std::memcmp(&decoded, &again, sizeof(T)) == 0);
}

void emg_round_trip(const gsp_emg_block& block) {
  const std::size_t values = static_cast<std::size_t>(block.sample_count) * block.channel_count;
  std::vector<std::int32_t> counts(values);
  for (std::size_t s = 0; s < block.sample_count; ++s) {
    for (std::size_t c = 0; c < block.channel_count; ++c) {
      counts[s * block.channel_count + c] = gsp_emg_block_sample(&block, s, c);
    }
  }
  std::vector<std::uint8_t> payload(GSP_MAX_PAYLOAD_SIZE);
  std::size_t length = 0;
  if (gsp_emg_block_encode(&block, counts.data(), payload.data(), payload.size(), &length) != GSP_OK) return;
  gsp_emg_block again{};
  FUZZ_REQUIRE(gsp_emg_block_decode(payload.data(), length, &again) == GSP_OK);
  FUZZ_REQUIRE(again.first_sample == block.first_sample && again.sample_count == block.sample_count &&
               again.channel_count == block.channel_count && again.format == block.format);
  for (std::size_t s = 0; s < block.sample_count; ++s) {
    for (std::size_t c = 0; c < block.channel_count; ++c) {
      FUZZ_REQUIRE(gsp_emg_block_sample(&again, s, c) == counts[s * block.channel_count + c]);
    }
  }
}

void imu_round_trip(const gsp_imu_block& block) {
  const std::size_t n = block.sample_count;
  const bool has_mag = (block.flags & GSP_IMU_FLAG_HAS_MAG) != 0;
  std::vector<std::int16_t> accel(n * 3), gyro(n * 3), mag(n * 3);
  for (std::size_t s = 0; s < n; ++s)
    gsp_imu_block_sample(&block, s, &accel[s * 3], &gyro[s * 3], &mag[s * 3]);
  std::vector<std::uint8_t> payload(GSP_MAX_PAYLOAD_SIZE);
  std::size_t length = 0;
  if (gsp_imu_block_encode(&block, accel.data(), gyro.data(), has_mag ? mag.data() : nullptr, payload.data(),
                           payload.size(), &length) != GSP_OK) {
    return;
  }
  gsp_imu_block again{};
  FUZZ_REQUIRE(gsp_imu_block_decode(payload.data(), length, &again) == GSP_OK);
  FUZZ_REQUIRE(again.sensor == block.sensor && again.flags == block.flags && again.sample_count == n &&
               again.first_sample == block.first_sample);
  for (std::size_t s = 0; s < n; ++s) {
    std::int16_t a[3], g[3], m[3] = {0, 0, 0};
    gsp_imu_block_sample(&again, s, a, g, m);
    FUZZ_REQUIRE(std::memcmp(a, &accel[s * 3], sizeof a) == 0 && std::memcmp(g, &gyro[s * 3], sizeof g) == 0);
    if (has_mag) FUZZ_REQUIRE(std::memcmp(m, &mag[s * 3], sizeof m) == 0);
  }
}

void decode_payload(std::uint8_t type, const std::uint8_t* p, std::size_t n, bool check_round_trip) {
  switch (type) {
    case GSP_MSG_DEVICE_INFO: {
      gsp_device_info m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_device_info_decode(p, n, &m) == GSP_OK && check_round_trip)
        round_trip(
            m,
            [](const gsp_device_info& x, std::uint8_t* o, std::size_t c, std::size_t* l) {
              return gsp_device_info_encode(&x, o, c, l);
            },
            gsp_device_info_decode);
      break;
    }
    case GSP_MSG_EMG_BLOCK: {
      gsp_emg_block m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_emg_block_decode(p, n, &m) == GSP_OK) {
        // Every sample is readable (the decoder checked the size): the sanitizers watch the reads.
        for (std::size_t s = 0; s < m.sample_count; ++s)
          for (std::size_t c = 0; c < m.channel_count; ++c) (void)gsp_emg_block_sample(&m, s, c);
        if (check_round_trip) emg_round_trip(m);
      }
      break;
    }
    case GSP_MSG_IMU_BLOCK: {
      gsp_imu_block m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_imu_block_decode(p, n, &m) == GSP_OK && check_round_trip) imu_round_trip(m);
      break;
    }
    case GSP_MSG_EVENT: {
      gsp_event m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_event_decode(p, n, &m) == GSP_OK && check_round_trip)
        round_trip(
            m,
            [](const gsp_event& x, std::uint8_t* o, std::size_t c, std::size_t* l) {
              return gsp_event_encode(&x, o, c, l);
            },
            gsp_event_decode);
      break;
    }
    case GSP_MSG_STATUS: {
      gsp_status m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_status_decode(p, n, &m) == GSP_OK && check_round_trip)
        round_trip(
            m,
            [](const gsp_status& x, std::uint8_t* o, std::size_t c, std::size_t* l) {
              return gsp_status_encode(&x, o, c, l);
            },
            gsp_status_decode);
      break;
    }
    case GSP_MSG_COMMAND: {
      gsp_command m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_command_decode(p, n, &m) == GSP_OK && check_round_trip)
        round_trip(
            m,
            [](const gsp_command& x, std::uint8_t* o, std::size_t c, std::size_t* l) {
              return gsp_command_encode(&x, o, c, l);
            },
            gsp_command_decode);
      break;
    }
    case GSP_MSG_ACK: {
      gsp_ack m;
      std::memset(&m, 0, sizeof m);  // padding too: round trips compare whole structs
      if (gsp_ack_decode(p, n, &m) == GSP_OK && check_round_trip)
        round_trip(
            m,
            [](const gsp_ack& x, std::uint8_t* o, std::size_t c, std::size_t* l) {
              return gsp_ack_encode(&x, o, c, l);
            },
            gsp_ack_decode);
      break;
    }
    default:
      break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t mode = data[0] % 3;
  const std::uint8_t* rest = data + 1;
  const std::size_t n = size - 1;
  if (mode == 0) {
    // Exactly-sized heap copies, so a read past the end is an ASan report, not a silent read.
    std::vector<std::uint8_t> wire(rest, rest + n);
    std::vector<std::uint8_t> scratch(n == 0 ? 1 : n);
    gsp_header header{};
    const std::uint8_t* payload = nullptr;
    if (gsp_frame_decode(wire.data(), wire.size(), scratch.data(), scratch.size(), &header, &payload) ==
        GSP_OK) {
      FUZZ_REQUIRE(payload != nullptr && payload >= scratch.data() &&
                   payload + header.payload_length <= scratch.data() + scratch.size());
      const std::vector<std::uint8_t> body(payload, payload + header.payload_length);
      decode_payload(header.type, body.data(), body.size(), true);
    }
  } else if (mode == 1 && n >= 1) {
    const std::vector<std::uint8_t> body(rest + 1, rest + n);
    decode_payload(rest[0], body.data(), body.size(), true);
  } else if (mode == 2) {
    const std::vector<std::uint8_t> in(rest, rest + n);
    std::vector<std::uint8_t> decoded(n + 1);
    std::size_t dn = 0;
    if (gsp_cobs_decode(in.data(), in.size(), decoded.data(), decoded.size(), &dn) == GSP_OK) {
      FUZZ_REQUIRE(dn <= decoded.size());
      std::vector<std::uint8_t> encoded(GSP_COBS_MAX_ENCODED_SIZE(dn) + 1);
      std::size_t en = 0;
      FUZZ_REQUIRE(gsp_cobs_encode(decoded.data(), dn, encoded.data(), encoded.size(), &en) == GSP_OK);
      for (std::size_t i = 0; i < en; ++i) FUZZ_REQUIRE(encoded[i] != 0);  // no delimiter inside a frame
      std::vector<std::uint8_t> again(en + 1);
      std::size_t an = 0;
      FUZZ_REQUIRE(gsp_cobs_decode(encoded.data(), en, again.data(), again.size(), &an) == GSP_OK);
      FUZZ_REQUIRE(an == dn && std::memcmp(again.data(), decoded.data(), dn) == 0);
    }
  }
  return 0;
}
