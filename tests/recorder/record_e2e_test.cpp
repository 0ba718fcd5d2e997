// `glutescope record` end to end: the real binary reads a test-owned simulated wearable through a real
// pseudo-terminal; the session file is read back with the store's reader and compared bit-exact with the
// simulator's in-memory session; losses are checked against the frames the test chose to damage.
#include <gtest/gtest.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "store/session_reader.hpp"

namespace glutescope::test {
namespace {

sim::SimulatorSettings short_session(double seconds, std::uint64_t seed = 3) {
  sim::SimulatorSettings s;
  s.seed = seed;
  s.reps = 1;
  s.duration_limit_s = seconds;
  return s;
}

struct ExpectedStream {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;  // (start, count), merged
  std::uint64_t samples = 0;
};

// Expected gaps per stream from which frames arrived intact (derived from the frames, not the recorder).
std::map<int, ExpectedStream> expected_streams(const std::vector<sim::EncodedFrame>& frames,
                                               const std::vector<bool>& intact) {
  std::map<int, ExpectedStream> out;  // key -1 = EMG, k = IMU k
  std::map<int, std::uint64_t> next;
  std::map<int, bool> started;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    const FrameContent c = inspect(frames[i].wire);
    if (c.type != GSP_MSG_EMG_BLOCK && c.type != GSP_MSG_IMU_BLOCK) continue;
    const int key = c.type == GSP_MSG_EMG_BLOCK ? -1 : c.sensor;
    if (!intact[i]) continue;
    ExpectedStream& s = out[key];
    if (started[key] && c.first_sample > next[key]) {
      if (!s.gaps.empty() && s.gaps.back().first + s.gaps.back().second == next[key]) {
        s.gaps.back().second += c.first_sample - next[key];
      } else {
        s.gaps.emplace_back(next[key], c.first_sample - next[key]);
      }
    }
    started[key] = true;
    next[key] = c.first_sample + c.samples;
    s.samples += c.samples;
  }
  return out;
}

// Every stored EMG row equals the simulator's sample with the same index; IMU likewise.
void expect_samples_match(const store::SessionReader& r, const sim::SimulatedSession& session) {
  const std::vector<std::int32_t> truth = session.emg_counts();
  const std::size_t ch = session.device_info.emg.size();
  const auto index = r.emg_sample_index();
  const auto counts = r.emg_counts();
  ASSERT_EQ(r.emg_channels(), ch);
  ASSERT_EQ(counts.size(), index.size() * ch);
  std::size_t mismatches = 0;
  for (std::size_t row = 0; row < index.size(); ++row) {
    ASSERT_LT(index[row], truth.size() / ch);
    for (std::size_t c = 0; c < ch; ++c) {
      if (counts[row * ch + c] != truth[index[row] * ch + c]) ++mismatches;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  for (std::uint8_t s = 0; s < r.imu_count(); ++s) {
    const auto accel = session.imu_accel(s);
    const auto gyro = session.imu_gyro(s);
    const auto rows = r.imu_counts(s);
    const auto idx = r.imu_sample_index(s);
    ASSERT_EQ(rows.accel.size(), idx.size() * 3);
    std::size_t bad = 0;
    for (std::size_t row = 0; row < idx.size(); ++row) {
      for (int a = 0; a < 3; ++a) {
        if (rows.accel[row * 3 + a] != accel[idx[row] * 3 + a]) ++bad;
        if (rows.gyro[row * 3 + a] != gyro[idx[row] * 3 + a]) ++bad;
      }
    }
    EXPECT_EQ(bad, 0u) << "IMU " << int(s);
  }
}

void expect_gaps(const store::SessionReader& r, const std::map<int, ExpectedStream>& expected) {
  std::map<int, std::vector<std::pair<std::uint64_t, std::uint64_t>>> got;
  for (const Gap& g : r.gaps()) {
    got[g.stream == StreamKind::emg ? -1 : g.sensor].emplace_back(g.start_sample, g.count);
  }
  for (const auto& [key, stream] : expected) {
    EXPECT_EQ(got[key], stream.gaps) << "stream " << key;
  }
  const std::uint64_t emg_rows = r.emg_rows();
  EXPECT_EQ(emg_rows, expected.at(-1).samples);
  for (std::uint8_t s = 0; s < r.imu_count(); ++s) EXPECT_EQ(r.imu_rows(s), expected.at(s).samples) << int(s);
}

TEST(RecordE2E, CleanSessionIsBitExactWithTheSimulator) {
  const auto dir = make_temp_dir("clean");
  const auto session = sim::simulate(short_session(4.0));
  const auto frames = sim::encode_frame_list(session);
  FakeDevice::Settings settings;
  settings.speed = 4.0;
  FakeDevice device(frames, dir / "ttyWEAR", settings);
  Glutescope rec({"record", "--port", (dir / "ttyWEAR").string(), "--subject", "S001", "--out",
                  (dir / "s.h5").string()},
                 dir / "log.txt");
  device.start();
  for (int i = 0; i < 400 && !device.finished(); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(device.finished());
  rec.signal(SIGINT);
  const int status = rec.wait();
  const std::string log = rec.output();
  ASSERT_EQ(status, 0) << log;
  EXPECT_NE(log.find("0 lost, 0 duplicate"), std::string::npos) << log;

  store::SessionReader r(dir / "s.h5");
  EXPECT_EQ(r.info().status, "complete");
  EXPECT_EQ(r.info().subject_id, "S001");
  EXPECT_EQ(r.emg_rows(), session.truth.emg_samples);
  for (std::uint8_t s = 0; s < 3; ++s) EXPECT_EQ(r.imu_rows(s), session.truth.imu_samples);
  expect_samples_match(r, session);
  EXPECT_TRUE(r.gaps().empty());
  EXPECT_EQ(r.statistics().crc_errors, 0u);
  EXPECT_EQ(r.statistics().frames_received, frames.size());
  EXPECT_EQ(r.montage().emg[0].label, "GMax_L");
  // The clock fit maps device time onto the host clock at 4x speed: slope 1/4 → drift −750000 ppm.
  EXPECT_NEAR(r.timing_fit().drift_ppm, -750000.0, 2000.0);

  // glutescope info --json agrees with the file.
  const auto [info_status, info_out] = run_glutescope({"info", (dir / "s.h5").string(), "--json"}, dir / "info.txt");
  ASSERT_EQ(info_status, 0) << info_out;
  const auto j = nlohmann::json::parse(info_out);
  EXPECT_EQ(j["emg"]["samples"].get<std::uint64_t>(), session.truth.emg_samples);
  EXPECT_EQ(j["emg"]["channels"].size(), 8u);
  EXPECT_EQ(j["imu"].size(), 3u);
  EXPECT_NEAR(j["duration_s"].get<double>(), static_cast<double>(session.truth.emg_samples) / 2000.0, 1e-9);
  std::filesystem::remove_all(dir);
}

TEST(RecordE2E, CorruptionIsAccountedExactly) {
  const auto dir = make_temp_dir("corrupt");
  const auto session = sim::simulate(short_session(4.0, 5));
  const auto frames = sim::encode_frame_list(session);
  FakeDevice::Settings settings;
  settings.speed = 4.0;
  // Bit flips in 5 frames (two of them consecutive EMG frames), dropped bytes in 2, garbage before 3.
  std::vector<std::size_t> flips, drops;
  for (std::size_t i = 20, n = 0; i < frames.size() && n < 5; i += 37) {
    if (inspect(frames[i].wire).type == GSP_MSG_EMG_BLOCK || inspect(frames[i].wire).type == GSP_MSG_IMU_BLOCK) {
      flips.push_back(i);
      ++n;
    }
  }
  for (std::size_t i = 300; i < frames.size(); ++i) {
    if (inspect(frames[i].wire).type == GSP_MSG_EMG_BLOCK && inspect(frames[i + 1].wire).type == GSP_MSG_EMG_BLOCK) {
      flips.push_back(i);
      flips.push_back(i + 1);
      break;
    }
  }
  drops = {411, 533};
  for (auto i : flips) settings.damage[i] = Damage::bit_flip;
  for (auto i : drops) settings.damage[i] = Damage::drop_bytes;
  settings.garbage_before = {{100, 17}, {250, 64}, {480, 5}};
  FakeDevice device(frames, dir / "ttyWEAR", settings);
  Glutescope rec({"record", "--port", (dir / "ttyWEAR").string(), "--subject", "S002", "--out",
                  (dir / "s.h5").string()},
                 dir / "log.txt");
  device.start();
  for (int i = 0; i < 400 && !device.finished(); ++i) std::this_thread::sleep_for(50ms);
  rec.signal(SIGINT);
  ASSERT_EQ(rec.wait(), 0) << rec.output();
  const std::string log = rec.output();

  std::vector<bool> intact(frames.size(), true);
  for (auto i : flips) intact[i] = false;
  for (auto i : drops) intact[i] = false;
  store::SessionReader r(dir / "s.h5");
  expect_samples_match(r, session);
  expect_gaps(r, expected_streams(frames, intact));
  // A bit flip under an intact COBS layer is exactly one CRC error; a frame with bytes cut out fails either
  // its CRC or its COBS/length check, depending on where the cut lands.
  EXPECT_GE(r.statistics().crc_errors, flips.size()) << log;
  EXPECT_LE(r.statistics().crc_errors, flips.size() + drops.size()) << log;
  EXPECT_EQ(r.statistics().lost_frames, flips.size() + drops.size());
  EXPECT_EQ(r.statistics().frames_received, frames.size() - flips.size() - drops.size());
  // Garbage bursts are counted byte for byte, plus the non-delimiter bytes of the rejected frames.
  std::uint64_t rejected_bytes = 0;
  for (auto i : flips) rejected_bytes += flip_payload_bit(frames[i].wire, 0).size() - 1;
  for (auto i : drops) rejected_bytes += frames[i].wire.size() - 1 - 3;
  EXPECT_NE(log.find(fmt::format("{} garbage bytes", device.garbage_bytes_sent() + rejected_bytes)),
            std::string::npos) << log;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glutescope::test
