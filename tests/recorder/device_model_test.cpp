// DeviceModel fed real wire frames (protocol encoders → StreamDecoder), expected losses derived by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "devices/device_model.hpp"
#include "devices/stream_decoder.hpp"

namespace glutescope::devices {
namespace {

struct RecordingSink final : DeviceSink {
  std::vector<DeviceInfo> infos;
  std::vector<EmgBlock> emg;
  std::vector<ImuBlock> imu;
  std::vector<Gap> gaps;
  std::vector<Event> events;
  void on_device_info(const DeviceInfo& info) override { infos.push_back(info); }
  void on_emg(const EmgBlock& b) override { emg.push_back(b); }
  void on_imu(const ImuBlock& b) override { imu.push_back(b); }
  void on_gap(const Gap& g) override { gaps.push_back(g); }
  void on_event(const Event& e) override { events.push_back(e); }
};

DeviceInfo two_channel_device() {
  DeviceInfo d;
  d.device_id = 7;
  d.firmware_version = "1.0";
  d.serial_number = "T1";
  d.emg_rate_hz = 1000.0;
  d.emg = {{"A", 1000.0, 0.1}, {"B", 1000.0, 0.1}};
  d.imu = {ImuInfo{}, ImuInfo{}};
  d.imu[0].label = "imu0";
  d.imu[0].rate_hz = 100.0;
  d.imu[1].label = "imu1";
  d.imu[1].rate_hz = 100.0;
  return d;
}

// EMG block of `n` samples starting at `first`; sample s channel c has value (first+s)*10 + c (mod int16).
std::vector<std::uint8_t> emg_frame(std::uint32_t seq, std::uint32_t first, std::size_t n) {
  std::vector<std::int32_t> counts;
  for (std::size_t s = 0; s < n; ++s) {
    for (int c = 0; c < 2; ++c)
      counts.push_back(static_cast<std::int16_t>((first + s) * 10 + static_cast<unsigned>(c)));
  }
  return protocol::encode_emg_block({7, seq, static_cast<std::uint64_t>(first) * 1000}, first, 2,
                                    SampleFormat::int16, counts);
}

std::vector<std::uint8_t> imu_frame(std::uint32_t seq, std::uint8_t sensor, std::uint32_t first,
                                    std::size_t n) {
  std::vector<std::int16_t> accel(n * 3), gyro(n * 3);
  for (std::size_t i = 0; i < n * 3; ++i) {
    accel[i] = static_cast<std::int16_t>(first * 3 + i);
    gyro[i] = static_cast<std::int16_t>(-static_cast<int>(first * 3 + i));
  }
  return protocol::encode_imu_block({7, seq, static_cast<std::uint64_t>(first) * 10000}, sensor, first, accel,
                                    gyro);
}

struct Harness {
  RecordingSink sink;
  DeviceModel model{sink, 100.0};
  protocol::StreamDecoder decoder{
      [this](const protocol::Frame& f, const protocol::Message& m) { model.consume(f, m, now_s); }};
  double now_s = 100.0;
  void feed(const std::vector<std::uint8_t>& bytes) { decoder.feed(bytes); }
};

TEST(DeviceModel, DroppedFramesBecomeExactGapsPerStream) {
  Harness h;
  std::uint32_t seq = 0;
  h.feed(protocol::encode_device_info({7, seq++, 0}, two_channel_device()));
  // EMG blocks of 10 samples: 0, 10, [20 lost], [30 lost], 40; IMU0 blocks of 2: 0, [2 lost], 4; IMU1: 0, 2.
  h.feed(emg_frame(seq++, 0, 10));
  h.feed(imu_frame(seq++, 0, 0, 2));
  h.feed(imu_frame(seq++, 1, 0, 2));
  h.feed(emg_frame(seq++, 10, 10));
  seq++;  // lost: EMG 20..29
  seq++;  // lost: IMU0 2..3
  seq++;  // lost: EMG 30..39
  h.feed(emg_frame(seq++, 40, 10));
  h.feed(imu_frame(seq++, 0, 4, 2));
  h.feed(imu_frame(seq++, 1, 2, 2));

  const auto& c = h.model.counters();
  EXPECT_EQ(c.lost_frames, 3u);
  EXPECT_EQ(c.emg_samples, 30u);
  EXPECT_EQ(c.emg_lost_samples, 20u);
  EXPECT_EQ(c.imu_samples[0], 4u);
  EXPECT_EQ(c.imu_lost_samples[0], 2u);
  EXPECT_EQ(c.imu_samples[1], 4u);
  EXPECT_EQ(c.imu_lost_samples[1], 0u);
  ASSERT_EQ(h.sink.gaps.size(), 2u);
  EXPECT_EQ(h.sink.gaps[0].stream, StreamKind::emg);
  EXPECT_EQ(h.sink.gaps[0].start_sample, 20u);
  EXPECT_EQ(h.sink.gaps[0].count, 20u);  // one gap for the two consecutive lost EMG frames
  EXPECT_EQ(h.sink.gaps[1].stream, StreamKind::imu);
  EXPECT_EQ(h.sink.gaps[1].sensor, 0u);
  EXPECT_EQ(h.sink.gaps[1].start_sample, 2u);
  EXPECT_EQ(h.sink.gaps[1].count, 2u);
  ASSERT_EQ(h.sink.emg.size(), 3u);
  EXPECT_EQ(h.sink.emg[2].first_sample, 40u);
  EXPECT_EQ(h.sink.emg[2].counts[1], 401);  // sample 40, channel 1: values never interpolated or shifted
  EXPECT_EQ(h.sink.emg[2].device_time_us, 40000u);
  EXPECT_DOUBLE_EQ(h.sink.emg[2].host_time_s, 100.0);
}

TEST(DeviceModel, DuplicatesAreDroppedAndOverlapsTrimmed) {
  Harness h;
  h.feed(protocol::encode_device_info({7, 0, 0}, two_channel_device()));
  const auto f1 = emg_frame(1, 0, 10);
  h.feed(f1);
  h.feed(f1);  // same frame again (same sequence): duplicate frame
  // A new frame whose samples overlap the last 4 delivered ones (device resent after a hiccup).
  h.feed(emg_frame(2, 6, 10));
  // A new frame entirely in the past.
  h.feed(emg_frame(3, 0, 5));
  const auto& c = h.model.counters();
  EXPECT_EQ(c.duplicate_frames, 1u);
  EXPECT_EQ(c.duplicate_samples, 4u + 5u);
  EXPECT_EQ(c.emg_samples, 16u);
  EXPECT_TRUE(h.sink.gaps.empty());
  ASSERT_EQ(h.sink.emg.size(), 2u);
  EXPECT_EQ(h.sink.emg[1].first_sample, 10u);
  ASSERT_EQ(h.sink.emg[1].samples(), 6u);
  EXPECT_EQ(h.sink.emg[1].counts[0], 100);          // sample 10, channel 0
  EXPECT_EQ(h.sink.emg[1].device_time_us, 10000u);  // shifted by 4 samples at 1 kHz from 6000 µs
}

TEST(DeviceModel, BlocksBeforeDeviceInfoAreCountedNotDelivered) {
  Harness h;
  h.feed(emg_frame(0, 0, 10));
  h.feed(imu_frame(1, 0, 0, 2));
  h.feed(protocol::encode_device_info({7, 2, 0}, two_channel_device()));
  h.feed(emg_frame(3, 10, 10));
  EXPECT_EQ(h.model.counters().blocks_before_info, 2u);
  ASSERT_EQ(h.sink.infos.size(), 1u);
  EXPECT_EQ(h.sink.infos[0].emg[1].label, "B");
  ASSERT_EQ(h.sink.emg.size(), 1u);
  EXPECT_EQ(h.sink.emg[0].first_sample, 10u);  // the device's own index: streams stay aligned
  EXPECT_TRUE(h.sink.gaps.empty());            // samples before the session are not a gap
}

TEST(DeviceModel, SampleCounterWrapsWithoutAFalseGap) {
  Harness h;
  h.feed(protocol::encode_device_info({7, 0, 0}, two_channel_device()));
  const std::uint32_t near_wrap = 0xFFFFFFFAu;
  h.feed(emg_frame(1, near_wrap, 10));        // 0xFFFFFFFA .. 0x100000003
  h.feed(emg_frame(2, near_wrap + 10u, 10));  // wrapped u32: 4
  EXPECT_TRUE(h.sink.gaps.empty());
  ASSERT_EQ(h.sink.emg.size(), 2u);
  EXPECT_EQ(h.sink.emg[1].first_sample, 0x100000004ull);
}

TEST(DeviceModel, RestartRebasesCountersAndSaysSo) {
  Harness h;
  h.feed(protocol::encode_device_info({7, 1000, 0}, two_channel_device()));
  h.feed(emg_frame(1001, 500, 10));
  // Device rebooted: sequence and sample counter start again.
  h.feed(protocol::encode_device_info({7, 0, 0}, two_channel_device()));
  h.feed(emg_frame(1, 0, 10));
  EXPECT_EQ(h.model.counters().device_restarts, 1u);
  ASSERT_EQ(h.sink.emg.size(), 2u);
  EXPECT_EQ(h.sink.emg[1].first_sample, 510u);  // continues after the last delivered sample
  ASSERT_EQ(h.sink.events.size(), 1u);
  EXPECT_EQ(h.sink.events[0].kind, EventKind::note);
  EXPECT_NE(h.sink.events[0].text.find("restarted"), std::string::npos);
}

TEST(DeviceModel, MismatchedBlocksAreDroppedAndDeviceEventsMapped) {
  Harness h;
  h.feed(protocol::encode_device_info({7, 0, 0}, two_channel_device()));
  std::vector<std::int32_t> three(3 * 2, 1);
  h.feed(
      protocol::encode_emg_block({7, 1, 0}, 0, 3, SampleFormat::int16, three));  // 3 channels, device has 2
  h.feed(imu_frame(2, 3, 0, 2));                                                 // sensor 3 does not exist
  // The lead-off happened at device time 1.5 s (host 101.5 s on the clock the first frame set: host = device
  // + 100 s); it arrives 20 ms later. Its time is the device time on the session clock, not the arrival.
  h.now_s = 101.52;
  h.feed(protocol::encode_event({7, 3, 1'500'000}, gsp_event{GSP_EVENT_LEAD_OFF, 1, 0}));
  EXPECT_EQ(h.model.counters().malformed_blocks, 2u);
  // The fit has no completed window yet, so the event waits; the end of the session times it.
  EXPECT_TRUE(h.sink.events.empty());
  h.model.finish();
  ASSERT_EQ(h.sink.events.size(), 1u);
  EXPECT_EQ(h.sink.events[0].kind, EventKind::lead_off);
  EXPECT_EQ(h.sink.events[0].channel, 1);
  EXPECT_EQ(h.sink.events[0].text, "B");
  EXPECT_NEAR(h.sink.events[0].time_s, 1.5, 1e-9);
}

TEST(DeviceModel, EarlyEventsOfAFastDeviceClockWaitForTheFitAndLandAtTheirDeviceTime) {
  // A device replayed at 4x real time (host = 100 s + device / 4): an event stamped at device 0.3 s, before
  // the fit has seen a whole window, must still end up at host 100.075 s, i.e. session time 0.075 s.
  Harness h;
  h.feed(protocol::encode_device_info({7, 0, 0}, two_channel_device()));
  std::uint32_t seq = 1;
  bool event_sent = false;
  for (std::uint32_t first = 0; first < 8000; first += 20) {  // 4 s of device time at 2 kHz
    const double device_s = first / 2000.0;
    h.now_s = 100.0 + device_s / 4.0 + 0.002;  // 2 ms transport delay
    std::vector<std::int32_t> counts(20 * 2, 0);
    h.feed(protocol::encode_emg_block({7, seq++, static_cast<std::uint64_t>(std::llround(device_s * 1e6))},
                                      first, 2, SampleFormat::int16, counts));
    if (!event_sent && device_s >= 0.3) {
      h.feed(protocol::encode_event({7, seq++, 300'000}, gsp_event{GSP_EVENT_LEAD_OFF, 0, 0}));
      event_sent = true;
      EXPECT_TRUE(h.sink.events.empty());  // held back: no drift known yet
    }
  }
  ASSERT_EQ(h.sink.events.size(), 1u);  // released once two windows completed, without finish()
  EXPECT_NEAR(h.sink.events[0].time_s, 0.075 + 0.002, 1e-3);
}

TEST(DeviceModel, SetEventsBecomeSetStartAndStopWithExerciseMuscleSideAtTheirDeviceTime) {
  // Device clock: host = device + 100 s (session starts at host 100 s), blocks arrive 2 ms after their
  // first sample; set events arrive late (250 ms: a busy link) but are placed at their device time.
  Harness h;
  std::uint32_t seq = 0;
  h.now_s = 100.002;
  h.feed(protocol::encode_device_info({7, seq++, 0}, two_channel_device()));
  auto event_at = [&](double device_s, double delay_s, std::uint8_t kind, std::uint16_t arg,
                      std::uint32_t value) {
    h.now_s = 100.0 + device_s + delay_s;
    h.feed(protocol::encode_event({7, seq++, static_cast<std::uint64_t>(std::llround(device_s * 1e6))},
                                  gsp_event{kind, arg, value}));
  };
  for (std::uint32_t first = 0; first < 5000; first += 10) {  // 5 s of EMG at 1 kHz, 10-sample blocks
    h.now_s = 100.0 + first / 1000.0 + 0.002;
    h.feed(emg_frame(seq++, first, 10));
    if (first == 1000)
      event_at(0.75, 0.25, GSP_EVENT_SET_START, GSP_EXERCISE_MVC,
               GSP_SET_VALUE(GSP_MUSCLE_GLUTEUS_MEDIUS, GSP_SIDE_RIGHT));
    if (first == 2000)
      event_at(1.80, 0.25, GSP_EVENT_SET_STOP, GSP_EXERCISE_MVC,
               GSP_SET_VALUE(GSP_MUSCLE_GLUTEUS_MEDIUS, GSP_SIDE_RIGHT));
    if (first == 2500) event_at(2.40, 0.25, 9, 1, 2);  // kind 9: unknown to v1.0 hosts
    if (first == 3000) event_at(3.10, 0.25, GSP_EVENT_SET_START, GSP_EXERCISE_BRIDGE, 0);
    if (first == 3500) event_at(3.50, 0.25, GSP_EVENT_MARKER, 4, 0);  // a real marker stays a marker
    if (first == 4000) {
      // A set event with an exercise code outside the §4.4 table: bad payload, skipped by the decoder.
      std::vector<std::uint8_t> payload = {GSP_EVENT_SET_START, 0, 7, 0, 0, 0, 0, 0};
      h.feed(protocol::encode_frame(GSP_MSG_EVENT, {7, seq++, 3'900'000}, payload));
    }
    if (first == 4900) event_at(4.95, 0.25, GSP_EVENT_SET_STOP, GSP_EXERCISE_BRIDGE, 0);
  }
  EXPECT_EQ(h.model.counters().unknown_event_kinds, 1u);
  EXPECT_EQ(h.decoder.counters().payload_errors, 1u);
  ASSERT_EQ(h.sink.events.size(), 5u);
  const Event& mvc_start = h.sink.events[0];
  EXPECT_EQ(mvc_start.kind, EventKind::set_start);
  EXPECT_EQ(mvc_start.exercise, Exercise::mvc);
  EXPECT_EQ(mvc_start.muscle, Muscle::gluteus_medius);
  EXPECT_EQ(mvc_start.side, Side::right);
  EXPECT_EQ(mvc_start.text, kDeviceSetEventText);
  // The fit's offset is the 2 ms minimum delay: the event lands 2 ms after its device time, not 250 ms.
  EXPECT_NEAR(mvc_start.time_s, 0.752, 1e-6);
  const Event& mvc_stop = h.sink.events[1];
  EXPECT_EQ(mvc_stop.kind, EventKind::set_stop);
  EXPECT_EQ(mvc_stop.exercise, Exercise::mvc);
  EXPECT_EQ(mvc_stop.muscle, Muscle::gluteus_medius);
  EXPECT_EQ(mvc_stop.side, Side::right);
  EXPECT_NEAR(mvc_stop.time_s, 1.802, 1e-6);
  const Event& bridge = h.sink.events[2];
  EXPECT_EQ(bridge.kind, EventKind::set_start);
  EXPECT_EQ(bridge.exercise, Exercise::bridge);
  EXPECT_EQ(bridge.muscle, Muscle::other);
  EXPECT_EQ(bridge.side, Side::unknown);
  EXPECT_NEAR(bridge.time_s, 3.102, 1e-6);
  EXPECT_EQ(h.sink.events[3].kind, EventKind::marker);
  EXPECT_EQ(h.sink.events[3].text, "device marker 4");
  EXPECT_EQ(h.sink.events[4].kind, EventKind::set_stop);
  EXPECT_EQ(h.sink.events[4].exercise, Exercise::bridge);
  EXPECT_NEAR(h.sink.events[4].time_s, 4.952, 1e-6);
}

// A device event carries its position on the EMG sample clock, computed from device times alone (session
// format 1.1, /intervals/events/emg_sample): a device attached mid-stream (first sample index 5000, device
// clock at 2 s there) whose blocks arrive with host delays from 2 to 302 ms (a stalled scheduler) still has
// its lead-off at device 3.25 s placed at sample 5000 + 1.25 s × 1000 Hz = 6250, whatever the fit did.
TEST(DeviceModel, DeviceEventsCarryTheirEmgSampleFromTheDeviceClockAlone) {
  Harness h;
  std::uint32_t seq = 0;
  h.feed(protocol::encode_device_info({7, seq++, 0}, two_channel_device()));
  const auto device_us = [](std::uint32_t sample) {
    return static_cast<std::uint64_t>(2'000'000 + (static_cast<std::uint64_t>(sample) - 5000) * 1000);
  };
  for (std::uint32_t first = 5000; first < 9000; first += 10) {  // 4 s at 1 kHz, 10-sample blocks
    const double delay_s = 0.002 + 0.3 * static_cast<double>((first / 10) % 7) / 6.0;
    h.now_s = 100.0 + static_cast<double>(device_us(first)) * 1e-6 + delay_s;
    std::vector<std::int32_t> counts(10 * 2, 0);
    h.feed(protocol::encode_emg_block({7, seq++, device_us(first)}, first, 2, SampleFormat::int16, counts));
    if (first == 6500)
      h.feed(protocol::encode_event({7, seq++, 3'250'000}, gsp_event{GSP_EVENT_LEAD_OFF, 0, 0}));
  }
  h.model.finish();
  ASSERT_EQ(h.sink.events.size(), 1u);
  ASSERT_TRUE(h.sink.events[0].emg_sample.has_value());
  EXPECT_DOUBLE_EQ(*h.sink.events[0].emg_sample, 6250.0);
}

}  // namespace
}  // namespace glutescope::devices
