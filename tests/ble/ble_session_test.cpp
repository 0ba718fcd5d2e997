// End to end over BLE: the simulator's session streamed by fake_bluez (as notifications of MTU−3
// bytes) → BleTransport → StreamDecoder → DeviceModel, driven by the recorder's LinkSupervisor, and
// compared sample for sample with the same session generated here in memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <thread>
#include <vector>

#include "ble/ble_test_support.hpp"
#include "devices/device_model.hpp"
#include "devices/stream_decoder.hpp"
#include "io/ble_transport.hpp"
#include "pipeline/link_supervisor.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"

namespace glutescope {
namespace {

using namespace std::chrono_literals;

// Same settings as fake_bluez --simulate S --seed N (tests/ble/fake_bluez.cpp).
sim::SimulatorSettings fake_session_settings(double seconds, std::uint64_t seed) {
  sim::SimulatorSettings s;
  s.seed = seed;
  s.reps = 2;
  s.duration_limit_s = seconds;
  return s;
}

// Keeps every sample at its index, the gaps and the events, as a recorder would store them.
class CapturingSink final : public devices::DeviceSink {
 public:
  void on_device_info(const DeviceInfo& info) override { channels = info.emg.size(); }
  void on_emg(const EmgBlock& block) override {
    for (std::size_t i = 0; i < block.counts.size(); ++i) {
      emg[block.first_sample * block.channels + i] = block.counts[i];
    }
  }
  void on_imu(const ImuBlock& block) override {
    auto& accel = imu_accel[block.sensor];
    auto& gyro = imu_gyro[block.sensor];
    for (std::size_t i = 0; i < block.accel.size(); ++i) {
      accel[block.first_sample * 3 + i] = block.accel[i];
      gyro[block.first_sample * 3 + i] = block.gyro[i];
    }
  }
  void on_gap(const Gap& gap) override { gaps.push_back(gap); }
  void on_event(const Event& event) override { events.push_back(event); }

