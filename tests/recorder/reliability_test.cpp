// The inputs in reliability/ broke the device model (issue 11). They are frame records
// (support/frame_records.hpp): each is turned into wire frames and fed through the real
// StreamDecoder + DeviceModel, whole and split into every chunk size from 1 to 64 bytes, and must give
// bounded, contiguous output (or a named rejection of its DEVICE_INFO) with the same result per split.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "devices/device_model.hpp"
#include "devices/stream_decoder.hpp"
#include "support/files.hpp"
#include "support/frame_records.hpp"

namespace glutescope::devices {
namespace {

std::vector<std::uint8_t> records_of(const std::string& name) {
  const std::string bytes =
      test::slurp(std::filesystem::path(GLUTESCOPE_SOURCE_DIR) / "tests/recorder/reliability" / name);
  return {bytes.begin(), bytes.end()};
}

std::vector<std::uint8_t> reproducer(const std::string& name) { return test::wire_bytes(records_of(name)); }

// stream_gap_wrap.bin's DEVICE_INFO gives IMU 2 (imu_thigh_R) a rate of 6.6e-39 Hz and NaN ranges, now
// rejected before the counters are looked at; with IMU 0's flags, rate and scales (25 bytes after its
// label, PROTOCOL.md §4.1) copied there, the counter path runs as it did in the report.
std::vector<std::uint8_t> gap_wrap_with_a_valid_imu_rate() {
  std::vector<std::uint8_t> records = records_of("stream_gap_wrap.bin");
  const std::string imu0 = "\x0aimu_sacrum";
  const std::string imu2 = "\x0bimu_thigh_R";
  const auto from = std::search(records.begin(), records.end(), imu0.begin(), imu0.end());
  const auto to = std::search(records.begin(), records.end(), imu2.begin(), imu2.end());
  EXPECT_TRUE(from != records.end() && to != records.end());
  const auto fixed = from + static_cast<std::ptrdiff_t>(imu0.size());
  std::copy(fixed, fixed + 25, to + static_cast<std::ptrdiff_t>(imu2.size()));
  return test::wire_bytes(records);
}

// Keeps what the model delivered and checks per stream that blocks and gaps tile the index line.
struct CheckingSink final : DeviceSink {
  std::vector<DeviceInfo> infos;
  std::vector<Gap> gaps;
  std::uint64_t emg_blocks = 0;
  std::uint64_t imu_blocks = 0;
  std::optional<std::uint64_t> emg_next;
  std::array<std::optional<std::uint64_t>, GSP_MAX_IMUS> imu_next{};
  bool contiguous = true;

