// BITalino end to end with real parts: the emulator (`glutescope simulate --device bitalino --pty`) on a
// pseudo-terminal, the real `glutescope record --device bitalino`, the file read back with h5py and
// compared bit-exact with the emulator's own samples (computed here from the same model settings and
// the emulator's conversion, not from the recorder). Faults: dropped frames (exact gaps), garbage
// (counted exactly), an unplug and replug (one session, one gap). Bad input: a wrong version string and
// a wrong packet size give one line naming the device, a non-zero exit and no recording.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "devices/bitalino_protocol.hpp"
#include "recorder/e2e_support.hpp"
#include "simulator/bitalino_emulator.hpp"
#include "support/files.hpp"

namespace glutescope::test {
namespace {

namespace bit = devices::bitalino;

struct Expected {
  std::filesystem::path emg, acc;
  std::size_t samples = 0;
};

// The samples the emulator sends for `reps` repetitions (default seed), as the recorder must store them.
Expected write_expected(const std::filesystem::path& dir, int reps) {
  sim::SimulatorSettings s;
  s.reps = reps;
  const sim::SimulatedSession session = sim::simulate(sim::bitalino_model_settings(s));
  const auto frames = sim::bitalino_frames(session);
  Expected e{dir / "emg.bin", dir / "acc.bin", frames.size()};
  std::ofstream emg(e.emg, std::ios::binary), acc(e.acc, std::ios::binary);
  for (const bit::Frame& f : frames) {
    for (int c = 0; c < 4; ++c) {
      const std::int32_t v = bit::emg_count(f.analog[c], 10);
      emg.write(reinterpret_cast<const char*>(&v), 4);
    }
    const std::int16_t xyz[3] = {static_cast<std::int16_t>(bit::acc_count(f.analog[4], 6, {})), 0, 0};
    acc.write(reinterpret_cast<const char*>(xyz), 6);
  }
  return e;
}

struct Result {
  int status = 0;
  std::string output;
};

// Starts the emulator with `emulator_args`, records for `duration_s` from its link.
Result record(const std::filesystem::path& dir, const std::vector<std::string>& emulator_args,
              double duration_s) {
  const std::string link = (dir / "bitalino").string();
  std::vector<std::string> emu = {"simulate", "--device", "bitalino", "--pty", "--link", link, "--reps", "2"};
  emu.insert(emu.end(), emulator_args.begin(), emulator_args.end());
  Glutescope emulator(emu, dir / "emulator.log");
  for (int i = 0; i < 200 && !std::filesystem::exists(link); ++i) std::this_thread::sleep_for(20ms);
  Glutescope recorder({"record", "--device", "bitalino", "--port", link, "--montage",
                       GLUTESCOPE_SOURCE_DIR "/datasets/montage-bitalino.toml", "--subject", "S01", "--out",
                       (dir / "s.h5").string(), "--duration", std::to_string(duration_s), "--no-keys"},
                      dir / "record.log");
  Result r;
  r.status = recorder.wait(std::chrono::seconds(static_cast<long>(duration_s) + 30));
  r.output = recorder.output();
  emulator.signal(SIGTERM);
  emulator.wait(10s);
  return r;
}

std::pair<int, std::string> check_file(const std::filesystem::path& dir, const Expected& e,
                                       const nlohmann::json& gaps,
                                       std::optional<std::uint64_t> reconnect_after,
                                       std::uint64_t reconnect_slack = 3) {
  nlohmann::json spec = {
      {"rate_hz", 1000.0},
      {"emg_channels", 4},
      {"emg_uv_per_count", bit::kEmgMicrovoltsPerCount},
      {"emg_expected", e.emg.string()},
      {"imu", {{{"label", "A5 accelerometer"}, {"g_per_count", 1.0 / 104.0}, {"expected", e.acc.string()}}}},
      {"gaps", gaps},
      {"reconnect_after", reconnect_after ? nlohmann::json(*reconnect_after) : nlohmann::json()},
      {"reconnect_slack", reconnect_slack}};
  std::ofstream(dir / "spec.json") << spec.dump();
  const std::string cmd = std::string(GLUTESCOPE_SYSTEM_PYTHON) +
                          " " GLUTESCOPE_SOURCE_DIR "/tests/devices/check_device_session.py " +
                          (dir / "s.h5").string() + " " + (dir / "spec.json").string() + " > " +
                          (dir / "check.log").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  return {status, slurp(dir / "check.log")};
}

std::uint64_t summary_number(const std::string& output, const std::string& pattern) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(pattern))) return ~0ULL;
  return std::stoull(m[1].str());
}

