// The device registry behind `glutescope devices` and `record --device`, and the per-device montage
// presets (datasets/montage-DEVICE.toml) against the built-in ones and the devices' channel lists.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "devices/cyton_device.hpp"
#include "devices/device_registry.hpp"
#include "pipeline/montage_file.hpp"

namespace glutescope {
namespace {

TEST(DeviceRegistry, ListsEveryDeviceOfTheIssueWithItsSensorsAndLossDetection) {
  std::vector<std::string> names;
  for (const auto& d : devices::supported_devices()) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"glutescope", "cyton", "cyton-daisy", "bitalino", "trigno"}));
  const auto* cyton = devices::find_device("cyton");
  ASSERT_NE(cyton, nullptr);
  EXPECT_EQ(cyton->emg_channels, 8u);
  EXPECT_DOUBLE_EQ(cyton->emg_rate_hz, 250.0);
  EXPECT_EQ(cyton->default_baud, 115200u);
  ASSERT_EQ(cyton->motion.size(), 1u);
  EXPECT_TRUE(cyton->motion[0].accelerometer);
  EXPECT_FALSE(cyton->motion[0].gyroscope);
  EXPECT_EQ(cyton->loss_detection, devices::LossDetection::counter_wraps);
  EXPECT_DOUBLE_EQ(devices::find_device("cyton-daisy")->emg_rate_hz, 125.0);
  EXPECT_EQ(devices::find_device("nope"), nullptr);

  const auto json = nlohmann::json::parse(devices::devices_json());
  ASSERT_EQ(json.size(), names.size());
  EXPECT_EQ(json[1]["name"], "cyton");
  EXPECT_EQ(json[1]["motion_sensors"][0]["gyroscope"], false);
  EXPECT_EQ(json[1]["loss_detection"], "counter-wraps");
  EXPECT_NE(devices::devices_table().find("cyton-daisy: OpenBCI Cyton + Daisy"), std::string::npos);
}

TEST(DeviceRegistry, UnknownOrUnbuiltDevicesAreOneLineErrors) {
  EXPECT_THROW((void)devices::make_driver("nope"), devices::UnsupportedDeviceError);
  for (const auto& d : devices::supported_devices()) {
    if (d.built) {
      EXPECT_NO_THROW((void)devices::make_driver(d.name)) << d.name;
      EXPECT_EQ(devices::make_driver(d.name)->description().name, d.name);
    } else {
      try {
        (void)devices::make_driver(d.name);
        ADD_FAILURE() << d.name << " is not built and must say so";
      } catch (const devices::UnsupportedDeviceError& e) {
        EXPECT_NE(std::string(e.what()).find("not yet built"), std::string::npos);
      }
    }
  }
  EXPECT_THROW((void)devices::make_driver("cyton", {{5}}), std::invalid_argument);
}

TEST(DeviceRegistry, MontagePresetsEqualTheBuiltInOnesAndMatchTheDevice) {
  for (const std::string device : {"cyton", "cyton-daisy"}) {
    const Montage file = pipeline::load_montage_file(std::string(GLUTESCOPE_SOURCE_DIR "/datasets/montage-") +
                                                     device + ".toml");
    const Montage builtin = pipeline::device_default_montage(device);
    ASSERT_EQ(file.emg.size(), builtin.emg.size()) << device;
    const Montage standard = default_montage();
    for (std::size_t i = 0; i < file.emg.size(); ++i) {
      EXPECT_EQ(file.emg[i].label, builtin.emg[i].label);
      EXPECT_EQ(file.emg[i].muscle, builtin.emg[i].muscle);
      EXPECT_EQ(file.emg[i].side, builtin.emg[i].side);
      EXPECT_EQ(file.emg[i].electrode_site, builtin.emg[i].electrode_site);
      // The first eight channels carry the default glute/ES montage in its order.
      if (i < standard.emg.size()) {
        EXPECT_EQ(file.emg[i].muscle, standard.emg[i].muscle);
      }
    }
    ASSERT_EQ(file.imu.size(), 1u);
    EXPECT_EQ(file.imu[0].label, builtin.imu[0].label);
    EXPECT_EQ(file.imu[0].segment, Segment::sacrum);
    // Checked against the device's channel list as protocol v1's montage is (docs/MONTAGE.md).
    devices::CytonBoardState state;
    state.daisy = device == "cyton-daisy";
    const Montage matched = pipeline::match_montage(file, devices::cyton_device_info(state));
    EXPECT_NEAR(matched.emg[0].microvolts_per_count, 0.02235, 0.000005);
  }
  devices::CytonBoardState daisy;
  daisy.daisy = true;
  EXPECT_THROW(
      pipeline::match_montage(pipeline::device_default_montage("cyton"), devices::cyton_device_info(daisy)),
      std::runtime_error);
}

}  // namespace
}  // namespace glutescope