  void on_device_info(const DeviceInfo& info) override { infos.push_back(info); }
  void on_emg(const EmgBlock& b) override {
    ++emg_blocks;
    if (emg_next && *emg_next != b.first_sample) contiguous = false;
    emg_next = b.first_sample + b.samples();
  }
  void on_imu(const ImuBlock& b) override {
    ++imu_blocks;
    auto& next = imu_next.at(b.sensor);
    if (next && *next != b.first_sample) contiguous = false;
    next = b.first_sample + b.samples();
  }
  void on_gap(const Gap& g) override {
    gaps.push_back(g);
    auto& next = g.stream == StreamKind::emg ? emg_next : imu_next.at(g.sensor);
    if (next && *next != g.start_sample) contiguous = false;
    next = g.start_sample + g.count;
  }
  void on_event(const Event&) override {}
};

struct Outcome {
  DeviceModelCounters model;
  std::optional<std::string> protocol_error;
  std::uint64_t emg_blocks = 0;
  std::uint64_t imu_blocks = 0;
  std::vector<Gap> gaps;
  bool contiguous = true;
  std::size_t infos = 0;
};

Outcome feed_in_chunks(const std::vector<std::uint8_t>& bytes, std::size_t chunk) {
  CheckingSink sink;
  DeviceModel model(sink, 100.0);
  protocol::StreamDecoder decoder(
      [&](const protocol::Frame& f, const protocol::Message& m) { model.consume(f, m, 100.0); });
  for (std::size_t at = 0; at < bytes.size(); at += chunk) {
    decoder.feed(std::span(bytes).subspan(at, std::min(chunk, bytes.size() - at)));
  }
  model.finish();
  return {model.counters(), model.protocol_error(), sink.emg_blocks,  sink.imu_blocks,
          sink.gaps,        sink.contiguous,        sink.infos.size()};
}

// Every split gives what the whole stream gives (StreamDecoder's contract, carried through the model).
Outcome feed_every_split(const std::vector<std::uint8_t>& bytes) {
  const Outcome whole = feed_in_chunks(bytes, bytes.size());
  for (std::size_t chunk = 1; chunk <= 64; ++chunk) {
    const Outcome split = feed_in_chunks(bytes, chunk);
    EXPECT_EQ(split.model.frames, whole.model.frames) << "chunk " << chunk;
    EXPECT_EQ(split.model.emg_samples, whole.model.emg_samples) << "chunk " << chunk;
    EXPECT_EQ(split.model.imu_samples, whole.model.imu_samples) << "chunk " << chunk;
    EXPECT_EQ(split.gaps.size(), whole.gaps.size()) << "chunk " << chunk;
    EXPECT_EQ(split.protocol_error, whole.protocol_error) << "chunk " << chunk;
  }
  return whole;
}

// A gap can hold at most what the device could have produced in the time the host saw plus the stated
// slack (DeviceModel::kLossSlackSeconds); here all bytes arrive at one host instant.
void expect_bounded_gaps(const Outcome& o, double rate_hz) {
  for (const Gap& g : o.gaps) {
    EXPECT_LE(static_cast<double>(g.count), rate_hz * DeviceModel::kLossSlackSeconds * 1.01)
        << "gap of " << g.count << " samples at " << g.start_sample;
  }
}

TEST(ReliabilityReproducers, ImuRateOf6e39HzIsRejectedByName) {
  const Outcome o = feed_every_split(reproducer("stream_gap_wrap.bin"));
  EXPECT_EQ(o.infos, 0u);
  EXPECT_EQ(o.model.rejected_device_infos, 1u);
  ASSERT_TRUE(o.protocol_error.has_value());
  EXPECT_NE(o.protocol_error->find("IMU 2 (imu_thigh_R) rate"), std::string::npos) << *o.protocol_error;
  EXPECT_EQ(o.emg_blocks + o.imu_blocks, 0u);
  EXPECT_TRUE(o.gaps.empty());
}

TEST(ReliabilityReproducers, CounterBelowTheRestartAnchorIsNotAGapOf1e19Samples) {
  const Outcome o = feed_every_split(gap_wrap_with_a_valid_imu_rate());
  ASSERT_EQ(o.infos, 1u) << o.protocol_error.value_or("");
  EXPECT_EQ(o.model.device_restarts, 1u);
  EXPECT_TRUE(o.contiguous);
  for (std::size_t i = 0; i < GSP_MAX_IMUS; ++i) {
    EXPECT_LT(o.model.imu_lost_samples[i], 1000000u) << "IMU " << i;
  }
  EXPECT_LT(o.model.emg_lost_samples, 1000000u);
  expect_bounded_gaps(o, 2000.0);
  EXPECT_GT(o.model.duplicate_samples, 0u);  // the samples below the anchor overlap delivered ones
}

void expect_rejected_rate(const std::string& file) {
  const Outcome o = feed_every_split(reproducer(file));
  EXPECT_EQ(o.infos, 0u) << file;
  EXPECT_EQ(o.model.rejected_device_infos, 1u) << file;
  ASSERT_TRUE(o.protocol_error.has_value()) << file;
  EXPECT_NE(o.protocol_error->find("EMG rate"), std::string::npos) << *o.protocol_error;
  EXPECT_EQ(o.emg_blocks, 0u);
  EXPECT_EQ(o.imu_blocks, 0u);
  EXPECT_TRUE(o.gaps.empty());
}

TEST(ReliabilityReproducers, EmgRateZeroIsRejectedByName) {
  expect_rejected_rate("stream_emg_rate0_overlap.bin");
}
TEST(ReliabilityReproducers, EmgRateNanIsRejectedByName) {
  expect_rejected_rate("stream_emg_rate_nan_overlap.bin");
}
TEST(ReliabilityReproducers, EmgRateOf1e30HzIsRejectedByName) {
  expect_rejected_rate("stream_emg_rate_tiny_overlap.bin");
}

// Ranges of DeviceInfoLimits, each named in the one-line reason.
TEST(DeviceInfoLimits, EveryRateCountAndScaleOutsideItsRangeIsNamed) {
  DeviceInfo good;
  good.emg = {{"A", 1000.0, 0.1}};
  good.imu = {ImuInfo{}};
  good.imu[0].label = "imu0";
  EXPECT_FALSE(device_info_problem(good).has_value());
  auto problem = [&](auto change) {
    DeviceInfo d = good;
    change(d);
    return device_info_problem(d).value_or("accepted");
  };
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg_rate_hz = 0.0; }), "EMG rate 0 Hz is outside 1 to 100000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg_rate_hz = 1e-30; }),
            "EMG rate 1e-30 Hz is outside 1 to 100000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg_rate_hz = -1.0; }), "EMG rate -1 Hz is outside 1 to 100000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg_rate_hz = 1e308; }),
            "EMG rate 1e+308 Hz is outside 1 to 100000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg_rate_hz = std::nan(""); }),
            "EMG rate nan Hz is outside 1 to 100000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg.clear(); }), "EMG channel count 0 is outside 1 to 16");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg[0].microvolts_per_count = 0.0; }),
            "EMG channel 0 (A) uV per count 0 is outside 1e-06 to 1e+06");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.emg[0].gain = 0.0; }), "EMG channel 0 (A) gain 0 must be > 0");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.imu[0].rate_hz = 6.6e-39; }),
            "IMU 0 (imu0) rate 6.6e-39 Hz is outside 1 to 32000 Hz");
  EXPECT_EQ(problem([](DeviceInfo& d) { d.imu[0].gyro_dps_per_count = INFINITY; }),
            "IMU 0 (imu0) dps per count inf is outside 0 to 1000");
  EXPECT_EQ(problem([](DeviceInfo& d) {
              d.imu[0].label = "a\x1b[2Jb";
              d.imu[0].accel_range_g = 0;
            }),
            "IMU 0 (a?[2Jb) accel range 0 must be > 0");  // a terminal escape is not passed on
  EXPECT_EQ(problem([](DeviceInfo& d) {
              d.imu[0].has_magnetometer = true;
              d.imu[0].mag_ut_per_count = 0;
            }),
            "IMU 0 (imu0) uT per count 0 must be > 0");
}