TEST(BitalinoRecordE2E, CleanSessionIsBitExact) {
  const auto dir = make_temp_dir("bitalino_clean");
  const Expected e = write_expected(dir, 2);
  const Result r = record(dir, {"--speed", "4"}, 0.25 * static_cast<double>(e.samples) / 1000.0 + 2.0);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(summary_number(r.output, R"(EMG: (\d+) samples)"), e.samples) << r.output;
  const auto [status, log] = check_file(dir, e, nlohmann::json::array(), std::nullopt);
  EXPECT_EQ(status, 0) << log;
}

TEST(BitalinoRecordE2E, DropsAreExactGapsAndGarbageIsCountedExactly) {
  const auto dir = make_temp_dir("bitalino_faults");
  const Expected e = write_expected(dir, 2);
  const Result r =
      record(dir, {"--speed", "4", "--drop-packets", "1000-1009,2500", "--garbage", "7@3000,33@5000"},
             0.25 * static_cast<double>(e.samples) / 1000.0 + 2.0);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(summary_number(r.output, R"(EMG: \d+ samples x 4 channels at 1000 Hz, (\d+) lost)"), 11U)
      << r.output;
  EXPECT_EQ(summary_number(r.output, R"((\d+) garbage bytes)"), 40U) << r.output;
  const auto [status, log] = check_file(dir, e, nlohmann::json::array({{1000, 10}, {2500, 1}}), std::nullopt);
  EXPECT_EQ(status, 0) << log;
}

TEST(BitalinoRecordE2E, UnplugAndReplugGiveOneSessionWithOneGap) {
  const auto dir = make_temp_dir("bitalino_replug");
  const Expected e = write_expected(dir, 2);
  // The stream ends after samples / 1000 s (the samples due while unplugged are never sent): the
  // recording stops before the emulator's end closes the port a second time.
  const Result r = record(dir, {"--speed", "1", "--disconnect-at", "4", "--disconnect-for", "1"},
                          static_cast<double>(e.samples) / 1000.0 - 1.0);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(summary_number(r.output, R"((\d+) disconnects)"), 1U) << r.output;
  // Bytes still in the pty's buffer when it goes are lost with it (as on a real unplug) and fall inside
  // the one estimated gap: allow 250 ms of them on a loaded machine.
  const auto [status, log] = check_file(dir, e, nlohmann::json::array(), 4000, 250);
  EXPECT_EQ(status, 0) << log;
}

TEST(BitalinoRecordE2E, WrongVersionIsOneLineAndNoRecording) {
  const auto dir = make_temp_dir("bitalino_version");
  const Result r = record(dir, {"--version-reply", "BITalino_v4.2"}, 5.0);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(
      r.output.find("bitalino: version command 0x07 answered 'BITalino_v4.2', expected 'BITalino_v5.x'"),
      std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5"));
}

TEST(BitalinoRecordE2E, WrongPacketSizeIsOneLineNamingTheDevice) {
  const auto dir = make_temp_dir("bitalino_size");
  const Result r = record(dir, {"--packet-size", "6", "--speed", "1"}, 10.0);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("bitalino:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("8-byte frames"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace glutescope::test
