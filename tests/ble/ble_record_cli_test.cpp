// `glutescope record --ble` end to end: the real CLI process records the simulator's session from
// fake_bluez on a private bus into an HDF5 file, read back with the store's SessionReader and compared
// with the same session generated here in memory; BlueZ errors give a clear message and exit status.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ble/ble_test_support.hpp"
#include "glutescope_protocol.h"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"
#include "store/session_reader.hpp"
#include "support/cli.hpp"

namespace glutescope {
namespace {

// Same settings as fake_bluez --simulate S --seed N (tests/ble/fake_bluez.cpp).
sim::SimulatedSession fake_session(double seconds, std::uint64_t seed) {
  sim::SimulatorSettings s;
  s.seed = seed;
  s.reps = 2;
  s.duration_limit_s = seconds;
  return sim::simulate(s);
}

TEST(BleRecordCli, RecordsTheSimulatedSessionWithOneGapAcrossADroppedLink) {
  bletest::PrivateSystemBus bus;
  const auto session = fake_session(4.0, 31);
  const auto frames = sim::encode_frame_list(session);
  constexpr std::size_t kDropAfter = 150;
  constexpr std::size_t kSkipped = 30;
  std::size_t emg_before = 0;
  std::size_t emg_skipped = 0;
  for (std::size_t i = 0; i < kDropAfter + kSkipped; ++i) {
    if (frames[i].type == GSP_MSG_EMG_BLOCK) {
      (i < kDropAfter ? emg_before : emg_skipped) += 1;
    }
  }
  const std::uint64_t gap_start = session.emg[emg_before].first_sample;
  std::uint64_t gap_count = 0;
  for (std::size_t b = emg_before; b < emg_before + emg_skipped; ++b) {
    gap_count += session.emg[b].samples();
  }

  bletest::FakeBluez fake({"--simulate", "4", "--seed", "31", "--mtu", "64", "--drop-after-frames",
                           std::to_string(kDropAfter), "--skip-frames", std::to_string(kSkipped)});
  const auto file = bus.directory() / "session.h5";
  // The fake streams the 4-s session in well under a second; 1.5 s of recording covers it, and the
  // stall timeout is longer so the idle tail is not taken for a second outage.
  const test::CliRun run =
      test::run_glutescope({"record", "--ble", "glutescope-sim", "--subject", "S001", "--out", file.string(),
                            "--duration", "1.5", "--stall-timeout", "5", "--no-keys"},
                           bus.directory() / "glutescope.log");
  ASSERT_EQ(run.exit_status, 0) << run.output;

  store::SessionReader reader(file);
  const std::size_t ch = reader.emg_channels();
  ASSERT_EQ(ch, session.device_info.emg.size());
  const auto counts = reader.emg_counts();
  const auto index = reader.emg_sample_index();
  const auto truth = session.emg_counts();
  ASSERT_EQ(index.size(), session.truth.emg_samples - gap_count);
  for (std::size_t row = 0; row < index.size(); ++row) {
    ASSERT_FALSE(index[row] >= gap_start && index[row] < gap_start + gap_count) << index[row];
    for (std::size_t c = 0; c < ch; ++c) {
      ASSERT_EQ(counts[row * ch + c], truth[index[row] * ch + c])
          << "sample " << index[row] << " channel " << c;
    }
  }
  std::vector<Gap> emg_gaps;
  for (const auto& g : reader.gaps()) {
    if (g.stream == StreamKind::emg) {
      emg_gaps.push_back(g);
    }
  }
  ASSERT_EQ(emg_gaps.size(), 1u);
  EXPECT_EQ(emg_gaps[0].start_sample, gap_start);
  EXPECT_EQ(emg_gaps[0].count, gap_count);
  int disconnects = 0;
  int reconnects = 0;
  for (const auto& e : reader.events()) {
    disconnects += e.kind == EventKind::disconnect ? 1 : 0;
    reconnects += e.kind == EventKind::reconnect ? 1 : 0;
  }
  EXPECT_EQ(disconnects, 1);
  EXPECT_EQ(reconnects, 1);
}

void expect_clear_failure(const std::vector<std::string>& fake_args, const std::string& words) {
  bletest::PrivateSystemBus bus;
  bletest::FakeBluez fake(fake_args);
  const auto file = bus.directory() / "session.h5";
  const test::CliRun run =
      test::run_glutescope({"record", "--ble", "C0:FF:EE:00:00:01", "--ble-scan-timeout", "0.3", "--subject",
                            "S001", "--out", file.string(), "--duration", "1", "--no-keys"},
                           bus.directory() / "glutescope.log");
  EXPECT_NE(run.exit_status, 0);
  EXPECT_NE(run.output.find("glutescope: BLE: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(words), std::string::npos) << run.output;
}

TEST(BleRecordCli, DeviceNotFoundExitsNonZeroWithAClearMessage) {
  expect_clear_failure({"--device-absent"}, "device 'C0:FF:EE:00:00:01' not found within 0.3 s");
}

TEST(BleRecordCli, PermissionDeniedExitsNonZeroWithAClearMessage) {
  expect_clear_failure({"--not-authorized"}, "permission denied");
}

TEST(BleRecordCli, AdapterOffExitsNonZeroWithAClearMessage) {
  expect_clear_failure({"--adapter-off"}, "powered off");
}

}  // namespace
}  // namespace glutescope
