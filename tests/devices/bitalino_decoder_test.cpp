// The BITalino stream decoder with frames built by the codec (itself checked against hand-derived
// vectors in bitalino_codec_test.cpp): exact samples and values, any chunking gives the same output,
// sequence gaps become exact gaps (and a 16-frame loss hides, as the docs say), every single-bit flip
// and every truncation of a frame costs exactly that frame, garbage resynchronises, a reconnect gives
// one estimated gap, and a stream of the wrong frame size is one clear error.
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "devices/bitalino_device.hpp"
#include "recording_sink.hpp"

namespace glutescope::devices {
namespace {

using Bytes = std::vector<std::uint8_t>;
using bitalino::Frame;

// The default settings: A1-A4 EMG, A5 accelerometer (5 channels, 8-byte frames, A5 at 6 bits).
struct Stream {
  std::vector<Frame> frames;  // what the device produced, frame k = sample k
  std::vector<Bytes> wire;    // per frame
};

Stream make_stream(std::size_t count, std::uint32_t seed, std::size_t channels = 5) {
  std::mt19937 rng(seed);
  Stream s;
  for (std::size_t k = 0; k < count; ++k) {
    Frame f;
    f.sequence = static_cast<std::uint8_t>(k & 15);
    f.digital = 0x0C;  // I1, I2 pulled up (firmware main.c)
    for (std::size_t p = 0; p < channels; ++p)
      f.analog[p] = static_cast<std::uint16_t>(rng() & (p < 4 ? 0x3FF : 0x3F));
    Bytes w(bitalino::frame_size(channels));
    bitalino::pack(f, channels, w);
    s.frames.push_back(f);
    s.wire.push_back(w);
  }
  return s;
}

Bytes concat(const Stream& s, const std::set<std::size_t>& skip = {}) {
  Bytes out;
  for (std::size_t k = 0; k < s.wire.size(); ++k)
    if (!skip.count(k)) out.insert(out.end(), s.wire[k].begin(), s.wire[k].end());
  return out;
}

struct Decoded {
  test::RecordingSink sink;
  std::unique_ptr<BitalinoDecoder> decoder;
  Decoded()
      : decoder(std::make_unique<BitalinoDecoder>(sink, 0.0, BitalinoSettings{},
                                                  std::make_shared<const std::string>("BITalino_v5.1"))) {}
  void feed(const Bytes& bytes, std::size_t chunk = 0, std::uint32_t seed = 1) {
    std::mt19937 rng(seed);
    std::size_t i = 0;
    while (i < bytes.size()) {
      const std::size_t n = chunk > 0 ? chunk : 1 + rng() % 37;
      const std::size_t take = std::min(n, bytes.size() - i);
      decoder->feed(0, {bytes.data() + i, take}, 1.0 + static_cast<double>(i) * 1e-5);
      i += take;
    }
    decoder->finish();
  }
};

// Every sample the sink holds equals the frame at that index (EMG A1-A4 and the accelerometer on A5).
void expect_values_match(const Decoded& r, const Stream& s) {
  const bitalino::AccCalibration cal;
  for (const auto& [index, row] : r.sink.emg) {
    ASSERT_LT(index, s.frames.size());
    const Frame& f = s.frames[index];
    ASSERT_EQ(row.size(), 4U);
    for (std::size_t c = 0; c < 4; ++c) EXPECT_EQ(row[c], bitalino::emg_count(f.analog[c], 10)) << index;
    const auto& acc = r.sink.accel[0].at(index);
    EXPECT_EQ(acc[0], bitalino::acc_count(f.analog[4], 6, cal)) << index;
    EXPECT_EQ(acc[1], 0);
    EXPECT_EQ(acc[2], 0);
  }
}

TEST(BitalinoDecoder, CleanStreamDeliversEverySampleOnce) {
  const Stream s = make_stream(1000, 1);
  Decoded r;
  r.feed(concat(s));
  const DecoderCounters c = r.decoder->counters();
  EXPECT_EQ(c.packets, 1000U);
  EXPECT_EQ(c.emg_samples, 1000U);
  EXPECT_EQ(c.imu_samples[0], 1000U);
  EXPECT_EQ(c.garbage_bytes, 0U);
  EXPECT_EQ(c.lost_packets, 0U);
  EXPECT_EQ(c.loss_detection, LossDetection::counter_wraps);
  EXPECT_TRUE(r.sink.gaps.empty());
  EXPECT_EQ(r.sink.emg.size(), 1000U);
  EXPECT_EQ(r.sink.duplicate_rows, 0U);
  ASSERT_TRUE(r.sink.info);
  EXPECT_EQ(r.sink.info_calls, 1);
  EXPECT_EQ(r.sink.info->emg.size(), 4U);
  EXPECT_EQ(r.sink.info->emg[0].label, "A1");
  EXPECT_DOUBLE_EQ(r.sink.info->emg_rate_hz, 1000.0);
  ASSERT_EQ(r.sink.info->imu.size(), 1U);
  EXPECT_DOUBLE_EQ(r.sink.info->imu[0].accel_g_per_count, 1.0 / 104.0);
  EXPECT_EQ(r.sink.info->firmware_version, "BITalino_v5.1");
  expect_values_match(r, s);
  EXPECT_FALSE(r.decoder->stream_error());
}

TEST(BitalinoDecoder, AnyChunkingGivesTheSameOutput) {
  const Stream s = make_stream(600, 2);
  Bytes bytes = concat(s, {100, 101, 102, 350});
  bytes.insert(bytes.begin() + 2000, {0x13, 0x77, 0xFE});
  Decoded whole;
  whole.feed(bytes, bytes.size());
  for (std::size_t chunk : {1U, 2U, 7U, 8U, 64U}) {
    Decoded r;
    r.feed(bytes, chunk);
    EXPECT_EQ(r.sink.emg, whole.sink.emg) << chunk;
    EXPECT_EQ(r.sink.accel[0], whole.sink.accel[0]) << chunk;
    EXPECT_EQ(r.sink.gaps.size(), whole.sink.gaps.size()) << chunk;
    EXPECT_EQ(r.decoder->counters().garbage_bytes, whole.decoder->counters().garbage_bytes);
    EXPECT_EQ(r.decoder->counters().lost_packets, whole.decoder->counters().lost_packets);
  }
  for (std::uint32_t seed = 1; seed <= 5; ++seed) {
    Decoded r;
    r.feed(bytes, 0, seed);
    EXPECT_EQ(r.sink.emg, whole.sink.emg) << seed;
  }
}

TEST(BitalinoDecoder, SequenceJumpsBecomeExactGaps) {
  const Stream s = make_stream(400, 3);
  // Lost: frame 50 (1), frames 120..134 (15, the most a 4-bit counter can count).
  std::set<std::size_t> lost = {50};
  for (std::size_t k = 120; k <= 134; ++k) lost.insert(k);
  Decoded r;
  r.feed(concat(s, lost));
  const DecoderCounters c = r.decoder->counters();
  EXPECT_EQ(c.lost_packets, 16U);
  EXPECT_EQ(c.emg_lost_samples, 16U);
  EXPECT_EQ(c.imu_lost_samples[0], 16U);
  ASSERT_EQ(r.sink.gaps.size(), 4U);  // one EMG and one motion gap per loss
  EXPECT_EQ(r.sink.gaps[0].start_sample, 50U);
  EXPECT_EQ(r.sink.gaps[0].count, 1U);
  EXPECT_EQ(r.sink.gaps[2].start_sample, 120U);
  EXPECT_EQ(r.sink.gaps[2].count, 15U);
  EXPECT_EQ(r.sink.emg.size(), 400U - 16U);
  for (std::size_t k : lost) EXPECT_FALSE(r.sink.emg.count(k)) << k;
  expect_values_match(r, s);
}

TEST(BitalinoDecoder, ALossOfSixteenFramesIsHiddenByTheFourBitCounter) {
  // Documented limitation (docs/DEVICES.md): 16 lost frames look like none, 17 like one.
  const Stream s = make_stream(200, 4);
  std::set<std::size_t> lost16, lost17;
  for (std::size_t k = 60; k < 76; ++k) lost16.insert(k);
  lost17 = lost16;
  lost17.insert(76);
  Decoded r16;
  r16.feed(concat(s, lost16));
  EXPECT_EQ(r16.decoder->counters().lost_packets, 0U);
  EXPECT_EQ(r16.sink.emg.size(), 184U);
  Decoded r17;
  r17.feed(concat(s, lost17));
  EXPECT_EQ(r17.decoder->counters().lost_packets, 1U);
}

TEST(BitalinoDecoder, EverySingleBitFlipCostsExactlyThatFrame) {
  const Stream s = make_stream(40, 5);
  const std::size_t victim = 20;
  for (std::size_t bit = 0; bit < 8 * 8; ++bit) {
    Bytes bytes = concat(s);
    bytes[victim * 8 + bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    Decoded r;
    r.feed(bytes);
    const DecoderCounters c = r.decoder->counters();
    EXPECT_EQ(c.packets, 39U) << bit;
    EXPECT_EQ(c.lost_packets, 1U) << bit;
    EXPECT_EQ(c.garbage_bytes, 8U) << bit;
    EXPECT_EQ(c.crc_failures, 1U) << bit;
    ASSERT_FALSE(r.sink.emg.count(victim)) << bit;
    EXPECT_EQ(r.sink.emg.size(), 39U);
    expect_values_match(r, s);
  }
}

// Cutting bytes out of a frame costs that frame and never shifts the others. The window left at the
// cut frame's slot (its remaining bytes and the next frame's first ones) passes a 4-bit CRC and carries
// the expected 4-bit sequence number by chance 1 time in 256: then that slot holds one sample of wrong
// values (docs/DEVICES.md). The exhaustive cuts below must all be exact outside the victim's slot; the
// chance rate is measured over random cuts against the 2^-8 the protocol's 8 check bits allow.
TEST(BitalinoDecoder, EveryTruncationCostsThatFrameAndShiftsNothing) {
  const Stream s = make_stream(40, 6);
  const std::size_t victim = 17;
  for (std::size_t keep = 0; keep < 8; ++keep) {
    for (std::size_t at = 0; at + (8 - keep) <= 8; ++at) {
      Bytes bytes = concat(s);
      bytes.erase(bytes.begin() + static_cast<long>(victim * 8 + at),
                  bytes.begin() + static_cast<long>(victim * 8 + at + (8 - keep)));
      Decoded r;
      r.feed(bytes);
      const bool chance_pass = r.sink.emg.count(victim) == 1;
      // By chance the false window took the first bytes of the next frame, which is then the one lost.
      EXPECT_EQ(r.sink.emg.size(), 39U) << keep << " " << at;
      for (const auto& [index, row] : r.sink.emg) {
        if (index == victim) continue;
        for (std::size_t c = 0; c < 4; ++c)
          ASSERT_EQ(row[c], bitalino::emg_count(s.frames[index].analog[c], 10));
      }
      if (!chance_pass) {
        EXPECT_EQ(r.decoder->counters().lost_packets, 1U) << keep << " " << at;
        EXPECT_EQ(r.decoder->counters().garbage_bytes, keep) << keep << " " << at;
      }
    }
  }
}

TEST(BitalinoDecoder, ChanceAcceptanceAfterACutIsAboutOneIn256) {
  std::mt19937 rng(99);
  int trials = 0, wrong = 0, shifted = 0;
  for (int t = 0; t < 3000; ++t) {
    const Stream s = make_stream(12, static_cast<std::uint32_t>(1000 + t));
    Bytes bytes = concat(s);
    const std::size_t cut = 1 + rng() % 7;
    bytes.erase(bytes.begin() + 5 * 8, bytes.begin() + static_cast<long>(5 * 8 + cut));
    Decoded r;
    r.feed(bytes, bytes.size());
    ++trials;
    for (const auto& [index, row] : r.sink.emg) {
      const bool same = row[0] == bitalino::emg_count(s.frames[index].analog[0], 10) &&
                        row[1] == bitalino::emg_count(s.frames[index].analog[1], 10);
      if (!same) (index == 5 ? wrong : shifted) += 1;
    }
  }
  EXPECT_EQ(shifted, 0);
  // 8 check bits: expected 3000 / 256 ≈ 12; the bound is twice that.
  EXPECT_LE(wrong, 2 * trials / 256) << wrong << " of " << trials;
  RecordProperty("chance_acceptances", wrong);
}

TEST(BitalinoDecoder, GarbageResynchronisesAndIsCounted) {
  const Stream s = make_stream(3000, 7);
  std::mt19937 rng(8);
  Bytes bytes;
  std::uint64_t inserted = 0;
  for (std::size_t k = 0; k < s.wire.size(); ++k) {
    if (k % 100 == 50) {
      const std::size_t n = 1 + rng() % 40;
      for (std::size_t i = 0; i < n; ++i) bytes.push_back(static_cast<std::uint8_t>(rng()));
      inserted += n;
    }
    bytes.insert(bytes.end(), s.wire[k].begin(), s.wire[k].end());
  }
  Decoded r;
  r.feed(bytes);
  const DecoderCounters c = r.decoder->counters();
  // Every frame comes through at its own index with its own values; the garbage is counted exactly.
  EXPECT_EQ(c.packets, 3000U);
  EXPECT_EQ(c.lost_packets, 0U);
  EXPECT_EQ(c.garbage_bytes, inserted);
  EXPECT_EQ(r.sink.emg.size(), 3000U);
  expect_values_match(r, s);
}

TEST(BitalinoDecoder, ReconnectGivesOneEstimatedGapAndCountsThePartialFrame) {
  const Stream a = make_stream(100, 9);
  Decoded r;
  Bytes first = concat(a);
  first.resize(first.size() - 3);  // the link drops inside frame 99
  r.decoder->feed(0, first, 10.0);
  r.decoder->reset();
  EXPECT_EQ(r.decoder->counters().garbage_bytes, 5U);
  const Stream b = make_stream(50, 10);  // the device restarts at sequence 0
  r.decoder->feed(0, concat(b), 10.5);   // 0.5 s later at 1000 Hz: 499 samples missed
  r.decoder->finish();
  ASSERT_EQ(r.sink.gaps.size(), 2U);
  EXPECT_EQ(r.sink.gaps[0].start_sample, 99U);
  EXPECT_EQ(r.sink.gaps[0].count, 499U);
  EXPECT_EQ(r.sink.emg.size(), 149U);
  EXPECT_EQ(r.sink.emg.begin()->first, 0U);
  EXPECT_EQ(r.sink.emg.rbegin()->first, 99U + 499U + 49U);
  EXPECT_EQ(r.sink.info_calls, 1);
  bool noted = false;
  for (const Event& e : r.sink.events)
    noted |= e.text.find("estimated from the host clock") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(BitalinoDecoder, DigitalInputChangesAreMarkers) {
  Stream s = make_stream(30, 11);
  s.frames[10].digital = 0x04;  // I1 pressed low
  s.frames[11].digital = 0x04;
  for (std::size_t k : {10U, 11U}) bitalino::pack(s.frames[k], 5, s.wire[k]);
  Decoded r;
  r.feed(concat(s));
  std::vector<std::string> markers;
  for (const Event& e : r.sink.events)
    if (e.kind == EventKind::marker) markers.push_back(e.text);
  ASSERT_EQ(markers.size(), 2U);
  EXPECT_NE(markers[0].find("I1 low at sample 10"), std::string::npos) << markers[0];
  EXPECT_NE(markers[1].find("I1 high at sample 12"), std::string::npos) << markers[1];
}

TEST(BitalinoDecoder, WrongFrameSizeIsOneErrorNamingTheDevice) {
  const Stream s = make_stream(800, 12, 2);  // a 2-channel device: 4-byte frames
  Decoded r;
  r.feed(concat(s));
  const auto error = r.decoder->stream_error();
  ASSERT_TRUE(error);
  EXPECT_EQ(error->rfind("bitalino:", 0), 0U) << *error;
  EXPECT_NE(error->find("8-byte frames"), std::string::npos) << *error;
  EXPECT_LE(error->size(), 200U);
}

TEST(BitalinoDriver, StepsAndVersionCheck) {
  BitalinoDriver driver;
  const auto steps = driver.connect_steps();
  ASSERT_EQ(steps.size(), 3U);
  EXPECT_EQ(steps[0].bytes, Bytes{0xFF});
  EXPECT_EQ(steps[1].bytes, Bytes{0x07});
  EXPECT_EQ(steps[1].reply_until, "\n");
  EXPECT_EQ(steps[2].bytes, Bytes{0xC3});
  EXPECT_EQ(driver.start_steps().at(0).bytes, Bytes{0x7D});  // A1-A5: 0b011111 << 2 | 1
  EXPECT_EQ(driver.stop_steps().at(0).bytes, Bytes{0xFF});
  EXPECT_NO_THROW(driver.check_reply(steps[1], "BITalino_v5.1\n"));
  try {
    driver.check_reply(steps[1], "BITalino_v4.2\n");
    FAIL();
  } catch (const DeviceReplyError& e) {
    EXPECT_NE(std::string(e.what()).find("expected 'BITalino_v5.x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("BITalino_v4.2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(driver.check_reply(steps[1], "hello\n"), DeviceReplyError);
  BitalinoSettings bad;
  bad.rate_hz = 500;
  EXPECT_THROW(BitalinoDriver{bad}, std::invalid_argument);
}

}  // namespace
}  // namespace glutescope::devices
