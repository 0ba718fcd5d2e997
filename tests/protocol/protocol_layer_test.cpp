// The C++ layer: encode helpers, message variant, conversion to core types, counter unwrapping.
#include <gtest/gtest.h>

#include <cstdint>
#include <stdexcept>
#include <vector>

#include "devices/protocol.hpp"

namespace glutescope::protocol {
namespace {

Message decode_wire(const std::vector<std::uint8_t>& wire, std::vector<std::uint8_t>& scratch, Frame& frame) {
  EXPECT_EQ(decode_frame(wire, scratch, frame), GSP_OK);
  Message message;
  EXPECT_EQ(decode_message(frame, message), GSP_OK);
  return message;
}

glutescope::DeviceInfo sample_device() {
  glutescope::DeviceInfo info;
  info.device_id = 0x2A;
  info.firmware_version = "gs-fw 0.9.0";
  info.serial_number = "SN-7";
  info.emg_format = SampleFormat::int24;
  info.emg_rate_hz = 2048.0;  // float32-exact values so the round trip is exact
  info.emg = {{"GMax_L", 24.0, 0.5}, {"ES_L3_R", 12.0, 0.25}};
  ImuInfo sacrum;
  sacrum.label = "imu_sacrum";
  sacrum.rate_hz = 200.0;
  sacrum.accel_range_g = 8.0;
  sacrum.gyro_range_dps = 2000.0;
  sacrum.accel_g_per_count = 8.0 / 32768.0;
  sacrum.gyro_dps_per_count = 2000.0 / 32768.0;
  ImuInfo thigh = sacrum;
  thigh.label = "imu_thigh_L";
  thigh.has_magnetometer = true;
  thigh.mag_ut_per_count = 0.125;
  info.imu = {sacrum, thigh};
  return info;
}

TEST(ProtocolLayer, DeviceInfoRoundTripsThroughTheWire) {
  const auto original = sample_device();
  const auto wire = encode_device_info({0x2A, 9, 1234}, original);
  std::vector<std::uint8_t> scratch;
  Frame frame;
  const Message message = decode_wire(wire, scratch, frame);
  EXPECT_EQ(frame.header.type, GSP_MSG_DEVICE_INFO);
  EXPECT_EQ(frame.header.sequence, 9u);
  EXPECT_EQ(frame.header.timestamp_us, 1234u);
  ASSERT_TRUE(std::holds_alternative<gsp_device_info>(message));
  const auto info = to_device_info(std::get<gsp_device_info>(message), frame.header.device_id);
  EXPECT_EQ(info.device_id, 0x2A);
  EXPECT_EQ(info.protocol_version, 1);
  EXPECT_EQ(info.firmware_version, original.firmware_version);
  EXPECT_EQ(info.serial_number, original.serial_number);
  EXPECT_EQ(info.emg_format, SampleFormat::int24);
  EXPECT_EQ(info.emg_rate_hz, 2048.0);
  ASSERT_EQ(info.emg.size(), 2u);
  EXPECT_EQ(info.emg[1].label, "ES_L3_R");
  EXPECT_EQ(info.emg[1].gain, 12.0);
  EXPECT_EQ(info.emg[1].microvolts_per_count, 0.25);
  ASSERT_EQ(info.imu.size(), 2u);
  EXPECT_FALSE(info.imu[0].has_magnetometer);
  EXPECT_EQ(info.imu[0].accel_g_per_count, 8.0 / 32768.0);
  EXPECT_EQ(info.imu[0].gyro_range_dps, 2000.0);
  EXPECT_TRUE(info.imu[1].has_magnetometer);
  EXPECT_EQ(info.imu[1].mag_ut_per_count, 0.125);
  EXPECT_EQ(info.imu[1].label, "imu_thigh_L");
}

TEST(ProtocolLayer, EncodeRejectsOutOfRangeInputWithAMessage) {
  const std::vector<std::int32_t> too_big = {40000};
  EXPECT_THROW(encode_emg_block({}, 0, 1, SampleFormat::int16, too_big), std::invalid_argument);
  const std::vector<std::int32_t> ok24 = {8388607, -8388608};
  EXPECT_NO_THROW(encode_emg_block({}, 0, 2, SampleFormat::int24, ok24));
  const std::vector<std::int32_t> too_big24 = {8388608, 0};
  EXPECT_THROW(encode_emg_block({}, 0, 2, SampleFormat::int24, too_big24), std::invalid_argument);
  const std::vector<std::int32_t> ragged = {1, 2, 3};
  EXPECT_THROW(encode_emg_block({}, 0, 2, SampleFormat::int16, ragged), std::invalid_argument);
  const std::vector<std::int32_t> too_many(2u * (gsp_emg_max_samples(2, GSP_FORMAT_INT16) + 1u), 0);
  try {
    (void)encode_emg_block({}, 0, 2, SampleFormat::int16, too_many);
    ADD_FAILURE() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("per frame"), std::string::npos) << e.what();
  }
  auto info = sample_device();
  info.serial_number = std::string(40, 'x');
  EXPECT_THROW(encode_device_info({}, info), std::invalid_argument);
  const std::vector<std::int16_t> three = {1, 2, 3};
  const std::vector<std::int16_t> two = {1, 2};
  EXPECT_THROW(encode_imu_block({}, 0, 0, three, two), std::invalid_argument);
}

TEST(ProtocolLayer, MaxSamplesPerFrameFitTheFrameSize) {
  // 1002-byte payload - 8-byte block header = 994 bytes of samples.
  EXPECT_EQ(gsp_emg_max_samples(4, GSP_FORMAT_INT16), 994 / 8);
  EXPECT_EQ(gsp_emg_max_samples(8, GSP_FORMAT_INT24), 994 / 24);
  EXPECT_EQ(gsp_imu_max_samples(0), 994 / 12);
  EXPECT_EQ(gsp_imu_max_samples(GSP_IMU_FLAG_HAS_MAG), 994 / 18);
  EXPECT_EQ(GSP_MAX_WIRE_SIZE, 1030u);
}

TEST(ProtocolLayer, EmgBlockConvertsToCoreBlockAndReusesStorage) {
  const std::vector<std::int32_t> counts = {-8388608, 8388607, 0, -1, 65536, -65536};
  const auto wire = encode_emg_block({1, 2, 5'000'000}, 77, 2, SampleFormat::int24, counts);
  std::vector<std::uint8_t> scratch;
  Frame frame;
  const Message message = decode_wire(wire, scratch, frame);
  ASSERT_TRUE(std::holds_alternative<gsp_emg_block>(message));
  EmgBlock block;
  block.counts.reserve(64);
  const auto* storage = block.counts.data();
  to_emg_block(std::get<gsp_emg_block>(message), 4294967373ull, frame.header.timestamp_us, block);
  EXPECT_EQ(block.counts, counts);
  EXPECT_EQ(block.channels, 2u);
  EXPECT_EQ(block.samples(), 3u);
  EXPECT_EQ(block.first_sample, 4294967373ull);
  EXPECT_EQ(block.device_time_us, 5'000'000u);
  EXPECT_EQ(block.counts.data(), storage);
}

TEST(ProtocolLayer, ImuBlockConvertsWithAndWithoutMagnetometer) {
  const std::vector<std::int16_t> accel = {1, 2, 3, -4, -5, -6};
  const std::vector<std::int16_t> gyro = {32767, -32768, 0, 7, 8, 9};
  const std::vector<std::int16_t> mag = {10, 20, 30, -10, -20, -30};
  std::vector<std::uint8_t> scratch;
  Frame frame;
  ImuBlock block;
  Message message = decode_wire(encode_imu_block({}, 1, 5, accel, gyro, mag), scratch, frame);
  to_imu_block(std::get<gsp_imu_block>(message), 5, 0, block);
  EXPECT_EQ(block.sensor, 1);
  EXPECT_EQ(block.accel, accel);
  EXPECT_EQ(block.gyro, gyro);
  EXPECT_EQ(block.mag, mag);
  message = decode_wire(encode_imu_block({}, 0, 5, accel, gyro), scratch, frame);
  to_imu_block(std::get<gsp_imu_block>(message), 5, 0, block);
  EXPECT_EQ(block.sensor, 0);
  EXPECT_EQ(block.accel, accel);
  EXPECT_TRUE(block.mag.empty());
  EXPECT_EQ(block.samples(), 2u);
}

TEST(CounterUnwrapper, CrossesTheU32WrapAndToleratesReordering) {
  CounterUnwrapper u;
  EXPECT_EQ(u.unwrap(0xFFFFFFFEu), 0xFFFFFFFEull);
  EXPECT_EQ(u.unwrap(0xFFFFFFFFu), 0xFFFFFFFFull);
  EXPECT_EQ(u.unwrap(0u), 0x100000000ull);
  EXPECT_EQ(u.unwrap(100u), 0x100000064ull);
  EXPECT_EQ(u.unwrap(0xFFFFFFF0u), 0xFFFFFFF0ull);  // late block from before the wrap
  EXPECT_EQ(u.unwrap(101u), 0x100000065ull);        // the highest index is not moved back
}

TEST(CounterUnwrapper, ManyWrapsInLargeSteps) {
  CounterUnwrapper u;
  std::uint64_t truth = 0;
  EXPECT_EQ(u.unwrap(0), 0u);
  for (int i = 0; i < 20; ++i) {
    truth += 0x7FFFFFFFu;  // largest forward step the unwrapper can represent
    EXPECT_EQ(u.unwrap(static_cast<std::uint32_t>(truth)), truth);
  }
}

TEST(CounterUnwrapper, SaturatesBelowZeroAtTheStart) {
  CounterUnwrapper u;
  EXPECT_EQ(u.unwrap(5), 5u);
  EXPECT_EQ(u.unwrap(3), 3u);
  EXPECT_EQ(u.unwrap(0xFFFFFFFFu), 0u);  // would be -1
}

TEST(FrameStamper, NumbersFramesConsecutivelyAndWraps) {
  FrameStamper stamper(9, 0xFFFFFFFFu);
  const auto a = stamper.stamp(10);
  const auto b = stamper.stamp(20);
  EXPECT_EQ(a.sequence, 0xFFFFFFFFu);
  EXPECT_EQ(b.sequence, 0u);
  EXPECT_EQ(b.device_id, 9);
  EXPECT_EQ(b.timestamp_us, 20u);
}

}  // namespace
}  // namespace glutescope::protocol
