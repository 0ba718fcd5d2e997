// The Trigno stream decoder with float32 samples written here: every value stored as its exact count,
// any chunking of either stream gives the same output, a disconnect cutting a sample counts its bytes,
// values no sensor gives are counted (and stored clipped), loss is reported undetectable, and the driver
// learns the rates and paired sensors from the base's replies (and refuses anything else in one line).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "devices/trigno_device.hpp"
#include "recording_sink.hpp"

namespace glutescope::devices {
namespace {

using Bytes = std::vector<std::uint8_t>;

struct Streams {
  std::vector<std::int32_t> emg;  // [n x 16]
  std::vector<std::int16_t> acc;  // [m x 48]
  Bytes emg_wire, acc_wire;
};

Streams make_streams(std::size_t n, std::size_t m, std::uint32_t seed) {
  std::mt19937 rng(seed);
  Streams s;
  std::uint8_t w[4];
  for (std::size_t i = 0; i < n * 16; ++i) {
    const auto c = static_cast<std::int32_t>(static_cast<std::int64_t>(rng() % 2200001) - 1100000);  // ±11 mV
    s.emg.push_back(c);
    trigno::write_float_le(static_cast<float>(c * 1e-8), w);
    s.emg_wire.insert(s.emg_wire.end(), w, w + 4);
  }
  for (std::size_t i = 0; i < m * 48; ++i) {
    const auto c = static_cast<std::int16_t>(static_cast<int>(rng() % 65536) - 32768);
    s.acc.push_back(c);
    trigno::write_float_le(static_cast<float>(c / 2048.0), w);
    s.acc_wire.insert(s.acc_wire.end(), w, w + 4);
  }
  return s;
}

struct Decoded {
  test::RecordingSink sink;
  std::shared_ptr<TrignoBaseState> base = std::make_shared<TrignoBaseState>();
  TrignoDecoder decoder{sink, 0.0, base};
  void feed(const Streams& s, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::size_t e = 0, a = 0;
    double t = 1.0;
    while (e < s.emg_wire.size() || a < s.acc_wire.size()) {
      const std::size_t ne = std::min<std::size_t>(1 + rng() % 300, s.emg_wire.size() - e);
      decoder.feed(1, {s.emg_wire.data() + e, ne}, t);
      e += ne;
      const std::size_t na = std::min<std::size_t>(1 + rng() % 500, s.acc_wire.size() - a);
      decoder.feed(2, {s.acc_wire.data() + a, na}, t);
      a += na;
      t += 1e-4;
    }
  }
};

TEST(TrignoDecoder, EveryValueIsStoredAsItsCountWhateverTheChunks) {
  const Streams s = make_streams(520, 40, 1);
  for (std::uint32_t seed : {1U, 2U, 3U}) {
    Decoded d;
    d.feed(s, seed);
    d.decoder.finish();
    ASSERT_TRUE(d.sink.info);
    EXPECT_EQ(d.sink.info->emg.size(), 16U);
    EXPECT_EQ(d.sink.info->imu.size(), 16U);
    EXPECT_NEAR(d.sink.info->emg_rate_hz, 1925.926, 1e-3);
    EXPECT_NEAR(d.sink.info->imu[0].rate_hz, 148.148, 1e-3);
    ASSERT_EQ(d.sink.emg.size(), 520U);
    for (std::size_t k = 0; k < 520; ++k)
      for (std::size_t c = 0; c < 16; ++c) ASSERT_EQ(d.sink.emg.at(k)[c], s.emg[k * 16 + c]);
    for (std::size_t sensor = 0; sensor < 16; ++sensor) {
      ASSERT_EQ(d.sink.accel[sensor].size(), 40U);
      for (std::size_t k = 0; k < 40; ++k)
        for (std::size_t a = 0; a < 3; ++a)
          ASSERT_EQ(d.sink.accel[sensor].at(k)[a], s.acc[k * 48 + sensor * 3 + a]);
    }
    const DecoderCounters c = d.decoder.counters();
    EXPECT_EQ(c.loss_detection, LossDetection::none);
    EXPECT_FALSE(c.loss_detectable());
    EXPECT_EQ(c.emg_samples, 520U);
    EXPECT_EQ(c.garbage_bytes, 0U);
    EXPECT_TRUE(d.sink.gaps.empty());
    EXPECT_EQ(d.decoder.byte_counts().data[0], 520U * 64U);
    EXPECT_EQ(d.decoder.byte_counts().data[1], 40U * 192U);
  }
}

TEST(TrignoDecoder, ADisconnectInsideASampleCountsItsBytesAndTheGapIsEstimated) {
  const Streams s = make_streams(100, 8, 2);
  Decoded d;
  d.decoder.feed(1, {s.emg_wire.data(), 50 * 64 + 10}, 1.0);  // the link drops 10 bytes into sample 50
  d.decoder.reset();
  EXPECT_EQ(d.decoder.counters().garbage_bytes, 10U);
  EXPECT_EQ(d.decoder.byte_counts().cut_bytes[0], 10U);
  // 1 s later the base streams again: 26 samples arrive; about 1926 − 26 were produced meanwhile.
  d.decoder.feed(1, {s.emg_wire.data(), 26 * 64}, 2.0);
  d.decoder.finish();
  ASSERT_EQ(d.sink.gaps.size(), 1U);
  EXPECT_EQ(d.sink.gaps[0].start_sample, 50U);
  EXPECT_EQ(d.sink.gaps[0].count, 1900U);  // round(1 s x 1925.926 Hz − 26)
  EXPECT_EQ(d.sink.emg.size(), 76U);
  bool noted = false;
  for (const Event& e : d.sink.events)
    noted |= e.text.find("estimated from the host clock") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(TrignoDecoder, ValuesNoSensorGivesAreCountedAndClipped) {
  Streams s = make_streams(3, 0, 3);
  trigno::write_float_le(std::numeric_limits<float>::quiet_NaN(),
                         s.emg_wire.data() + 64 + 8);      // sample 1, ch 2
  trigno::write_float_le(1e30F, s.emg_wire.data() + 128);  // sample 2, ch 0
  Decoded d;
  d.decoder.feed(1, s.emg_wire, 1.0);
  d.decoder.finish();
  EXPECT_EQ(d.decoder.byte_counts().bad_samples[0], 2U);
  EXPECT_EQ(d.decoder.counters().other_bad_packets, 2U);
  EXPECT_EQ(d.sink.emg.at(1)[2], 0);
  EXPECT_EQ(d.sink.emg.at(2)[0], std::numeric_limits<std::int32_t>::max());
  EXPECT_EQ(d.sink.emg.at(0)[0], s.emg[0]);
  std::string last;
  for (const Event& e : d.sink.events) last = e.text;
  EXPECT_NE(last.find("EMG 192 bytes = 3 samples of 64 bytes"), std::string::npos) << last;
  EXPECT_NE(last.find("2 + 0 samples with values no sensor gives"), std::string::npos) << last;
  EXPECT_NE(last.find("lost samples undetectable"), std::string::npos) << last;
}

TEST(TrignoDriver, LearnsTheBaseAndRefusesOtherReplies) {
  TrignoDriver driver;
  auto steps = driver.connect_steps();
  ASSERT_EQ(steps.size(), 5U + 16U);
  EXPECT_TRUE(steps[0].bytes.empty());  // the greeting comes unasked
  EXPECT_EQ(std::string(steps[1].bytes.begin(), steps[1].bytes.end()), "ENDIANNESS?\r\n\r\n");
  driver.check_reply(steps[0], "Delsys Trigno System Digital Protocol Version 3.6.0 \r\n\r\n");
  driver.check_reply(steps[1], "LITTLE\r\n\r\n");
  driver.check_reply(steps[2], "0.0135\r\n\r\n");
  driver.check_reply(steps[3], "27\r\n\r\n");  // UPSAMPLE ON: 2000 Hz
  driver.check_reply(steps[4], "2\r\n\r\n");
  driver.check_reply(steps[5], "YES\r\n\r\n");
  driver.check_reply(steps[6], "NO\r\n\r\n");
  EXPECT_THROW(driver.check_reply(steps[1], "BIG\r\n\r\n"), DeviceReplyError);
  EXPECT_THROW(driver.check_reply(steps[2], "INVALID COMMAND\r\n\r\n"), DeviceReplyError);
  EXPECT_THROW(driver.check_reply(steps[3], "26.5\r\n\r\n"), DeviceReplyError);
  EXPECT_THROW(driver.check_reply(steps[5], "MAYBE\r\n\r\n"), DeviceReplyError);
  const auto start = driver.start_steps();
  try {
    driver.check_reply(start.at(0), "CANNOT COMPLETE\r\n\r\n");
    FAIL();
  } catch (const DeviceReplyError& e) {
    EXPECT_STREQ(e.what(), "trigno: START answered 'CANNOT COMPLETE', expected 'OK'");
  }
  test::RecordingSink sink;
  auto decoder = driver.make_decoder(sink, 0.0);
  const Streams s = make_streams(1, 0, 4);
  decoder->feed(1, s.emg_wire, 1.0);
  ASSERT_TRUE(sink.info);
  EXPECT_DOUBLE_EQ(sink.info->emg_rate_hz, 27 / 0.0135);
  EXPECT_EQ(sink.info->firmware_version, "SDK protocol 3.6.0");
  EXPECT_NE(sink.events.at(0).text.find("paired sensors: 1)"), std::string::npos) << sink.events.at(0).text;
}

}  // namespace
}  // namespace glutescope::devices
