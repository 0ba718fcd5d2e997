// Shared by the third-party device-decoder harnesses (cyton, bitalino, trigno): the input layout, the
// feeding (whole and split at points drawn from the input) and a DeviceSink that checks every callback
// as it arrives. Invariants (FUZZ_REQUIRE, abort = finding):
//   * one DeviceInfo, before any block, accepted by device_info_problem;
//   * blocks have the DeviceInfo's shape; per stream, blocks and gaps tile the sample index line
//     (contiguous, no overlap); device time = index / nominal rate (the decoders' own rule) within 1 µs;
//   * values inside what the device's counts can hold; no gyroscope or magnetometer values; host and
//     event times finite;
//   * bounded gaps: a stream's index line ends no further than its counter can move per accepted packet
//     (its wrap period) plus the rate times the host time that passed (reconnect estimates);
//   * the decoder's counters equal what the sink received (rows, lost samples), the same output for any
//     chunking (hash, counters, stream error).
// Each harness checks its own byte accounting (bytes in = bytes in packets + bytes counted as garbage).
//
// Input: byte 0 seeds the chunking, byte 1 selects the device's options (harness-specific), byte 2 is the
// time the link is away at each reset (10 ms units), then records [u8 tag][u16 LE length][bytes]: bytes
// of byte stream `tag & 3`; tag bit 7 set: the link is lost (reset()) before them. A length beyond the
// input takes the rest. Record k arrives at host time 1000 s + bytes so far / 11 520 B/s (115 200 Bd).
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/device_info.hpp"
#include "devices/device_decoder.hpp"
#include "fuzz/fuzz_check.hpp"

namespace glutescope::devices::fuzz {

struct Record {
  std::size_t stream = 0;
  bool reset_before = false;
  std::span<const std::uint8_t> bytes;
};

struct Input {
  std::uint8_t seed = 0;
  std::uint8_t options = 0;
  double away_s = 0.0;  // link away at each reset (s)
  std::vector<Record> records;
};

// The records of `data` (see the layout above).
inline std::vector<Record> parse_records(std::span<const std::uint8_t> data) {
  std::vector<Record> records;
  while (data.size() >= 3) {
    const std::uint8_t tag = data[0];
    const std::size_t length = std::min<std::size_t>(data[1] | (std::size_t{data[2]} << 8), data.size() - 3);
    records.push_back({static_cast<std::size_t>(tag & 3u), (tag & 0x80u) != 0, data.subspan(3, length)});
    data = data.subspan(3 + length);
  }
  return records;
}

// nullopt when the input is shorter than its 3-byte header.
inline std::optional<Input> parse_input(std::span<const std::uint8_t> data) {
  if (data.size() < 3) return std::nullopt;
  return Input{data[0], data[1], data[2] * 0.01, parse_records(data.subspan(3))};
}

// What each stream's index line may reach: wrap × accepted packets + rate × (host seconds + 1).
struct LineBound {
  double samples_per_packet = 0.0;  // largest index step one accepted packet can make (counter period)
  double rate_hz = 0.0;
};

// FNV-1a, 8 bytes at a time.
inline void mix(std::uint64_t& hash, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    hash ^= (v >> (8 * i)) & 0xff;
    hash *= 1099511628211ull;
  }
}

// One stream's index line. Hashed sample by sample (not block by block): a decoder may cut blocks at
// the end of each feed, so block boundaries depend on the chunking while the samples may not.
struct Line {
  std::optional<std::uint64_t> next;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  std::uint64_t hash = 1469598103934665603ull;
};

class CheckingSink final : public DeviceSink {
 public:
  // Values a count may take (the device's ADC or the decoder's stored range).
  struct Ranges {
    std::int32_t emg_min = 0, emg_max = 0;
    std::int32_t accel_min = INT16_MIN, accel_max = INT16_MAX;
  };
  explicit CheckingSink(Ranges ranges) : ranges_(ranges) {}

  std::optional<DeviceInfo> info;
  Line emg;
  std::array<Line, kMaxMotionSensors> imu{};
  std::uint64_t event_hash = 1469598103934665603ull;
  std::uint64_t events = 0;

