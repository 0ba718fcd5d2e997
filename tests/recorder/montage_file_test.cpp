#include <gtest/gtest.h>

#include "core/montage.hpp"
#include "pipeline/montage_file.hpp"

namespace glutescope::pipeline {
namespace {

DeviceInfo device_like(const Montage& m) {
  DeviceInfo d;
  for (const auto& c : m.emg) d.emg.push_back({c.label, 500.0, 0.25});
  for (const auto& s : m.imu) {
    ImuInfo i;
    i.label = s.label;
    d.imu.push_back(i);
  }
  return d;
}

TEST(MontageFile, DefaultFileEqualsTheBuiltInDefaultMontage) {
  const Montage file = load_montage_file(GLUTESCOPE_SOURCE_DIR "/datasets/montage-default.toml");
  const Montage builtin = default_montage();
  ASSERT_EQ(file.emg.size(), builtin.emg.size());
  for (std::size_t i = 0; i < file.emg.size(); ++i) {
    EXPECT_EQ(file.emg[i].label, builtin.emg[i].label);
    EXPECT_EQ(file.emg[i].muscle, builtin.emg[i].muscle);
    EXPECT_EQ(file.emg[i].side, builtin.emg[i].side);
    EXPECT_EQ(file.emg[i].electrode_site, builtin.emg[i].electrode_site);
  }
  ASSERT_EQ(file.imu.size(), builtin.imu.size());
  for (std::size_t i = 0; i < file.imu.size(); ++i) {
    EXPECT_EQ(file.imu[i].label, builtin.imu[i].label);
    EXPECT_EQ(file.imu[i].segment, builtin.imu[i].segment);
  }
}

TEST(MontageFile, MatchTakesScalesFromTheDevice) {
  const Montage m = default_montage();
  const Montage matched = match_montage(m, device_like(m));
  EXPECT_DOUBLE_EQ(matched.emg[3].gain, 500.0);
  EXPECT_DOUBLE_EQ(matched.emg[3].microvolts_per_count, 0.25);
}

TEST(MontageFile, MismatchesAreClearErrors) {
  const Montage m = default_montage();
  DeviceInfo fewer = device_like(m);
  fewer.emg.pop_back();
  try {
    match_montage(m, fewer);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("8 EMG channels but the device reports 7"), std::string::npos)
        << e.what();
  }
  DeviceInfo renamed = device_like(m);
  renamed.emg[2].label = "CH3";
  try {
    match_montage(m, renamed);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("'GMed_L' but the device calls it 'CH3'"), std::string::npos)
        << e.what();
  }
  DeviceInfo no_imu = device_like(m);
  no_imu.imu.clear();
  EXPECT_THROW(match_montage(m, no_imu), std::runtime_error);
}

TEST(MontageFile, BadFilesNameTheProblem) {
  EXPECT_THROW(parse_montage_toml("", "x.toml"), std::runtime_error);
  try {
    parse_montage_toml("[[emg]]\nlabel = \"A\"\nmuscle = \"glute\"\nside = \"left\"\n", "x.toml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown muscle 'glute'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_montage_toml("[[emg]]\nlabel = \"A\"\nside = \"left\"\n", "x.toml"), std::runtime_error);
  EXPECT_THROW(parse_montage_toml("[[emg]\n", "x.toml"), std::runtime_error);
  EXPECT_THROW(load_montage_file("/nonexistent/montage.toml"), std::runtime_error);
}

}  // namespace
}  // namespace glutescope::pipeline
