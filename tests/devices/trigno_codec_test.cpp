// Trigno SDK codec: command text and replies as the SDK user guide gives them (MAN-025 command list:
// every command and reply ends <CR><LF><CR><LF>; the greeting "Delsys Trigno System Digital Protocol
// Version x.y.z"), float32 little-endian samples (IEEE 754 bit patterns written out by hand), and the
// stored units' exact round trip.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "devices/trigno_protocol.hpp"

namespace glutescope::devices::trigno {
namespace {

TEST(TrignoCommands, TerminatedByTwoCrLf) {
  EXPECT_EQ(command("START"), "START\r\n\r\n");
  EXPECT_EQ(command("SENSOR 3 PAIRED?"), "SENSOR 3 PAIRED?\r\n\r\n");
  EXPECT_EQ(reply_text("OK\r\n\r\n"), "OK");
  EXPECT_EQ(reply_text("  YES \r\n\r\n"), "YES");
  EXPECT_EQ(kDefaultBasePort + kEmgPortOffset, 50041U);
  EXPECT_EQ(kDefaultBasePort + kAccPortOffset, 50042U);
}

TEST(TrignoCommands, GreetingAndNumbers) {
  EXPECT_EQ(greeting_version("Delsys Trigno System Digital Protocol Version 3.6.0 \r\n\r\n"), "3.6.0");
  EXPECT_FALSE(greeting_version("HTTP/1.1 400 Bad Request\r\n\r\n"));
  EXPECT_DOUBLE_EQ(*number_reply("0.0135\r\n\r\n"), 0.0135);
  EXPECT_DOUBLE_EQ(*number_reply("26\r\n\r\n"), 26.0);
  EXPECT_FALSE(number_reply("INVALID COMMAND\r\n\r\n"));
  EXPECT_FALSE(number_reply("0\r\n\r\n"));
  EXPECT_FALSE(number_reply("-2\r\n\r\n"));
  // SDK rates: 26 samples per 13.5 ms frame = 1925.926 Hz EMG; 2 per frame = 148.148 Hz accelerometer.
  EXPECT_NEAR(kEmgSamplesPerFrame / kFrameIntervalS, 1925.926, 1e-3);
  EXPECT_NEAR(kAccSamplesPerFrame / kFrameIntervalS, 148.148, 1e-3);
}

TEST(TrignoSamples, LittleEndianFloat32BitPatterns) {
  // IEEE 754 by hand: 1.0 = 0x3F800000; −2.5 = 1 10000000 0100… = 0xC0200000; 1 mV ≈ 0x3A83126F.
  const std::uint8_t one[4] = {0x00, 0x00, 0x80, 0x3F};
  const std::uint8_t minus_2_5[4] = {0x00, 0x00, 0x20, 0xC0};
  const std::uint8_t one_mv[4] = {0x6F, 0x12, 0x83, 0x3A};
  EXPECT_EQ(read_float_le(one), 1.0F);
  EXPECT_EQ(read_float_le(minus_2_5), -2.5F);
  EXPECT_EQ(read_float_le(one_mv), 0.001F);
  std::uint8_t out[4];
  write_float_le(-2.5F, out);
  EXPECT_EQ(std::vector<std::uint8_t>(out, out + 4), std::vector<std::uint8_t>(minus_2_5, minus_2_5 + 4));
}

TEST(TrignoSamples, StoredCountsRoundTripExactlyOverTheInputRange) {
  // Every 10 nV count within ±125 mV (≫ the ±11 mV input range) survives count → float32 → count.
  std::mt19937 rng(3);
  for (int i = 0; i < 200000; ++i) {
    const auto c = static_cast<std::int32_t>(static_cast<std::int64_t>(rng() % 25000001) - 12500000);
    const auto v = static_cast<float>(c * kEmgVoltsPerCount);
    ASSERT_EQ(emg_count(v), c) << c;
  }
  for (int c = -32768; c <= 32767; ++c) {
    ASSERT_EQ(acc_count(static_cast<float>(c * kAccGPerCount)), c);
  }
  EXPECT_EQ(*emg_count(0.001F), 100000);
  EXPECT_FALSE(emg_count(std::numeric_limits<float>::quiet_NaN()));
  EXPECT_FALSE(emg_count(std::numeric_limits<float>::infinity()));
  EXPECT_FALSE(emg_count(1e6F));
  EXPECT_FALSE(acc_count(16.5F));
  EXPECT_FALSE(acc_count(std::numeric_limits<float>::quiet_NaN()));
}

}  // namespace
}  // namespace glutescope::devices::trigno
