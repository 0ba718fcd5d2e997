// Regressions for the findings of the device-decoder fuzz harnesses (tests/fuzz/{cyton,bitalino,trigno}
// _fuzzer.cpp; docs/RELIABILITY.md "Findings and fixes"). Each fails before its fix. Expected values are
// derived here from the rules the comments state, not taken from the decoders' output.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
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

}  // namespace
}  // namespace glutescope::devices
