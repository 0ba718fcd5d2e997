// Event times (host clock, s since session start) mapped onto the EMG sample clock through the clock fit.
#include <gtest/gtest.h>

#include "pipeline/stream_clock.hpp"

namespace glutescope::pipeline {
namespace {

store::TimingFit fit(double offset_s, double drift_ppm) {
  store::TimingFit f;
  f.offset_s = offset_s;
  f.drift_ppm = drift_ppm;
  f.points = 10;
  return f;
}

TEST(StreamClock, MapsSessionTimeThroughTheFitOntoTheSampleClock) {
  // A device replayed at 4x real time: host = 90 s + 0.25 · device. The first block (sample 400 at 2 kHz)
  // was stamped at device 2.2 s, so sample 0 is at device 2.0 s. Session time 1.0 s = host 101 s
  // = device (101 − 90) / 0.25 = 44 s = 42 s after sample 0.
  const StreamClock clock = make_stream_clock(100.0, fit(90.0, -750000.0), true, 2'200'000, 400, 2000.0);
  ASSERT_TRUE(clock.valid);
  EXPECT_NEAR(clock.stream_time_s(1.0), 42.0, 1e-9);
  // Real-time device, 5 ms start-up delay: the mapping is a pure shift.
  const StreamClock real_time = make_stream_clock(50.0, fit(49.995, 0.0), true, 0, 0, 2000.0);
  EXPECT_NEAR(real_time.stream_time_s(3.0), 3.005, 1e-9);
}

TEST(StreamClock, WithoutAFitOrABlockTimesAreKept) {
  EXPECT_FALSE(make_stream_clock(100.0, store::TimingFit{}, true, 0, 0, 2000.0).valid);
  EXPECT_FALSE(make_stream_clock(100.0, fit(90.0, 0.0), false, 0, 0, 2000.0).valid);
  std::vector<Event> events(2);
  events[0].time_s = 1.5;
  events[1].time_s = 7.25;
  to_stream_clock(events, make_stream_clock(100.0, store::TimingFit{}, true, 0, 0, 2000.0));
  EXPECT_EQ(events[0].time_s, 1.5);
  EXPECT_EQ(events[1].time_s, 7.25);
}

}  // namespace
}  // namespace glutescope::pipeline
