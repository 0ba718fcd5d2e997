// Golden vectors for the OpenBCI Cyton decoder, derived by hand from OpenBCI's own documentation:
//  [DF] docs.openbci.com "Cyton Data Format" (OpenBCI/Documentation
//  website/docs/Cyton/03-Cyton_Data_Format.md):
//       §Binary Format (byte table, footer table), §24-Bit Signed Data Values (interpret24bitAsInt32),
//       §16-Bit Signed Data Values, §Interpreting the EEG Data (0.02235 uV/count at gain 24, the scale
//       equation, accelerometer 0.002 / 2^4 g), §16 Channel Data with Daisy Module (odd/even table).
//  [SDK] docs.openbci.com "Cyton Board SDK" (04-OpenBCI_Cyton_SDK.md): §Channel Setting Commands,
//       §Miscellaneous (v reply), §16 Channel Commands (C replies).
// Every expected number below is written out by hand from those sections, not taken from the decoder.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <memory>
#include <vector>

#include "devices/capture_sink.hpp"
#include "devices/cyton_device.hpp"
#include "devices/device_registry.hpp"

namespace glutescope {
namespace {

using devices::CytonBoardState;
using devices::CytonDecoder;
using test::CaptureSink;

// [DF] §Binary Format: byte 1 0xA0, byte 2 sample number, bytes 3-26 eight 24-bit MSB-first channels,
// bytes 27-32 aux (footer 0xC0: AX1 AX0 AY1 AY0 AZ1 AZ0), byte 33 footer.
const std::array<std::uint8_t, 33> kPacket = {
    0xA0, 0x05,        // header, sample number 5
    0x00, 0x00, 0x01,  // ch1 = 1
    0xFF, 0xFF, 0xFF,  // ch2 = -1 (sign bit 0x800000 set: | 0xFF000000)
    0x7F, 0xFF, 0xFF,  // ch3 = 8388607 = 2^23 - 1, the largest
    0x80, 0x00, 0x00,  // ch4 = -8388608 = -2^23, the smallest
    0x12, 0x34, 0x56,  // ch5 = 0x123456 = 1193046
    0xED, 0xCB, 0xAA,  // ch6 = 0xEDCBAA - 2^24 = -1193046
    0x00, 0x10, 0x00,  // ch7 = 4096
    0xFF, 0xF0, 0x00,  // ch8 = -4096
    0x1F, 0x40,        // AX = 0x1F40 = 8000 counts = 8000 * 0.002/16 g = 1.000 g
    0xFF, 0x38,        // AY = 0xFF38 - 2^16 = -200 counts = -0.025 g
    0x00, 0x00,        // AZ = 0
    0xC0};             // footer: standard with accelerometer
const std::array<std::int32_t, 8> kPacketChannels = {1,       -1,       8388607, -8388608,
                                                     1193046, -1193046, 4096,    -4096};

std::vector<std::uint8_t> packet_with_counter(std::uint8_t counter) {
  std::vector<std::uint8_t> p(kPacket.begin(), kPacket.end());
  p[1] = counter;
  return p;
}

TEST(CytonGolden, Int24AndInt16FollowTheDocumentedTwosComplement) {
  const std::uint8_t minus_one[] = {0xFF, 0xFF, 0xFF};
  const std::uint8_t max[] = {0x7F, 0xFF, 0xFF};
  const std::uint8_t min[] = {0x80, 0x00, 0x00};
  EXPECT_EQ(devices::cyton_int24(minus_one), -1);
  EXPECT_EQ(devices::cyton_int24(max), 8388607);
  EXPECT_EQ(devices::cyton_int24(min), -8388608);
  const std::uint8_t a[] = {0xFF, 0x38};
  EXPECT_EQ(devices::cyton_int16(a), -200);
}

TEST(CytonGolden, ScaleFactorsAreTheDocumentedOnes) {
  // [DF] §Interpreting the EEG Data: "0.02235 microVolts per count" at gain 24; 4.5 V / gain / (2^23 - 1).
  EXPECT_NEAR(devices::cyton_microvolts_per_count(24), 0.02235, 0.000005);
  EXPECT_DOUBLE_EQ(devices::cyton_microvolts_per_count(1), 4.5 / 8388607.0 * 1e6);  // 0.536 uV
  EXPECT_DOUBLE_EQ(devices::kCytonAccelGPerCount, 0.000125);                        // 0.002 / 2^4 g
  // [SDK] §Channel Setting Commands, GAIN_SET: 0 = 1, 1 = 2, 2 = 4, 3 = 6, 4 = 8, 5 = 12, 6 = 24.
  EXPECT_EQ(devices::cyton_gain_code(1), '0');
  EXPECT_EQ(devices::cyton_gain_code(4), '2');
  EXPECT_EQ(devices::cyton_gain_code(24), '6');
  EXPECT_FALSE(devices::cyton_gain_code(3).has_value());
  // CHANNEL: 1-8, then Q W E R T Y U I for the Daisy.
  EXPECT_EQ(devices::cyton_channel_char(0), '1');
  EXPECT_EQ(devices::cyton_channel_char(8), 'Q');
  EXPECT_EQ(devices::cyton_channel_char(15), 'I');
}

TEST(CytonGolden, DocumentedPacketDecodesToTheHandWrittenValues) {
  auto state = std::make_shared<CytonBoardState>();
  state->gains.assign(8, 24);
  CaptureSink sink;
  CytonDecoder decoder(sink, state, 0.0);
  std::vector<std::uint8_t> stream = packet_with_counter(5);
  const auto second = packet_with_counter(6);
  stream.insert(stream.end(), second.begin(), second.end());
  decoder.feed(0, stream, 1.0);
  decoder.finish();
  ASSERT_TRUE(sink.info.has_value());
  EXPECT_EQ(sink.info->emg.size(), 8u);
  EXPECT_DOUBLE_EQ(sink.info->emg_rate_hz, 250.0);
  EXPECT_NEAR(sink.info->emg[0].microvolts_per_count, 0.02235, 0.000005);
  ASSERT_EQ(sink.info->imu.size(), 1u);
  EXPECT_FALSE(sink.info->imu[0].has_gyroscope());
  EXPECT_DOUBLE_EQ(sink.info->imu[0].rate_hz, 25.0);
  ASSERT_EQ(sink.emg.size(), 16u);
  for (std::size_t c = 0; c < 8; ++c) {
    EXPECT_EQ(sink.emg[c], kPacketChannels[c]) << "channel " << c + 1;
    EXPECT_EQ(sink.emg[8 + c], kPacketChannels[c]);
  }
  EXPECT_EQ(sink.emg_index, (std::vector<std::uint64_t>{0, 1}));
  // Both packets carry the same accelerometer value, in the same 10-packet window: one sample, one extra.
  ASSERT_EQ(sink.accel.size(), 3u);
  EXPECT_EQ(sink.accel[0], 8000);
  EXPECT_EQ(sink.accel[1], -200);
  EXPECT_EQ(sink.accel[2], 0);
  EXPECT_DOUBLE_EQ(sink.accel[0] * devices::kCytonAccelGPerCount, 1.0);
  EXPECT_EQ(sink.gyro, (std::vector<std::int16_t>{0, 0, 0}));
  EXPECT_EQ(decoder.cyton_counters().extra_accel_values, 1u);
  EXPECT_TRUE(sink.gaps.empty());
  const auto c = decoder.counters();
  EXPECT_EQ(c.packets, 2u);
  EXPECT_EQ(c.garbage_bytes, 0u);
  EXPECT_EQ(c.loss_detection, devices::LossDetection::counter_wraps);
}

TEST(CytonGolden, FooterTableDecidesWhatAuxHolds) {
  // [DF] v2.0.0 footer table: 0xC1 = raw aux (not an accelerometer); 0xC7 is not a footer at all.
  auto state = std::make_shared<CytonBoardState>();
  CaptureSink sink;
  CytonDecoder decoder(sink, state, 0.0);
  std::vector<std::uint8_t> stream;
  for (std::uint8_t k = 0; k < 3; ++k) {
    auto p = packet_with_counter(k);
    p[32] = 0xC1;
    stream.insert(stream.end(), p.begin(), p.end());
  }
  decoder.feed(0, stream, 1.0);
  decoder.finish();
  EXPECT_EQ(sink.emg_index.size(), 3u);
  EXPECT_TRUE(sink.accel.empty());
  EXPECT_EQ(decoder.cyton_counters().non_accel_aux, 3u);
  EXPECT_FALSE(devices::is_cyton_footer(0xC7));
  EXPECT_TRUE(devices::is_cyton_footer(0xC6));
}

TEST(CytonGolden, DaisyPairsOddBoardWithTheNextEvenDaisyPacket) {
  // [DF] §16 Channel Data: board values on odd sample numbers, Daisy values on even ones; sample 0 is the
  // invalid first one. Packets 0..4: 0 (Daisy, no partner: dropped), 1+2 = row 0, 3+4 = row 1.
  auto state = std::make_shared<CytonBoardState>();
  state->daisy = true;
  CaptureSink sink;
  CytonDecoder decoder(sink, state, 0.0);
  std::vector<std::uint8_t> stream;
  for (std::uint8_t k = 0; k < 5; ++k) {
    auto p = packet_with_counter(k);
    p[2 + 2] = k;  // ch1's low byte = the sample number, to see which packet a value came from
    stream.insert(stream.end(), p.begin(), p.end());
  }
  decoder.feed(0, stream, 1.0);
  decoder.finish();
  ASSERT_TRUE(sink.info.has_value());
  EXPECT_EQ(sink.info->emg.size(), 16u);
  EXPECT_DOUBLE_EQ(sink.info->emg_rate_hz, 125.0);
  EXPECT_EQ(sink.info->emg[15].label, "CH16");
  ASSERT_EQ(sink.emg.size(), 32u);
  EXPECT_EQ(sink.emg_index, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(sink.emg[0], 1);   // row 0 ch1 from packet 1 (board)
  EXPECT_EQ(sink.emg[8], 2);   // row 0 ch9 from packet 2 (Daisy)
  EXPECT_EQ(sink.emg[16], 3);  // row 1 ch1 from packet 3
  EXPECT_EQ(sink.emg[24], 4);  // row 1 ch9 from packet 4
  EXPECT_EQ(sink.emg[1], -1);  // ch2 as sent: never averaged by glutescope
  EXPECT_EQ(decoder.cyton_counters().unpaired_halves, 1u);
  EXPECT_TRUE(sink.gaps.empty());
}

TEST(CytonGolden, DriverSendsTheDocumentedCommands) {
  devices::CytonDriver driver(false, {4});
  const auto steps = driver.connect_steps();
  ASSERT_GE(steps.size(), 3u + 8u);
  EXPECT_EQ(std::string(steps[0].bytes.begin(), steps[0].bytes.end()), "s");
  EXPECT_EQ(std::string(steps[1].bytes.begin(), steps[1].bytes.end()), "v");
  EXPECT_EQ(steps[1].reply_until, "$$$");
  EXPECT_EQ(std::string(steps[2].bytes.begin(), steps[2].bytes.end()), "c");
  // [SDK] x CHANNEL POWER_DOWN GAIN INPUT BIAS SRB2 SRB1 X: channel 3, on (0), gain 4 (code 2), normal input
  // (0), in BIAS (1), SRB2 connected (1), SRB1 off (0).
  EXPECT_EQ(std::string(steps[5].bytes.begin(), steps[5].bytes.end()), "x3020110X");
  const auto start = driver.start_steps();
  const auto stop = driver.stop_steps();
  EXPECT_EQ(std::string(start[0].bytes.begin(), start[0].bytes.end()), "b");
  EXPECT_EQ(std::string(stop[0].bytes.begin(), stop[0].bytes.end()), "s");
  // [SDK] §Miscellaneous: the firmware v3 reset reply passes and its firmware is kept.
  driver.check_reply(steps[1],
                     "OpenBCI V3 8-16 channel\nADS1299 Device ID: 0x3E\nLIS3DH Device ID: 0x33\n"
                     "Firmware: v3.1.1\n$$$");
  EXPECT_THROW(driver.check_reply(steps[1], "Ganglion v2$$$"), devices::DeviceReplyError);
  EXPECT_THROW(devices::CytonDriver(false, {3}), std::invalid_argument);
  EXPECT_THROW(devices::CytonDriver(false, {24, 24}), std::invalid_argument);
}

TEST(CytonGolden, DaisyModeRepliesAreJudgedAsTheSdkDocumentsThem) {
  devices::CytonDriver driver(true, {});
  const auto steps = driver.connect_steps();
  ASSERT_EQ(std::string(steps[2].bytes.begin(), steps[2].bytes.end()), "C");
  // [SDK] §16 Channel Commands, C: "16$$$" / "daisy attached16$$$" / "no daisy to attach!8$$$".
  EXPECT_NO_THROW(driver.check_reply(steps[2], "16$$$"));
  EXPECT_NO_THROW(driver.check_reply(steps[2], "daisy attached16$$$"));
  try {
    driver.check_reply(steps[2], "no daisy to attach!8$$$");
    FAIL() << "a board without a Daisy must be refused";
  } catch (const devices::DeviceReplyError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("cyton-daisy:", 0), 0u) << what;
    EXPECT_NE(what.find("16$$$"), std::string::npos) << what;
    EXPECT_LE(what.size(), 200u);
  }
}

}  // namespace
}  // namespace glutescope
