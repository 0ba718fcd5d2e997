// BITalino (r)evolution codec against vectors derived by hand from the firmware's own description of the
// frame (BITalinoWorld/firmware-bitalino-revolution live.c bit packing, uart.c sendFrameCRC) and the
// command bytes of uart.c / cpp-api bitalino.cpp; the CRC against an independent bitwise polynomial
// division; the transfer functions against the data sheets' formulas evaluated here in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "devices/bitalino_protocol.hpp"

namespace glutescope::devices::bitalino {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Remainder of M(x)·x^4 mod (x^4 + x + 1), M = the frame's bits MSB first with the last byte's CRC
// nibble left out: CRC-4 as polynomial long division, independent of the table.
std::uint8_t crc4_by_division(const Bytes& frame) {
  std::vector<int> bits;
  for (std::size_t i = 0; i < frame.size(); ++i) {
    const int nbits = i + 1 == frame.size() ? 4 : 8;  // last byte: sequence nibble only
    for (int b = 7; b >= 8 - nbits; --b) bits.push_back((frame[i] >> b) & 1);
  }
  for (int k = 0; k < 4; ++k) bits.push_back(0);
  for (std::size_t i = 0; i + 4 < bits.size(); ++i) {
    if (bits[i] == 0) continue;
    bits[i] ^= 1;      // x^4
    bits[i + 3] ^= 1;  // x^1
    bits[i + 4] ^= 1;  // x^0
  }
  std::uint8_t r = 0;
  for (std::size_t i = bits.size() - 4; i < bits.size(); ++i)
    r = static_cast<std::uint8_t>((r << 1) | bits[i]);
  return r;
}

TEST(BitalinoCommands, RateStartStopVersionBytesAreTheFirmwares) {
  // uart.c: 0x03 1 Hz, 0x43 10 Hz, 0x83 100 Hz, 0xC3 1000 Hz; <Fs> 0 0 0 0 1 1.
  EXPECT_EQ(rate_command(1), 0x03);
  EXPECT_EQ(rate_command(10), 0x43);
  EXPECT_EQ(rate_command(100), 0x83);
  EXPECT_EQ(rate_command(1000), 0xC3);
  EXPECT_FALSE(rate_command(500).has_value());
  EXPECT_FALSE(rate_command(0).has_value());
  for (unsigned r : {1U, 10U, 100U, 1000U}) EXPECT_EQ(rate_of_command(*rate_command(r)), r);
  EXPECT_FALSE(rate_of_command(0x07).has_value());
  // A6 A5 A4 A3 A2 A1 0 1: all six inputs live = 0xFD; A1 only = 0x05; A1+A3 simulated = 0b00010110.
  EXPECT_EQ(start_command(0x3F), 0xFD);
  EXPECT_EQ(start_command(0x01), 0x05);
  EXPECT_EQ(start_command(0x05, true), 0x16);
  EXPECT_THROW(start_command(0x00), std::invalid_argument);
  EXPECT_THROW(start_command(0x40), std::invalid_argument);
  EXPECT_EQ(kVersionCommand, 0x07);  // uart.c case 0x07 / 0x0F: sendProgmemStr(versionStr)
  EXPECT_EQ(kStopCommand, 0xFF);     // uart.c live mode: cmd == 0 || cmd == 0xFF stops
}

TEST(BitalinoFrame, LengthFollowsTheChannelCount) {
  // cpp-api read(): nBytes = nChannels + 2, +1 for 3..5 channels (firmware: startPos = 6 − n, −1).
  const std::size_t expected[] = {3, 4, 6, 7, 8, 8};
  for (std::size_t n = 1; n <= 6; ++n) EXPECT_EQ(frame_size(n), expected[n - 1]) << n;
  EXPECT_THROW(frame_size(0), std::invalid_argument);
  EXPECT_THROW(frame_size(7), std::invalid_argument);
  EXPECT_EQ(channel_count(0x3F), 6U);
  EXPECT_EQ(channel_count(0x15), 3U);
  EXPECT_EQ(position_bits(3), 10U);
  EXPECT_EQ(position_bits(4), 6U);
}

// Golden vector 1, derived by hand. One channel (A1 = 512 = 0b10_0000_0000), I1 high, sequence 0.
// live.c: frame[6] |= 0x80 (I1); *(word*)(frame+5) |= A1 << 2 → frame[5] = (512 << 2) & 0xFF = 0x00,
// frame[6] |= (512 << 2) >> 8 = 0x08 → 0x88. uart.c sends frame[5..7]. CRC (table T, nibbles high first):
//   0x00: T[0]^0 = 0, T[0]^0 = 0;  0x88: T[0]^8 = 8, T[8]^8 = 11^8 = 3;  seq 0: T[3]^0 = 5;  T[5] = 15.
// → {0x00, 0x88, 0x0F}.
TEST(BitalinoFrame, GoldenOneChannel) {
  const Bytes wire = {0x00, 0x88, 0x0F};
  EXPECT_TRUE(crc_ok(wire));
  EXPECT_EQ(crc4(wire), 0x0F);
  EXPECT_EQ(crc4_by_division(wire), 0x0F);
  const Frame f = unpack(wire, 1);
  EXPECT_EQ(f.sequence, 0);
  EXPECT_EQ(f.digital, 0x8);  // I1
  EXPECT_EQ(f.analog[0], 512);
  Frame g;
  g.digital = 0x8;
  g.analog[0] = 512;
  Bytes out(3);
  EXPECT_EQ(pack(g, 1, out), 3U);
  EXPECT_EQ(out, wire);
}

// Golden vector 2, by hand. Two channels A1 = 0x155, A2 = 0x2AA, digital I2 + O2 (0b0101), sequence 1.
//   frame[6] = 0101 << 4 | 0x155 >> 6 (= 5) = 0x55
//   frame[5] = (0x155 & 0x3F) << 2 (= 0x54) | 0x2AA >> 8 (= 2) = 0x56;  frame[4] = 0xAA
//   CRC: 0xAA: T[0]^A = 10, T[10]^A = 13^10 = 7; 0x56: T[7]^5 = 9^5 = 12, T[12]^6 = 7^6 = 1;
//        0x55: T[1]^5 = 6, T[6]^5 = 10^5 = 15; seq 1: T[15]^1 = 3; T[3] = 5  → last byte 0x15.
TEST(BitalinoFrame, GoldenTwoChannels) {
  const Bytes wire = {0xAA, 0x56, 0x55, 0x15};
  EXPECT_TRUE(crc_ok(wire));
  EXPECT_EQ(crc4_by_division(wire), 0x05);
  const Frame f = unpack(wire, 2);
  EXPECT_EQ(f.sequence, 1);
  EXPECT_EQ(f.digital, 0x5);
  EXPECT_EQ(f.analog[0], 0x155);
  EXPECT_EQ(f.analog[1], 0x2AA);
  Bytes out(4);
  pack(f, 2, out);
  EXPECT_EQ(out, wire);
}

// Golden vector 3, by hand: six channels, 8 bytes. A1..A4 = 0x3FF, 0x000, 0x3FF, 0x000 (10-bit),
// A5 = 0x3F, A6 = 0x00 (6-bit), digital 0, sequence 15. live.c packing:
//   frame[6] = 0x3FF >> 6 = 0x0F;  frame[5] = (0x3F << 2) | 0 = 0xFC;  frame[4] = 0x00
//   frame[3] = 0x3FF >> 2 = 0xFF;  frame[2] = (3 << 6) | (0 >> 4) = 0xC0;  frame[1] = (0 << 4) | (0x3F >> 2)
//   = 0x0F frame[0] = (0x3F & 3) << 6 | 0 = 0xC0
// The CRC nibble is taken from the independent division (checked against the table).
TEST(BitalinoFrame, GoldenSixChannels) {
  Bytes wire = {0xC0, 0x0F, 0xC0, 0xFF, 0x00, 0xFC, 0x0F, 0xF0};
  wire[7] = static_cast<std::uint8_t>(0xF0 | crc4_by_division(wire));
  EXPECT_TRUE(crc_ok(wire));
  const Frame f = unpack(wire, 6);
  EXPECT_EQ(f.sequence, 15);
  EXPECT_EQ(f.analog[0], 0x3FF);
  EXPECT_EQ(f.analog[1], 0);
  EXPECT_EQ(f.analog[2], 0x3FF);
  EXPECT_EQ(f.analog[3], 0);
  EXPECT_EQ(f.analog[4], 0x3F);
  EXPECT_EQ(f.analog[5], 0);
  Bytes out(8);
  pack(f, 6, out);
  EXPECT_EQ(out, wire);
}

TEST(BitalinoCrc, TableEqualsPolynomialDivisionOnRandomFrames) {
  std::mt19937 rng(12);
  for (int i = 0; i < 2000; ++i) {
    const std::size_t n = 1 + rng() % 6;
    Bytes frame(frame_size(n));
    for (auto& b : frame) b = static_cast<std::uint8_t>(rng());
    EXPECT_EQ(crc4(frame), crc4_by_division(frame));
  }
}

TEST(BitalinoCrc, EverySingleBitFlipIsDetected) {
  std::mt19937 rng(7);
  for (std::size_t n = 1; n <= 6; ++n) {
    for (int trial = 0; trial < 50; ++trial) {
      Frame f;
      f.sequence = static_cast<std::uint8_t>(rng() & 15);
      f.digital = static_cast<std::uint8_t>(rng() & 15);
      for (std::size_t k = 0; k < n; ++k)
        f.analog[k] = static_cast<std::uint16_t>(rng() & (k < 4 ? 0x3FF : 0x3F));
      Bytes wire(frame_size(n));
      pack(f, n, wire);
      ASSERT_TRUE(crc_ok(wire));
      const Frame back = unpack(wire, n);
      EXPECT_EQ(back.sequence, f.sequence);
      EXPECT_EQ(back.digital, f.digital);
      for (std::size_t k = 0; k < n; ++k) EXPECT_EQ(back.analog[k], f.analog[k]);
      for (std::size_t bit = 0; bit < wire.size() * 8; ++bit) {
        Bytes bad = wire;
        bad[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
        EXPECT_FALSE(crc_ok(bad)) << "n=" << n << " bit=" << bit;
      }
    }
  }
}

TEST(BitalinoVersion, ParsesTheFirmwaresStringAnywhereInTheReply) {
  // main.c: versionStr = "BITalino_v5.1\n"; cpp-api version() skips bytes before "BITalino".
  auto v = parse_version("BITalino_v5.1\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 5);
  EXPECT_EQ(v->minor, 1);
  EXPECT_EQ(v->text, "BITalino_v5.1");
  v = parse_version(std::string("\x12\xF0junkBITalino_v4.2\n", 20));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->major, 4);
  EXPECT_FALSE(parse_version("OpenBCI V3 8-16 channel\n$$$"));
  EXPECT_FALSE(parse_version("BITalino_vX\n"));
}

TEST(BitalinoTransfer, EmgMatchesTheDataSheetFormula) {
  // REVOLUTION EMG data sheet: EMG(V) = (ADC/2^n − 1/2)·VCC/G_EMG, VCC 3.3 V, G_EMG 1009.
  for (unsigned bits : {10U, 6U}) {
    for (unsigned adc = 0; adc < (1U << bits); ++adc) {
      const double sheet_uv = (adc / std::pow(2.0, bits) - 0.5) * 3.3 / 1009.0 * 1e6;
      const double stored_uv = emg_count(static_cast<std::uint16_t>(adc), bits) * kEmgMicrovoltsPerCount;
      EXPECT_NEAR(stored_uv, sheet_uv, 1e-9) << adc << " at " << bits << " bits";
    }
  }
  // Range ±1.64 mV (data sheet): full scale 1023 → +1633 µV, 0 → −1635 µV.
  EXPECT_NEAR(emg_count(0, 10) * kEmgMicrovoltsPerCount, -1635.3, 0.1);
  EXPECT_NEAR(kEmgMicrovoltsPerCount, 3.19395, 1e-4);
}

TEST(BitalinoTransfer, AccMatchesTheDataSheetFormulaForAnyCalibration) {
  // REVOLUTION ACC data sheet: ACC(g) = (ADC − Cmin)/(Cmax − Cmin)·2 − 1.
  for (const AccCalibration cal : {AccCalibration{}, AccCalibration{400, 600}, AccCalibration{255, 767}}) {
    for (unsigned bits : {10U, 6U}) {
      for (unsigned adc = 0; adc < (1U << bits); ++adc) {
        const double adc10 = adc * std::pow(2.0, 10 - bits);
        const double sheet_g = (adc10 - cal.c_min) / (cal.c_max - cal.c_min) * 2.0 - 1.0;
        const double stored_g = acc_count(static_cast<std::uint16_t>(adc), bits, cal) * acc_g_per_count(cal);
        EXPECT_NEAR(stored_g, sheet_g, 1e-12);
      }
    }
  }
  // 1 g at the calibration maximum, −1 g at the minimum.
  EXPECT_DOUBLE_EQ(acc_count(312, 10, {}) * acc_g_per_count({}), 1.0);
  EXPECT_DOUBLE_EQ(acc_count(208, 10, {}) * acc_g_per_count({}), -1.0);
}

}  // namespace
}  // namespace glutescope::devices::bitalino