  void on_device_info(const DeviceInfo& i) override {
    FUZZ_REQUIRE(!info.has_value());
    FUZZ_REQUIRE(!device_info_problem(i).has_value());
    FUZZ_REQUIRE(i.imu.size() <= kMaxMotionSensors);
    info = i;
  }
  void on_emg(const EmgBlock& b) override {
    FUZZ_REQUIRE(info && b.channels == info->emg.size() && b.samples() > 0);
    FUZZ_REQUIRE(b.counts.size() == b.samples() * b.channels);
    check_time(b.first_sample, b.device_time_us, info->emg_rate_hz, b.host_time_s);
    tile(emg, b.first_sample, b.samples());
    emg.delivered += b.samples();
    for (std::size_t k = 0; k < b.counts.size(); ++k) {
      const std::int32_t c = b.counts[k];
      FUZZ_REQUIRE(c >= ranges_.emg_min && c <= ranges_.emg_max);
      if (k % b.channels == 0) mix(emg.hash, std::bit_cast<std::uint64_t>(b.host_time_s));
      mix(emg.hash, static_cast<std::uint32_t>(c));
    }
  }
  void on_imu(const ImuBlock& b) override {
    FUZZ_REQUIRE(info && b.sensor < info->imu.size() && b.samples() > 0);
    FUZZ_REQUIRE(b.accel.size() == 3 * b.samples() && b.gyro.size() == b.accel.size() && b.mag.empty());
    check_time(b.first_sample, b.device_time_us, info->imu[b.sensor].rate_hz, b.host_time_s);
    Line& s = imu.at(b.sensor);
    tile(s, b.first_sample, b.samples());
    s.delivered += b.samples();
    for (std::size_t k = 0; k < b.accel.size(); ++k) {
      const std::int16_t v = b.accel[k];
      FUZZ_REQUIRE(v >= ranges_.accel_min && v <= ranges_.accel_max);
      if (k % 3 == 0) mix(s.hash, std::bit_cast<std::uint64_t>(b.host_time_s));
      mix(s.hash, static_cast<std::uint16_t>(v));
    }
    for (const std::int16_t v : b.gyro) FUZZ_REQUIRE(v == 0);  // none of these devices has a gyroscope
  }
  void on_gap(const Gap& g) override {
    FUZZ_REQUIRE(info && g.count > 0 && std::isfinite(g.host_time_s));
    FUZZ_REQUIRE(g.stream == StreamKind::emg || g.sensor < info->imu.size());
    Line& s = g.stream == StreamKind::emg ? emg : imu.at(g.sensor);
    tile(s, g.start_sample, g.count);
    s.lost += g.count;
    mix(s.hash, ~g.count);
  }
  void on_event(const Event& e) override {
    FUZZ_REQUIRE(std::isfinite(e.time_s) && !e.text.empty());
    ++events;
    mix(event_hash, static_cast<std::uint64_t>(e.kind));
    mix(event_hash, std::bit_cast<std::uint64_t>(e.time_s));
    for (const char ch : e.text) mix(event_hash, static_cast<unsigned char>(ch));
  }

  // After finish(): the decoder's counters agree with what arrived, and no index line went further than
  // `bound` allows over `packets` accepted packets and `host_s` seconds of host time.
  void check_counters(const DecoderCounters& c, const std::array<LineBound, 2>& bound, double host_s) const {
    FUZZ_REQUIRE(c.emg_samples == emg.delivered && c.emg_lost_samples == emg.lost);
    const auto within = [&](const Line& s, const LineBound& b) {
      const double limit =
          b.samples_per_packet * static_cast<double>(c.packets + 1) + b.rate_hz * (host_s + 1.0);
      FUZZ_REQUIRE(static_cast<double>(s.next.value_or(0)) <= limit);
    };
    within(emg, bound[0]);
    for (std::size_t k = 0; k < kMaxMotionSensors; ++k) {
      FUZZ_REQUIRE(c.imu_samples[k] == imu[k].delivered && c.imu_lost_samples[k] == imu[k].lost);
      within(imu[k], bound[1]);
    }
    if (c.loss_detection == LossDetection::none) FUZZ_REQUIRE(c.lost_packets == 0);
  }

