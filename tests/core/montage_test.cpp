#include <gtest/gtest.h>

#include "core/montage.hpp"

namespace glutescope {
namespace {

TEST(Montage, DefaultHasTheSimulatorChannelsAndImus) {
  const Montage m = default_montage();
  ASSERT_EQ(m.emg.size(), 8u);
  ASSERT_EQ(m.imu.size(), 3u);
  EXPECT_EQ(m.find(Muscle::gluteus_maximus, Side::left), 0u);
  EXPECT_EQ(m.find(Muscle::erector_spinae_lumbar, Side::right), 5u);
  EXPECT_EQ(m.find(Muscle::tensor_fasciae_latae, Side::left), 7u);
  EXPECT_FALSE(m.find(Muscle::biceps_femoris, Side::right).has_value());
  EXPECT_EQ(m.find_imu(Segment::thigh_right), 2u);
}

TEST(Montage, NamesRoundTripAndUnknownNamesAreRejected) {
  for (Muscle mu : {Muscle::gluteus_maximus, Muscle::gluteus_medius, Muscle::erector_spinae_lumbar,
                    Muscle::biceps_femoris, Muscle::tensor_fasciae_latae}) {
    EXPECT_EQ(parse_muscle(to_string(mu)), mu);
  }
  for (Exercise e : {Exercise::bridge, Exercise::clamshell, Exercise::mvc}) {
    EXPECT_EQ(parse_exercise(to_string(e)), e);
  }
  EXPECT_EQ(parse_side("left"), Side::left);
  EXPECT_FALSE(parse_muscle("gluteus").has_value());
  EXPECT_FALSE(parse_side("Left").has_value());
}

}  // namespace
}  // namespace glutescope