  std::size_t channels = 0;
  std::map<std::uint64_t, std::int32_t> emg;  // flat index sample*channels + channel → count
  std::map<std::uint8_t, std::map<std::uint64_t, std::int16_t>> imu_accel, imu_gyro;
  std::vector<Gap> gaps;
  std::vector<Event> events;
};

struct Recording {
  CapturingSink sink;
  std::vector<EventKind> link_events;  // disconnect / reconnect, in order
  devices::DeviceModelCounters counters;
  io::BleNotifyPath path = io::BleNotifyPath::none;
};

// The acquisition loop the recorder runs, on a BLE source: reconnects with the LinkSupervisor's
// backoff, resets the framer after a loss, stops once every frame was received or declared lost.
void record(io::BleTransport& transport, std::uint64_t total_frames, Recording& out) {
  devices::DeviceModel model(out.sink);
  protocol::StreamDecoder decoder(
      [&](const protocol::Frame& f, const protocol::Message& m) { model.consume(f, m, 0.0); });
  pipeline::LinkSupervisor link(pipeline::LinkSettings{2.0, 0.05, 0.5});
  const auto t0 = std::chrono::steady_clock::now();
  auto now_s = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  std::vector<std::uint8_t> buffer(4096);
  while (now_s() < 30.0) {
    const auto& c = model.counters();
    if (c.frames + c.lost_frames >= total_frames) {
      break;
    }
    if (!transport.is_open()) {
      if (!link.open_due(now_s())) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      try {
        transport.open();
        link.on_opened(now_s());
        out.path = transport.notify_path();
      } catch (const io::TransportError&) {
        link.on_open_failed(now_s());
      }
      continue;
    }
    const auto r = transport.read_some(buffer, 100ms);
    if (r.status == io::ReadStatus::data) {
      if (link.on_data(now_s())) {
        out.link_events.push_back(EventKind::reconnect);
      }
      decoder.feed(std::span(buffer.data(), r.bytes));
    } else if (r.status == io::ReadStatus::closed) {
      if (link.on_closed(now_s())) {
        out.link_events.push_back(EventKind::disconnect);
      }
      decoder.reset();
    }
  }
  out.counters = model.counters();
}

io::BleSettings ble_settings() {
  io::BleSettings s;
  s.device = "glutescope-sim";
  s.scan_timeout = 1s;
  s.connect_timeout = 3s;
  return s;
}

void expect_all_samples(const sim::SimulatedSession& session, const CapturingSink& sink) {
  const auto truth = session.emg_counts();
  ASSERT_EQ(sink.emg.size(), truth.size());
  std::size_t mismatches = 0;
  for (const auto& [index, count] : sink.emg) {
    mismatches += (index >= truth.size() || truth[index] != count) ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0u);
  for (std::uint8_t s = 0; s < session.device_info.imu.size(); ++s) {
    const auto accel = session.imu_accel(s);
    const auto gyro = session.imu_gyro(s);
    ASSERT_EQ(sink.imu_accel.at(s).size(), accel.size());
    for (const auto& [index, value] : sink.imu_accel.at(s)) {
      ASSERT_EQ(value, accel.at(index)) << "sensor " << int(s) << " accel " << index;
      ASSERT_EQ(sink.imu_gyro.at(s).at(index), gyro.at(index));
    }
  }
}

class BleSessionTest : public ::testing::TestWithParam<int> {
 protected:
  bletest::PrivateSystemBus bus_;
};

TEST_P(BleSessionTest, SimulatedSessionArrivesBitExactThroughAcquireNotify) {
  const int mtu = GetParam();
  const auto session = sim::simulate(fake_session_settings(4.0, 11));
  bletest::FakeBluez fake({"--simulate", "4", "--seed", "11", "--mtu", std::to_string(mtu)});
  io::BleTransport transport(ble_settings());
  Recording rec;
  record(transport, sim::encode_frame_list(session).size(), rec);
  EXPECT_EQ(rec.path, io::BleNotifyPath::acquired_fd);
  EXPECT_TRUE(rec.sink.gaps.empty());
  EXPECT_TRUE(rec.link_events.empty());
  EXPECT_EQ(rec.counters.lost_frames, 0u);
  expect_all_samples(session, rec.sink);
}

INSTANTIATE_TEST_SUITE_P(Mtu, BleSessionTest, ::testing::Values(23, 64, 185, 247));

TEST(BleSession, SimulatedSessionArrivesBitExactThroughStartNotify) {
  bletest::PrivateSystemBus bus;
  const auto session = sim::simulate(fake_session_settings(3.0, 5));
  bletest::FakeBluez fake({"--simulate", "3", "--seed", "5", "--mtu", "64", "--no-acquire-notify"});
  io::BleTransport transport(ble_settings());
  Recording rec;
  record(transport, sim::encode_frame_list(session).size(), rec);
  EXPECT_EQ(rec.path, io::BleNotifyPath::properties_changed);
  EXPECT_TRUE(rec.sink.gaps.empty());
  expect_all_samples(session, rec.sink);
}

// The link drops after frame 120; the device keeps sampling, so frames 120..159 are never sent.
// Expected: one outage (disconnect then reconnect), one EMG gap covering exactly the EMG samples of
// the skipped frames, every other sample intact.
TEST(BleSession, DroppedLinkGivesOneGapAndResumesTheSameSession) {
  bletest::PrivateSystemBus bus;
  const auto session = sim::simulate(fake_session_settings(4.0, 21));
  const auto frames = sim::encode_frame_list(session);
  constexpr std::size_t kDropAfter = 120;
  constexpr std::size_t kSkipped = 40;
  std::size_t emg_before = 0;
  std::size_t emg_skipped = 0;
  for (std::size_t i = 0; i < kDropAfter + kSkipped; ++i) {
    if (frames[i].type == GSP_MSG_EMG_BLOCK) {
      (i < kDropAfter ? emg_before : emg_skipped) += 1;
    }
  }
  ASSERT_GT(emg_skipped, 0u);
  std::uint64_t gap_start = session.emg[emg_before].first_sample;
  std::uint64_t gap_count = 0;
  for (std::size_t b = emg_before; b < emg_before + emg_skipped; ++b) {
    gap_count += session.emg[b].samples();
  }

  bletest::FakeBluez fake({"--simulate", "4", "--seed", "21", "--mtu", "185", "--drop-after-frames",
                           std::to_string(kDropAfter), "--skip-frames", std::to_string(kSkipped)});
  io::BleTransport transport(ble_settings());
  Recording rec;
  record(transport, sim::encode_frame_list(session).size(), rec);

  EXPECT_EQ(rec.link_events, (std::vector<EventKind>{EventKind::disconnect, EventKind::reconnect}));
  std::vector<Gap> emg_gaps;
  for (const auto& g : rec.sink.gaps) {
    if (g.stream == StreamKind::emg) {
      emg_gaps.push_back(g);
    }
  }
  ASSERT_EQ(emg_gaps.size(), 1u);
  EXPECT_EQ(emg_gaps[0].start_sample, gap_start);
  EXPECT_EQ(emg_gaps[0].count, gap_count);
  EXPECT_EQ(rec.counters.lost_frames, kSkipped);
  EXPECT_EQ(rec.counters.device_restarts, 0u);  // same session, resumed

  // Every received EMG sample equals the truth; exactly the gap's samples are missing.
  const auto truth = session.emg_counts();
  const std::size_t ch = rec.sink.channels;
  EXPECT_EQ(rec.sink.emg.size(), truth.size() - gap_count * ch);
  for (const auto& [index, count] : rec.sink.emg) {
    ASSERT_EQ(count, truth.at(index));
    const std::uint64_t sample = index / ch;
    ASSERT_FALSE(sample >= gap_start && sample < gap_start + gap_count) << sample;
  }
}

}  // namespace
}  // namespace glutescope