// The loss bound: a jump the device could have produced (rate × (host time + slack)) is a gap; a larger
// one is dropped, counted and reported once, and the stream goes on where it was.
TEST(DeviceModelLossBound, AJumpBeyondRateTimesElapsedPlusSlackIsAProtocolErrorNotAGap) {
  CheckingSink sink;
  DeviceModel model(sink, 0.0);
  double now_s = 0.0;
  protocol::StreamDecoder decoder(
      [&](const protocol::Frame& f, const protocol::Message& m) { model.consume(f, m, now_s); });
  DeviceInfo d;
  d.emg_rate_hz = 1000.0;
  d.emg = {{"A", 1000.0, 0.1}};
  std::uint32_t seq = 0;
  auto emg = [&](std::uint32_t first) {
    const std::vector<std::int32_t> counts(10, 1);
    decoder.feed(
        protocol::encode_emg_block({0, seq++, first * 1000ull}, first, 1, SampleFormat::int16, counts));
  };
  decoder.feed(protocol::encode_device_info({0, seq++, 0}, d));
  emg(0);
  now_s = 10.0;  // 10 s later the device may have lost up to 1000 Hz × (10 + 60) s × 1.01 = 70700 samples
  emg(10 + 70000);
  ASSERT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(sink.gaps[0].count, 70000u);
  EXPECT_FALSE(model.protocol_error().has_value());
  emg(70020 + 1000);  // 71000 lost in all: more than 70700
  EXPECT_EQ(sink.gaps.size(), 1u);
  EXPECT_EQ(model.counters().implausible_jumps, 1u);
  ASSERT_TRUE(model.protocol_error().has_value());
  EXPECT_NE(model.protocol_error()->find("EMG sample counter jumped ahead by 1000 samples"),
            std::string::npos)
      << *model.protocol_error();
  emg(70020);  // the stream itself continues, contiguous
  EXPECT_EQ(sink.emg_blocks, 3u);
  EXPECT_TRUE(sink.contiguous);
}

}  // namespace
}  // namespace glutescope::devices