 private:
  static void tile(Line& s, std::uint64_t first, std::uint64_t count) {
    if (s.next) FUZZ_REQUIRE(*s.next == first);
    s.next = first + count;
  }
  // Every decoder here derives device time from the sample index at the nominal rate (no device clock).
  static void check_time(std::uint64_t first, std::uint64_t device_time_us, double rate_hz, double host_s) {
    FUZZ_REQUIRE(std::isfinite(host_s));
    const double expected_us = static_cast<double>(first) * 1e6 / rate_hz;
    FUZZ_REQUIRE(std::fabs(static_cast<double>(device_time_us) - expected_us) <= 1.0 + expected_us * 1e-15);
  }
  Ranges ranges_;
};

// Cut points inside `size` bytes from a xorshift seeded by `seed`: chunks of 1 to 64 bytes.
inline std::vector<std::size_t> cut_points(std::uint8_t seed, std::size_t size) {
  std::vector<std::size_t> cuts;
  std::uint32_t x = 0x9e3779b9u ^ seed;
  for (std::size_t at = 0;;) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    at += 1 + x % 64;
    if (at >= size) break;
    cuts.push_back(at);
  }
  return cuts;
}

// Feeds the records to `decoder` (whole, or split into the chunks `split` draws), resets where the input
// says, then finish(). Returns the host seconds that passed (link away time included).
inline double feed_records(DeviceDecoder& decoder, const Input& input, bool split) {
  constexpr double kStart_s = 1000.0;
  constexpr double kBytesPerSecond = 11520.0;  // 115 200 Bd, 10 bits per byte
  double now_s = kStart_s;
  std::uint32_t seed = input.seed;
  for (const Record& r : input.records) {
    if (r.reset_before) {
      decoder.reset();
      now_s += input.away_s;
    }
    if (!split) {
      decoder.feed(r.stream, r.bytes, now_s);
    } else {
      std::size_t at = 0;
      for (const std::size_t cut : cut_points(static_cast<std::uint8_t>(seed++), r.bytes.size())) {
        decoder.feed(r.stream, r.bytes.subspan(at, cut - at), now_s);
        at = cut;
      }
      decoder.feed(r.stream, r.bytes.subspan(at), now_s);
    }
    now_s += static_cast<double>(r.bytes.size()) / kBytesPerSecond;
  }
  decoder.finish();
  return now_s - kStart_s;
}

// What must be the same for any chunking.
struct Summary {
  std::uint64_t hash = 0;
  std::uint64_t events = 0;
  std::uint64_t emg_next = 0;
  std::uint64_t packets = 0, garbage_bytes = 0, lost_packets = 0, bad_packets = 0;
  std::optional<std::string> stream_error;
  bool operator==(const Summary&) const = default;
};

inline Summary summarise(const CheckingSink& sink, const DeviceDecoder& decoder) {
  const DecoderCounters c = decoder.counters();
  const ClockMapping clock = decoder.clock();
  FUZZ_REQUIRE(std::isfinite(clock.offset_s) && std::isfinite(clock.slope) &&
               std::isfinite(clock.residual_rms_s));
  std::uint64_t hash = sink.event_hash;
  mix(hash, sink.emg.hash);
  for (const Line& s : sink.imu) mix(hash, s.hash ^ s.next.value_or(0));
  return {hash,
          sink.events,
          sink.emg.next.value_or(0),
          c.packets,
          c.garbage_bytes,
          c.lost_packets,
          c.crc_failures + c.other_bad_packets,
          decoder.stream_error()};
}

// The body of a harness whose input is all in the layout above: `run(input, split)` decodes it (whole or
// split) and returns its Summary, which must not depend on the chunking.
template <typename Run>
int test_one_input(const std::uint8_t* data, std::size_t size, Run&& run) {
  const auto input = parse_input(std::span<const std::uint8_t>(data, size));
  if (input) FUZZ_REQUIRE(run(*input, false) == run(*input, true));
  return 0;
}

}  // namespace glutescope::devices::fuzz
