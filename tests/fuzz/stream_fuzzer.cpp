// libFuzzer harness for StreamDecoder + DeviceModel. Input: frame records (support/frame_records.hpp):
// byte 0 is the chunking seed, then u16 length + raw frame records, turned into valid wire frames (CRC
// and COBS added) so mutations reach the message decoders and the model. With bit 7 of byte 0 set the
// rest is fed as raw wire bytes instead (delimiters, COBS and CRC errors). The bytes are fed twice: whole,
// and split at points drawn from the seed; both must give the same output. Invariants (abort if broken):
//   * per stream, delivered blocks and gaps tile the sample index line (contiguous, no overlap);
//   * the stream's lost samples stay within the model's loss bound (rate × (elapsed + slack) × tolerance);
//   * counters agree with what the sink received.
#include <array>
#include "fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "devices/device_model.hpp"
#include "devices/stream_decoder.hpp"
#include "support/frame_records.hpp"

namespace glutescope::devices {
namespace {

struct Stream {
  std::optional<std::uint64_t> next;
  std::uint64_t delivered = 0;
  std::uint64_t lost = 0;
  double rate_hz = 0.0;
};

// Summarises the output (for the chunking comparison) and checks tiling as it arrives.
struct CheckingSink final : DeviceSink {
  std::optional<DeviceInfo> info;
  Stream emg;
  std::array<Stream, GSP_MAX_IMUS> imu{};
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a over everything delivered
  std::uint64_t events = 0;

  void mix(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      hash ^= (v >> (8 * i)) & 0xff;
      hash *= 1099511628211ull;
    }
  }
  static void tile(Stream& s, std::uint64_t first, std::uint64_t count) {
    if (s.next) FUZZ_REQUIRE(*s.next == first);
    s.next = first + count;
  }
  void on_device_info(const DeviceInfo& i) override {
    FUZZ_REQUIRE(!info.has_value());
    FUZZ_REQUIRE(!device_info_problem(i).has_value());
    info = i;
    emg.rate_hz = i.emg_rate_hz;
    for (std::size_t k = 0; k < i.imu.size(); ++k) imu.at(k).rate_hz = i.imu[k].rate_hz;
  }
  void on_emg(const EmgBlock& b) override {
    FUZZ_REQUIRE(info && b.channels == info->emg.size() && b.samples() > 0);
    FUZZ_REQUIRE(b.counts.size() == b.samples() * b.channels);
    tile(emg, b.first_sample, b.samples());
    emg.delivered += b.samples();
    mix(b.first_sample);
    for (std::int32_t c : b.counts) mix(static_cast<std::uint32_t>(c));
  }
  void on_imu(const ImuBlock& b) override {
    FUZZ_REQUIRE(info && b.sensor < info->imu.size() && b.samples() > 0);
    Stream& s = imu.at(b.sensor);
    tile(s, b.first_sample, b.samples());
    s.delivered += b.samples();
    mix(b.first_sample + (static_cast<std::uint64_t>(b.sensor) << 60));
    for (std::int16_t v : b.accel) mix(static_cast<std::uint16_t>(v));
  }
  void on_gap(const Gap& g) override {
    FUZZ_REQUIRE(g.count > 0);
    Stream& s = g.stream == StreamKind::emg ? emg : imu.at(g.sensor);
    tile(s, g.start_sample, g.count);
    s.lost += g.count;
    mix(g.start_sample ^ (g.count << 1));
  }
  void on_event(const Event& e) override {
    ++events;
    mix(static_cast<std::uint64_t>(e.kind));
  }
};

struct Summary {
  std::uint64_t hash = 0;
  std::uint64_t frames = 0;
  std::uint64_t events = 0;
  std::optional<std::string> protocol_error;
  bool operator==(const Summary&) const = default;
};

// Host time advances 1 ms per frame: the same for any chunking, and it lets the loss bound grow.
Summary run(std::span<const std::uint8_t> wire, const std::vector<std::size_t>& cuts) {
  CheckingSink sink;
  DeviceModel model(sink, 100.0);
  double now_s = 100.0;
  protocol::StreamDecoder decoder([&](const protocol::Frame& f, const protocol::Message& m) {
    model.consume(f, m, now_s);
    now_s += 0.001;
  });
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    decoder.feed(wire.subspan(at, cut - at));
    at = cut;
  }
  decoder.feed(wire.subspan(at));
  model.finish();

  const DeviceModelCounters& c = model.counters();
  FUZZ_REQUIRE(c.emg_samples == sink.emg.delivered && c.emg_lost_samples == sink.emg.lost);
  const double elapsed_s = now_s - 100.0;
  auto within_bound = [&](const Stream& s) {
    const double bound =
        s.rate_hz * (elapsed_s + DeviceModel::kLossSlackSeconds) * DeviceModel::kRateTolerance;
    FUZZ_REQUIRE(static_cast<double>(s.lost) <= bound + 1.0);
  };
  within_bound(sink.emg);
  for (std::size_t k = 0; k < GSP_MAX_IMUS; ++k) {
    FUZZ_REQUIRE(c.imu_samples[k] == sink.imu[k].delivered && c.imu_lost_samples[k] == sink.imu[k].lost);
    within_bound(sink.imu[k]);
  }
  return {sink.hash, c.frames, sink.events, model.protocol_error()};
}

}  // namespace
}  // namespace glutescope::devices

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glutescope;
  if (size < 1) return 0;
  const std::span<const std::uint8_t> input(data, size);
  const std::vector<std::uint8_t> wire =
      (data[0] & 0x80) != 0 ? std::vector<std::uint8_t>(data + 1, data + size) : test::wire_bytes(input);
  // Cut points from a xorshift seeded by byte 0: chunks of 1 to 64 bytes.
  std::vector<std::size_t> cuts;
  std::uint32_t x = 0x9e3779b9u ^ data[0];
  for (std::size_t at = 0;;) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    at += 1 + x % 64;
    if (at >= wire.size()) break;
    cuts.push_back(at);
  }
  const devices::Summary whole = devices::run(wire, {});
  const devices::Summary split = devices::run(wire, cuts);
  FUZZ_REQUIRE(whole == split);
  return 0;
}
