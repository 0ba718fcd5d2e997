// OpenBCI Cyton and Cyton + Daisy end to end with real parts: `glutescope simulate --device cyton[-daisy]
// --pty` (the emulated board on a pseudo-terminal behind a symlink, answering the SDK commands) into the
// real `glutescope record --device ...`; the file is read back (store reader and h5py) and compared with
// the emulator's ground truth: the model signals (re-simulated here from the same settings) and the
// truth JSON's runs, dropped packets and garbage bytes. Expected rows are rebuilt here from the
// documentation's pairing rule, not from the decoder.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <set>

#include "devices/cyton_device.hpp"
#include "recorder/e2e_support.hpp"
#include "simulator/cyton_emulator.hpp"
#include "store/session_reader.hpp"
#include "support/files.hpp"

namespace glutescope {
namespace {

using test::Glutescope;
using namespace std::chrono_literals;

constexpr int kReps = 2;
const char* kSpeed = "5";

// The implicit move of nlohmann::json is noexcept; clang-tidy 14 counts the assertion inside it as a throw.
// NOLINTNEXTLINE(bugprone-exception-escape)
struct Recorded {
  std::filesystem::path dir;
  int record_status = -1;
  std::string record_log;
  std::string simulate_log;
  nlohmann::json truth;
};

bool wait_for(const std::filesystem::path& p, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!std::filesystem::exists(p)) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// Runs the emulator and the recorder until the emulator has sent its session (then stops the recorder).
Recorded record(const std::string& name, const std::string& sim_device, const std::string& rec_device,
                std::vector<std::string> sim_args, const char* speed = kSpeed) {
  Recorded r;
  r.dir = test::make_temp_dir("cyton_" + name);
  std::vector<std::string> args = {"simulate",         "--device",
                                   sim_device,         "--pty",
                                   "--link",           (r.dir / "tty").string(),
                                   "--reps",           std::to_string(kReps),
                                   "--speed",          speed,
                                   "--truth",          (r.dir / "truth.json").string(),
                                   "--reader-timeout", "20"};
  args.insert(args.end(), sim_args.begin(), sim_args.end());
  Glutescope sim(args, r.dir / "sim.log");
  EXPECT_TRUE(wait_for(r.dir / "tty", 10s));
  Glutescope rec({"record", "--device", rec_device, "--port", (r.dir / "tty").string(), "--subject", "S1",
                  "--out", (r.dir / "s.h5").string(), "--no-keys", "--stall-timeout", "1"},
                 r.dir / "rec.log");
  // The emulator writes its truth when the whole session is sent, then waits for the reader to leave. The
  // recorder may already have stopped (bad input); otherwise it gets the last bytes, then Ctrl-C.
  const bool sent = wait_for(r.dir / "truth.json", 120s);
  std::this_thread::sleep_for(400ms);
  rec.signal(SIGINT);
  r.record_status = rec.wait(30s);
  const int sim_status = sim.wait(30s);
  EXPECT_TRUE(sent);
  r.record_log = rec.output();
  r.simulate_log = sim.output();
  EXPECT_TRUE(sim_status == 0 || r.record_status != 0) << r.simulate_log;
  if (std::filesystem::exists(r.dir / "truth.json"))
    r.truth = nlohmann::json::parse(test::slurp(r.dir / "truth.json"));
  return r;
}

// The model the emulator ran (its CLI defaults, --reps, --duration-limit).
sim::CytonSignals model_signals(double duration_limit_s = 0.0) {
  sim::SimulatorSettings s;
  s.reps = kReps;
  s.duration_limit_s = duration_limit_s;
  return sim::cyton_signals(sim::simulate(sim::cyton_model_settings(s)));
}

struct Expected {
  std::vector<std::int32_t> rows;              // in arrival order
  std::vector<std::uint64_t> first_run_index;  // sample index of each row of the first run
  std::vector<std::array<std::int16_t, 3>> accel;
  std::uint64_t lost_rows_in_runs = 0;  // rows lost to dropped packets inside runs
};

// What the recorder must have stored: every packet of every run that was sent, paired as the Cyton Data
// Format page says for a Daisy (odd sample number = board, the next even one = Daisy).
Expected expected(const nlohmann::json& truth, const sim::CytonSignals& signals, bool daisy) {
  Expected e;
  std::set<std::uint64_t> dropped;
  for (const auto& d : truth["device"]["dropped_slots"]) dropped.insert(d.get<std::uint64_t>());
  const std::vector<int> gains(16, 24);
  bool first_run = true;
  for (const auto& run : truth["device"]["runs"]) {
    const auto first = run["first_slot"].get<std::uint64_t>();
    const auto packets = run["packets"].get<std::uint64_t>();
    for (std::uint64_t a = 0; a < packets; ++a) {
      const std::uint64_t slot = first + a;
      const auto counter = static_cast<std::uint8_t>(a);
      if (!dropped.count(slot) && slot % 10 == 0 && slot / 10 < signals.accel.size())
        e.accel.push_back(signals.accel[slot / 10]);
      if (!daisy) {
        if (dropped.count(slot)) {
          ++e.lost_rows_in_runs;
          continue;
        }
        const auto ch = sim::cyton_packet_channels(signals, slot, counter, false, gains);
        e.rows.insert(e.rows.end(), ch.begin(), ch.end());
        if (first_run) e.first_run_index.push_back(a);
        continue;
      }
      if (a % 2 == 0 || a + 1 >= packets) continue;  // rows start at odd (board) packets
      if (dropped.count(slot) || dropped.count(slot + 1)) {
        ++e.lost_rows_in_runs;
        continue;
      }
      const auto board = sim::cyton_packet_channels(signals, slot, counter, true, gains);
      const auto dais =
          sim::cyton_packet_channels(signals, slot + 1, static_cast<std::uint8_t>(a + 1), true, gains);
      e.rows.insert(e.rows.end(), board.begin(), board.end());
      e.rows.insert(e.rows.end(), dais.begin(), dais.end());
      if (first_run) e.first_run_index.push_back((a - 1) / 2);
    }
    first_run = false;
  }
  return e;
}

void expect_h5py_reads(const std::filesystem::path& file, int channels, double rate) {
  const std::string command = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + GLUTESCOPE_SOURCE_DIR +
                              "/tests/devices/check_cyton.py " + file.string() + " " +
                              std::to_string(channels) + " " + std::to_string(rate) + " 24 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 512> buf{};
  while (std::fgets(buf.data(), buf.size(), pipe) != nullptr) out += buf.data();
  EXPECT_EQ(::pclose(pipe), 0) << out;
}

void expect_file_matches(const Recorded& r, bool daisy, std::uint64_t expected_lost) {
  ASSERT_EQ(r.record_status, 0) << r.record_log;
  const Expected e = expected(r.truth, model_signals(), daisy);
  store::SessionReader reader(r.dir / "s.h5");
  EXPECT_EQ(reader.info().status, "complete");
  const std::size_t channels = daisy ? 16 : 8;
  ASSERT_EQ(reader.emg_channels(), channels);
  const auto counts = reader.emg_counts();
  ASSERT_EQ(counts.size(), e.rows.size()) << r.record_log;
  EXPECT_TRUE(counts == e.rows) << "stored EMG differs from the emulator's packets";
  const auto index = reader.emg_sample_index();
  ASSERT_GE(index.size(), e.first_run_index.size());
  EXPECT_TRUE(std::equal(e.first_run_index.begin(), e.first_run_index.end(), index.begin()));
  std::uint64_t lost = 0;
  for (const Gap& g : reader.gaps())
    if (g.stream == StreamKind::emg) lost += g.count;
  EXPECT_EQ(lost, expected_lost);
  const auto imu = reader.imu_counts(0);
  ASSERT_EQ(imu.accel.size(), 3 * e.accel.size());
  for (std::size_t j = 0; j < e.accel.size(); ++j)
    for (std::size_t k = 0; k < 3; ++k) EXPECT_EQ(imu.accel[3 * j + k], e.accel[j][k]) << "accel " << j;
  EXPECT_FALSE(reader.device().imu[0].has_gyroscope());
}

TEST(CytonE2E, RecordsTheEmulatorBitExactWithDropsAndGarbageAccountedExactly) {
  const auto r =
      record("clean", "cyton", "cyton", {"--drop-packets", "100-102,700,2047", "--garbage", "7@300,40@1500"});
  ASSERT_FALSE(r.truth.is_null()) << r.simulate_log;
  EXPECT_EQ(r.truth["device"]["runs"].size(), 1u);
  expect_file_matches(r, false, 5);
  EXPECT_NE(r.record_log.find("47 garbage bytes"), std::string::npos) << r.record_log;
  EXPECT_NE(r.record_log.find("5 lost"), std::string::npos) << r.record_log;
  expect_h5py_reads(r.dir / "s.h5", 8, 250.0);
  // The analysis runs on it and says plainly what it cannot do without a gyroscope.
  Glutescope analyze({"analyze", (r.dir / "s.h5").string()}, r.dir / "analyze.log");
  EXPECT_EQ(analyze.wait(60s), 0) << analyze.output();
  Glutescope json({"analyze", "--json", (r.dir / "s.h5").string()}, r.dir / "analyze.json");
  EXPECT_EQ(json.wait(60s), 0);
  EXPECT_NE(json.output().find("no gyroscope"), std::string::npos) << json.output();
  std::filesystem::remove_all(r.dir);
}

// --speed 0 (as fast as the reader takes bytes): the whole session arrives, one run, bit-exact. (The
// emulator once skipped every slot at the start of streaming at this speed and sent nothing.)
TEST(CytonE2E, AsFastAsTheReaderTakesBytesSendsTheWholeSession) {
  const auto r = record("fast", "cyton", "cyton", {}, "0");
  ASSERT_FALSE(r.truth.is_null()) << r.simulate_log;
  ASSERT_EQ(r.truth["device"]["runs"].size(), 1u) << r.truth["device"].dump();
  EXPECT_EQ(r.truth["device"]["runs"][0]["packets"].get<std::uint64_t>(), model_signals().slots())
      << "every slot of the model is sent";
  expect_file_matches(r, false, 0);
  std::filesystem::remove_all(r.dir);
}

TEST(CytonE2E, DaisyRowsArePairedBitExactAndAHalfLostIsARowLost) {
  // Dropped packet 501 is a board half (odd), 800 a Daisy half (even): two rows lost.
  const auto r =
      record("daisy", "cyton-daisy", "cyton-daisy", {"--drop-packets", "501,800", "--garbage", "5@77"});
  ASSERT_FALSE(r.truth.is_null()) << r.simulate_log;
  expect_file_matches(r, true, 2);
  EXPECT_NE(r.record_log.find("5 garbage bytes"), std::string::npos) << r.record_log;
  expect_h5py_reads(r.dir / "s.h5", 16, 125.0);
  std::filesystem::remove_all(r.dir);
}

TEST(CytonE2E, UnplugAndReplugGiveOneSessionWithOneGap) {
  // Real time: after the reconnect the outage is estimated from the host clock, which only matches the
  // device's at speed 1.
  const auto r = record("replug", "cyton", "cyton",
                        {"--disconnect-at", "5", "--disconnect-for", "1", "--duration-limit", "11"}, "1");
  ASSERT_EQ(r.record_status, 0) << r.record_log;
  ASSERT_EQ(r.truth["device"]["runs"].size(), 2u) << r.truth["device"].dump();
  // Packets still in the pty when the link went away are lost with it (as on a real unplug): the first run
  // is stored up to the last packet that was read, the second run whole.
  nlohmann::json first = r.truth, second = r.truth;
  first["device"]["runs"] = nlohmann::json::array({r.truth["device"]["runs"][0]});
  second["device"]["runs"] = nlohmann::json::array({r.truth["device"]["runs"][1]});
  const auto signals = model_signals(11.0);
  const Expected e1 = expected(first, signals, false);
  const Expected e2 = expected(second, signals, false);
  store::SessionReader reader(r.dir / "s.h5");
  EXPECT_EQ(reader.info().status, "complete");
  const auto counts = reader.emg_counts();
  ASSERT_GE(counts.size(), e2.rows.size());
  const std::size_t kept = (counts.size() - e2.rows.size()) / 8;  // rows of the first run that arrived
  ASSERT_LE(kept * 8, e1.rows.size());
  EXPECT_GE(kept + 150, e1.rows.size() / 8) << "more lost in the unplug than a pty buffer holds";
  EXPECT_TRUE(
      std::equal(e1.rows.begin(), e1.rows.begin() + static_cast<std::ptrdiff_t>(kept * 8), counts.begin()))
      << "first run: every packet up to the unplug, in order";
  EXPECT_TRUE(
      std::equal(e2.rows.begin(), e2.rows.end(), counts.begin() + static_cast<std::ptrdiff_t>(kept * 8)))
      << "second run: every packet after the replug, in order";
  const std::uint64_t true_gap = r.truth["device"]["runs"][1]["first_slot"].get<std::uint64_t>() - kept;
  std::vector<Gap> emg_gaps;
  for (const Gap& g : reader.gaps())
    if (g.stream == StreamKind::emg) emg_gaps.push_back(g);
  ASSERT_EQ(emg_gaps.size(), 1u);
  // The board is reset at the reconnect, so the gap is the host clock's estimate (docs/DEVICES.md): the
  // time between the last packet before and the first after, less the transport delays on both sides;
  // 0.1 s (25 packets) bounds the arrival jitter of a pty on a loaded build machine.
  EXPECT_NEAR(static_cast<double>(emg_gaps[0].count), static_cast<double>(true_gap), 25.0);
  int disconnects = 0, reconnects = 0, notes = 0;
  for (const Event& ev : reader.events()) {
    disconnects += ev.kind == EventKind::disconnect;
    reconnects += ev.kind == EventKind::reconnect;
    notes += ev.kind == EventKind::note && ev.text.find("estimated from the host clock") != std::string::npos;
  }
  EXPECT_EQ(disconnects, 1);
  EXPECT_EQ(reconnects, 1);
  EXPECT_EQ(notes, 1);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(r.dir);
}

void expect_one_line_refusal(const Recorded& r, const std::string& device, const std::string& expected_text) {
  EXPECT_NE(r.record_status, 0) << r.record_log;
  std::string line = r.record_log;
  while (!line.empty() && line.back() == '\n') line.pop_back();
  const auto last = line.rfind('\n');
  line = last == std::string::npos ? line : line.substr(last + 1);
  EXPECT_EQ(line.rfind("glutescope: " + device + ":", 0), 0u) << r.record_log;
  EXPECT_NE(line.find(expected_text), std::string::npos) << line;
  EXPECT_LE(line.size(), 230u) << line;  // "glutescope: " + at most ~200 characters
  EXPECT_FALSE(std::filesystem::exists(r.dir / "s.h5")) << "nothing was recorded, so no file";
}

TEST(CytonE2E, WrongVersionWrongPacketSizeAndWrongChannelModeAreOneLineErrors) {
  {
    const auto r = record("version", "cyton", "cyton", {"--version-reply", "Ganglion v2.0.1$$$"});
    expect_one_line_refusal(r, "cyton", "expected 'OpenBCI V3'");
    std::filesystem::remove_all(r.dir);
  }
  {
    const auto r = record("size", "cyton", "cyton", {"--packet-size", "34"});
    expect_one_line_refusal(r, "cyton", "33-byte packets");
    std::filesystem::remove_all(r.dir);
  }
  {
    const auto r = record("mode", "cyton", "cyton-daisy", {});
    expect_one_line_refusal(r, "cyton-daisy", "expected '16$$$'");
    std::filesystem::remove_all(r.dir);
  }
}

}  // namespace
}  // namespace glutescope
