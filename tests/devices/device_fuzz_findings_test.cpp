// Regressions for the findings of the device-decoder fuzz harnesses (tests/fuzz/{cyton,bitalino,trigno}
// _fuzzer.cpp; docs/RELIABILITY.md "Findings and fixes"). Each fails before its fix. Expected values are
// derived here from the rules the comments state, not taken from the decoders' output.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "capture_sink.hpp"
#include "core/device_info.hpp"
#include "devices/bitalino_device.hpp"
#include "devices/cyton_device.hpp"
#include "devices/trigno_device.hpp"

namespace glutescope::devices {
namespace {

// cyton, bitalino, trigno: the DeviceInfo of every third-party decoder was refused by device_info_problem,
// the check the harnesses (and every importer) apply: an accelerometer-only sensor's gyroscope (range and
// scale 0) was "gyro range 0 must be > 0", and a Trigno's 16 sensors were "IMU count 16 is outside 0 to 4".
TEST(DeviceFuzzFindings, EveryThirdPartyDeviceInfoPassesTheLimits) {
  for (const bool daisy : {false, true}) {
    CytonBoardState state;
    state.daisy = daisy;
    state.gains.assign(daisy ? 16 : 8, 24);
    EXPECT_EQ(device_info_problem(cyton_device_info(state)).value_or("accepted"), "accepted");
  }
  test::CaptureSink sink;
  const BitalinoDecoder bitalino(sink, 0.0, BitalinoSettings{}, nullptr);
  EXPECT_EQ(device_info_problem(bitalino.device_info()).value_or("accepted"), "accepted");

  TrignoDecoder trigno(sink, 0.0, std::make_shared<TrignoBaseState>());
  const std::vector<std::uint8_t> zero_sample(trigno::kEmgSampleBytes, 0);  // 16 × float32 0 V
  trigno.feed(1, zero_sample, 1.0);
  ASSERT_TRUE(sink.info.has_value());
  EXPECT_EQ(sink.info->imu.size(), 16U);
  EXPECT_EQ(device_info_problem(*sink.info).value_or("accepted"), "accepted");
}

// The absent gyroscope is exactly range and scale both 0: one of them alone is still refused by name,
// and a 17th motion sensor is beyond the largest device (a Trigno base's 16).
TEST(DeviceFuzzFindings, AHalfStatedGyroscopeAndSeventeenSensorsAreStillRefused) {
  DeviceInfo info;
  info.emg = {{"A", 1.0, 0.01}};
  ImuInfo imu;
  imu.label = "x";
  imu.gyro_range_dps = 0.0;  // scale left at its default 2000/32768 °/s
  info.imu = {imu};
  EXPECT_EQ(device_info_problem(info).value_or("accepted"), "IMU 0 (x) gyro range 0 must be > 0");
  info.imu[0].gyro_range_dps = 2000.0;
  info.imu[0].gyro_dps_per_count = 0.0;
  EXPECT_EQ(device_info_problem(info).value_or("accepted"), "IMU 0 (x) dps per count 0 must be > 0");
  info.imu[0].gyro_range_dps = 0.0;
  EXPECT_EQ(device_info_problem(info).value_or("accepted"), "accepted");
  info.imu.assign(17, info.imu[0]);
  EXPECT_EQ(device_info_problem(info).value_or("accepted"), "IMU count 17 is outside 0 to 16");
}

// trigno: the samples missed over a reconnect were estimated as (time away) × rate − the samples in the
// first read after it, so the same bytes arriving at the same host time in one read or in several gave
// different gaps (the harness's chunking invariant). Now every sample arriving at the first host time
// counts, however the reads cut them.
TEST(DeviceFuzzFindings, TrignoReconnectGapDoesNotDependOnHowTheReadsWereCut) {
  const std::vector<std::uint8_t> ten(10 * trigno::kEmgSampleBytes, 0);  // ten samples of 0 V
  const double rate_hz = 26.0 / 0.0135;                                  // SDK defaults (MAN-025 §6.2)
  // Last arrival before the loss at 10.0 s, first after it at 11.0 s with ten samples: 1 s × rate − 10.
  const auto expected = static_cast<std::uint64_t>(std::llround(1.0 * rate_hz - 10.0));
  ASSERT_EQ(expected, 1916U);
  for (const std::size_t read : {ten.size(), trigno::kEmgSampleBytes, std::size_t{7}}) {
    test::CaptureSink sink;
    TrignoDecoder decoder(sink, 0.0, std::make_shared<TrignoBaseState>());
    decoder.feed(1, ten, 10.0);
    decoder.reset();
    for (std::size_t at = 0; at < ten.size(); at += read)
      decoder.feed(1, std::span(ten).subspan(at, std::min(read, ten.size() - at)), 11.0);
    decoder.feed(1, std::span(ten).first(5 * trigno::kEmgSampleBytes), 11.01);  // later: not subtracted
    decoder.finish();
    SCOPED_TRACE(read);
    ASSERT_EQ(sink.gaps.size(), 1U);
    EXPECT_EQ(sink.gaps[0].start_sample, 10U);
    EXPECT_EQ(sink.gaps[0].count, expected);
    ASSERT_EQ(sink.emg_index.size(), 25U);
    EXPECT_EQ(sink.emg_index[10], 10U + expected);  // the first sample after the gap
    EXPECT_EQ(sink.emg_index.back(), 24U + expected);
    EXPECT_EQ(decoder.counters().emg_lost_samples, expected);
  }
}

// trigno: the base's FRAME INTERVAL? and MAX SAMPLES replies were taken as long as the interval was
// between 0 and 1 s and the counts 1 to 1000, so "0.0000001" made a 2.6e8 Hz EMG stream (26 samples per
// 1e-7 s) whose DeviceInfo no session can hold. Now a reply giving a rate outside DeviceInfoLimits is
// refused in one line; the real bases' replies are still taken.
TEST(DeviceFuzzFindings, TrignoRefusesRepliesGivingRatesNoSessionCanHold) {
  const auto step_named = [](TrignoDriver& driver, const std::string& what) {
    for (const CommandStep& s : driver.connect_steps())
      if (s.what == what) return s;
    throw std::logic_error("no step " + what);
  };
  const auto refused = [&](const std::string& what, const std::string& reply) {
    TrignoDriver driver;
    try {
      driver.check_reply(step_named(driver, what), reply + "\r\n\r\n");
    } catch (const DeviceReplyError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  // 26 / 1e-7 s = 2.6e8 Hz EMG and 2 / 1e-7 s = 2e7 Hz accelerometer.
  EXPECT_EQ(refused("FRAME INTERVAL?", "0.0000001"),
            "trigno: FRAME INTERVAL? answered '0.0000001', expected a frame interval and samples per frame "
            "giving 1 to 100000 Hz EMG and 1 to 32000 Hz accelerometer (these give 2.6e+08 and 2e+07 Hz)");
  // 1000 accelerometer samples per 13.5 ms frame: 74 074 Hz, beyond an IMU's 32 kHz.
  EXPECT_NE(refused("MAX SAMPLES AUX?", "1000"), "accepted");
  // The SDK's own values (MAN-025 §6.2), with and without upsampling.
  EXPECT_EQ(refused("FRAME INTERVAL?", "0.0135"), "accepted");
  EXPECT_EQ(refused("MAX SAMPLES EMG?", "27"), "accepted");
  EXPECT_EQ(refused("MAX SAMPLES AUX?", "2"), "accepted");
}

// bitalino: the "not a BITalino" stream error was judged after each read and named the bytes read so far,
// so 3000 bad bytes in one read said "3000 bytes" and in small reads "2048 bytes" (the harness's chunking
// invariant). Now it is judged at exactly the 2048th serial byte.
TEST(DeviceFuzzFindings, BitalinoStreamErrorDoesNotDependOnHowTheReadsWereCut) {
  // All-zero bytes: every window has sequence number 0, and a frame is only taken when the two windows
  // after it count on (0, 1, 2 ...), so none is ever taken.
  const std::vector<std::uint8_t> zeros(3000, 0);
  for (const std::size_t read : {zeros.size(), std::size_t{1}, std::size_t{1000}}) {
    test::CaptureSink sink;
    BitalinoDecoder decoder(sink, 0.0, BitalinoSettings{}, nullptr);  // A1-A5: 8-byte frames
    for (std::size_t at = 0; at < zeros.size(); at += read)
      decoder.feed(0, std::span(zeros).subspan(at, std::min(read, zeros.size() - at)), 1.0);
    SCOPED_TRACE(read);
    ASSERT_TRUE(decoder.stream_error().has_value());
    EXPECT_EQ(
        decoder.stream_error()->rfind("bitalino: 2048 bytes without one valid frame; expected 8-byte", 0), 0U)
        << *decoder.stream_error();
  }
}

}  // namespace
}  // namespace glutescope::devices
