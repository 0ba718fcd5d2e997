// The BITalino and Trigno montage presets (datasets/montage-DEVICE.toml) equal the built-in montages the
// recorder uses without --montage, carry the default glute/ES muscles, and match the devices' own channel
// lists as protocol v1's montage does (docs/MONTAGE.md).
#include <gtest/gtest.h>

#include "devices/bitalino_device.hpp"
#include "devices/trigno_device.hpp"
#include "pipeline/montage_file.hpp"
#include "recording_sink.hpp"

namespace glutescope {
namespace {

void expect_same(const Montage& a, const Montage& b) {
  ASSERT_EQ(a.emg.size(), b.emg.size());
  for (std::size_t i = 0; i < a.emg.size(); ++i) {
    EXPECT_EQ(a.emg[i].label, b.emg[i].label);
    EXPECT_EQ(a.emg[i].muscle, b.emg[i].muscle);
    EXPECT_EQ(a.emg[i].side, b.emg[i].side);
    EXPECT_EQ(a.emg[i].electrode_site, b.emg[i].electrode_site) << i;
  }
  ASSERT_EQ(a.imu.size(), b.imu.size());
  for (std::size_t i = 0; i < a.imu.size(); ++i) {
    EXPECT_EQ(a.imu[i].label, b.imu[i].label);
    EXPECT_EQ(a.imu[i].segment, b.imu[i].segment);
    EXPECT_EQ(a.imu[i].site, b.imu[i].site) << i;
  }
}

TEST(BitalinoTrignoPresets, EqualTheBuiltInsAndMatchTheDevices) {
  const Montage standard = default_montage();
  const Montage bitalino =
      pipeline::load_montage_file(GLUTESCOPE_SOURCE_DIR "/datasets/montage-bitalino.toml");
  expect_same(bitalino, pipeline::device_default_montage("bitalino"));
  EXPECT_EQ(bitalino.emg[0].muscle, Muscle::gluteus_maximus);
  EXPECT_EQ(bitalino.emg[3].muscle, Muscle::erector_spinae_lumbar);
  test::RecordingSink sink;
  devices::BitalinoDecoder decoder(sink, 0.0, {}, nullptr);
  const Montage matched = pipeline::match_montage(bitalino, decoder.device_info());
  EXPECT_NEAR(matched.emg[0].microvolts_per_count, 3.19391, 1e-5);

  const Montage trigno = pipeline::load_montage_file(GLUTESCOPE_SOURCE_DIR "/datasets/montage-trigno.toml");
  expect_same(trigno, pipeline::device_default_montage("trigno"));
  for (std::size_t i = 0; i < standard.emg.size(); ++i)
    EXPECT_EQ(trigno.emg[i].muscle, standard.emg[i].muscle);
  EXPECT_EQ(trigno.imu[8].segment, Segment::sacrum);
  EXPECT_EQ(trigno.imu[9].segment, Segment::thigh_left);
  EXPECT_EQ(trigno.imu[10].segment, Segment::thigh_right);
  devices::TrignoDecoder trigno_decoder(sink, 0.0, std::make_shared<devices::TrignoBaseState>());
  const std::uint8_t sample[64] = {};
  trigno_decoder.feed(1, sample, 1.0);
  ASSERT_TRUE(sink.info);
  const Montage matched_trigno = pipeline::match_montage(trigno, *sink.info);
  EXPECT_DOUBLE_EQ(matched_trigno.emg[0].microvolts_per_count, 0.01);
}

}  // namespace
}  // namespace glutescope
