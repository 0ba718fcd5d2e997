// Protocol v1 framing of a simulated session, decoded with the project's StreamDecoder.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frame_capture.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {
namespace {

SimulatorSettings small_session() {
  SimulatorSettings s;
  s.reps = 2;
  s.seed = 11;
  s.mvc_trials = true;
  s.contaminants.lead_off_channel = 7;
  s.contaminants.lead_off_time_s = 20.0;
  return s;
}

TEST(SimulatorFrames, DecodedStreamEqualsTheInMemorySession) {
  const SimulatedSession session = simulate(small_session());
  const auto bytes = encode_frames(session);
  test::StreamCapture capture;
  // Feed in odd-sized chunks, as a serial port would deliver them.
  for (std::size_t at = 0; at < bytes.size(); at += 333) {
    capture.feed(
        std::span<const std::uint8_t>(bytes).subspan(at, std::min<std::size_t>(333, bytes.size() - at)));
  }
  const test::CapturedStream got = capture.finish();

  EXPECT_EQ(got.counters.crc_errors + got.counters.cobs_errors + got.counters.length_errors +
                got.counters.payload_errors + got.counters.garbage_bytes,
            0U);
  ASSERT_FALSE(got.types.empty());
  EXPECT_EQ(got.types.front(), GSP_MSG_DEVICE_INFO);
  EXPECT_EQ(got.device_infos, 1U);
  EXPECT_EQ(got.device_info.emg_channel_count, 8);
  EXPECT_EQ(got.device_info.imu_count, 3);
  EXPECT_FLOAT_EQ(got.device_info.emg[0].microvolts_per_count, 0.1F);
  EXPECT_EQ(std::string(got.device_info.emg[0].label), "GMax_L");
  for (std::size_t i = 0; i < got.sequences.size(); ++i) ASSERT_EQ(got.sequences[i], i);
  EXPECT_TRUE(got.samples_contiguous);

  EXPECT_EQ(got.emg, session.emg_counts());
  EXPECT_EQ(got.emg.size(), session.truth.emg_samples * 8);
  for (std::uint8_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got.accel[i], session.imu_accel(i));
    EXPECT_EQ(got.gyro[i], session.imu_gyro(i));
    EXPECT_EQ(got.accel[i].size(), session.truth.imu_samples * 3);
  }

  // Device-time order: no frame carries content completed after a later frame's.
  for (std::size_t i = 1; i < got.completion_s.size(); ++i) {
    ASSERT_LE(got.completion_s[i - 1], got.completion_s[i] + 1e-9) << "frame " << i;
  }
  // One STATUS per whole second.
  EXPECT_EQ(got.statuses.size(), static_cast<std::size_t>(std::floor(session.truth.schedule.duration_s)));

  // Events, derived by hand from the documented defaults (docs/SIMULATOR.md §Timeline): 3 s still, then one
  // MVC trial per muscle in glutescope::Muscle order, 3 s contraction + 3 s rest each (both sides at once:
  // side midline = 2), then the bridge set at 3 + 5 x 6 = 33 s; lead-off of channel 7 at 20 s. Each set
  // start/stop is exactly one SET_START/SET_STOP (PROTOCOL.md §4.4); no BUTTON or MARKER workaround.
  struct Expected {
    std::uint8_t kind;
    std::uint16_t arg;
    std::uint32_t value;
    std::uint64_t time_us;
  };
  std::vector<Expected> expected;
  for (std::uint32_t muscle = 0; muscle < 5; ++muscle) {
    const std::uint32_t value = muscle | (2U << 8);
    const std::uint64_t start_us = 3'000'000U + 6'000'000U * muscle;
    expected.push_back({GSP_EVENT_SET_START, 2, value, start_us});
    expected.push_back({GSP_EVENT_SET_STOP, 2, value, start_us + 3'000'000U});
    if (muscle == 2) expected.push_back({GSP_EVENT_LEAD_OFF, 7, 0, 20'000'000U});
  }
  expected.push_back({GSP_EVENT_SET_START, 0, 0, 33'000'000U});
  const auto set_stop_us = static_cast<std::uint64_t>(std::llround(session.truth.schedule.set_stop_s * 1e6));
  ASSERT_GT(set_stop_us, 33'000'000U);
  expected.push_back({GSP_EVENT_SET_STOP, 0, 0, set_stop_us});

  ASSERT_EQ(got.events.size(), expected.size());
  for (std::size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(got.events[k].kind, expected[k].kind) << "event " << k;
    EXPECT_EQ(got.events[k].arg, expected[k].arg) << "event " << k;
    EXPECT_EQ(got.events[k].value, expected[k].value) << "event " << k;
    EXPECT_EQ(got.event_times_us[k], expected[k].time_us) << "event " << k;
  }
}

TEST(SimulatorFrames, ClamshellSetEventsCarryTheExerciseCode) {
  SimulatorSettings s;
  s.exercise = Exercise::clamshell;
  s.reps = 1;
  const SimulatedSession session = simulate(s);
  test::StreamCapture capture;
  capture.feed(encode_frames(session));
  const test::CapturedStream got = capture.finish();
  ASSERT_EQ(got.events.size(), 2U);
  EXPECT_EQ(got.events[0].kind, GSP_EVENT_SET_START);
  EXPECT_EQ(got.events[1].kind, GSP_EVENT_SET_STOP);
  for (const gsp_event& e : got.events) {
    EXPECT_EQ(e.arg, 1U);  // clamshell
    EXPECT_EQ(e.value, 0U);
  }
  EXPECT_EQ(got.event_times_us[0], 3'000'000U);  // initial_still_s default, no MVC trials
}

TEST(SimulatorFrames, DurationLimitTruncatesStreamsAndTruth) {
  SimulatorSettings s;
  s.reps = 10;
  s.duration_limit_s = 20.0;
  const SimulatedSession session = simulate(s);
  EXPECT_EQ(session.truth.emg_samples, 40000U);
  EXPECT_EQ(session.truth.imu_samples, 4000U);
  EXPECT_TRUE(session.truth.schedule.truncated);
  for (const RepPlan& rep : session.truth.schedule.reps) EXPECT_LE(rep.end_s, 20.0);
  EXPECT_LT(session.truth.schedule.set_stop_s, 0.0);  // the set never finished
}

TEST(SimulatorFrames, FrameSizesFollowTheSettings) {
  SimulatorSettings s;
  s.reps = 1;
  s.emg_samples_per_frame = 40;
  s.imu_samples_per_frame = 10;
  const SimulatedSession session = simulate(s);
  for (std::size_t i = 0; i + 1 < session.emg.size(); ++i) ASSERT_EQ(session.emg[i].samples(), 40U);
  for (const ImuBlock& b : session.imu) ASSERT_LE(b.samples(), 10U);
  const auto bytes = encode_frames(session);
  test::StreamCapture capture;
  capture.feed(bytes);
  EXPECT_EQ(capture.finish().emg, session.emg_counts());
}

}  // namespace
}  // namespace glutescope::sim
