// Protocol v1 framing of a simulated session, decoded with the project's StreamDecoder.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

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

  // Events: 5 MVC trials and the set (start + stop each), and the lead-off.
  std::size_t starts = 0;
  std::size_t stops = 0;
  std::size_t lead_offs = 0;
  for (std::size_t k = 0; k < got.events.size(); ++k) {
    const gsp_event& e = got.events[k];
    if (e.kind == GSP_EVENT_BUTTON && e.arg == kButtonSetStart) ++starts;
    if (e.kind == GSP_EVENT_BUTTON && e.arg == kButtonSetStop) ++stops;
    if (e.kind == GSP_EVENT_LEAD_OFF) {
      ++lead_offs;
      EXPECT_EQ(e.arg, 7);
      EXPECT_EQ(got.event_times_us[k], 20'000'000U);
    }
  }
  EXPECT_EQ(starts, 6U);
  EXPECT_EQ(stops, 6U);
  EXPECT_EQ(lead_offs, 1U);
  // Every set start is a BUTTON followed by a MARKER naming what starts: the MVC trials' muscles in
  // montage order (GMax, GMed, ES, BF, TFL), then the exercise (bridge = 0); values stay 0 (PROTOCOL.md).
  std::vector<std::uint16_t> markers;
  for (std::size_t k = 0; k < got.events.size(); ++k) {
    EXPECT_EQ(got.events[k].value, 0U);
    if (got.events[k].kind != GSP_EVENT_MARKER) continue;
    markers.push_back(got.events[k].arg);
    ASSERT_GT(k, 0U);
    EXPECT_EQ(got.events[k - 1].kind, GSP_EVENT_BUTTON);
    EXPECT_EQ(got.events[k - 1].arg, kButtonSetStart);
    EXPECT_EQ(got.event_times_us[k - 1], got.event_times_us[k]);
  }
  EXPECT_EQ(markers, (std::vector<std::uint16_t>{0x100, 0x101, 0x102, 0x103, 0x104, 0x200}));
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
