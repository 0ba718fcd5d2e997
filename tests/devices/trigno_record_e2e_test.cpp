// Trigno end to end with real parts: the emulator (`glutescope simulate --device trigno --listen`) serving
// the SDK's three ports on loopback TCP, the real `glutescope record --device trigno`, the file read back
// with h5py and compared bit-exact with the emulator's own samples (computed here from the same model
// settings and the emulator's conversion). Dropped frames cannot be seen in the data: the file then has
// fewer rows and no gap, and the session says loss is undetectable, with byte counts. Garbage bytes are
// counted in those byte counts. An unplug gives one session with one gap; a wrong greeting and a refused
// START give one line naming the device, a non-zero exit and no recording.
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "devices/trigno_protocol.hpp"
#include "recorder/e2e_support.hpp"
#include "simulator/trigno_emulator.hpp"
#include "support/files.hpp"

namespace glutescope::test {
namespace {

namespace tg = devices::trigno;

struct Expected {
  std::filesystem::path emg, acc[3];
  std::size_t frames = 0;
};

Expected write_expected(const std::filesystem::path& dir) {
  sim::SimulatorSettings s;
  s.reps = 2;
  const sim::TrignoSamples t = sim::trigno_samples(sim::simulate(sim::trigno_model_settings(s)));
  Expected e;
  e.frames = t.frames;
  e.emg = dir / "emg.bin";
  std::ofstream(e.emg, std::ios::binary)
      .write(reinterpret_cast<const char*>(t.emg.data()), static_cast<std::streamsize>(t.emg.size() * 4));
  for (int i = 0; i < 3; ++i) {  // sensors 9-11 carry the model's IMUs
    e.acc[i] = dir / ("acc" + std::to_string(i) + ".bin");
    std::ofstream out(e.acc[i], std::ios::binary);
    for (std::size_t k = 0; k < t.acc.size() / 48; ++k)
      out.write(reinterpret_cast<const char*>(&t.acc[k * 48 + (sim::kTrignoFirstImuSensor + i) * 3]), 6);
  }
  return e;
}

unsigned free_base_port() {
  static unsigned next = 52040 + static_cast<unsigned>(::getpid() % 400) * 10;
  next += 10;
  return next;
}

struct Result {
  int status = 0;
  std::string output;
};

Result record(const std::filesystem::path& dir, const std::vector<std::string>& emulator_args,
              double duration_s) {
  const unsigned port = free_base_port();
  std::vector<std::string> emu = {
      "simulate", "--device", "trigno", "--listen", "127.0.0.1:" + std::to_string(port), "--reps", "2"};
  emu.insert(emu.end(), emulator_args.begin(), emulator_args.end());
  Glutescope emulator(emu, dir / "emulator.log");
  for (int i = 0; i < 200 && emulator.output().find("listening") == std::string::npos; ++i)
    std::this_thread::sleep_for(20ms);
  Glutescope recorder(
      {"record", "--device", "trigno", "--host", "127.0.0.1", "--base-port", std::to_string(port),
       "--montage", GLUTESCOPE_SOURCE_DIR "/datasets/montage-trigno.toml", "--subject", "S01", "--out",
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
                                       nlohmann::json extra) {
  nlohmann::json imu = nlohmann::json::array();
  const double acc_rate = tg::kAccSamplesPerFrame / tg::kFrameIntervalS;
  for (int i = 0; i < 3; ++i) {
    nlohmann::json entry = {
        {"label", "sensor " + std::to_string(sim::kTrignoFirstImuSensor + 1 + i) + " accelerometer"},
        {"g_per_count", tg::kAccGPerCount},
        {"expected", e.acc[i].string()},
        {"rate_hz", acc_rate}};
    if (extra.contains("acc_reconnect_after")) entry["reconnect_after"] = extra["acc_reconnect_after"];
    imu.push_back(entry);
  }
  nlohmann::json spec = {{"rate_hz", tg::kEmgSamplesPerFrame / tg::kFrameIntervalS},
                         {"emg_channels", 16},
                         {"emg_uv_per_count", tg::kEmgMicrovoltsPerCount},
                         {"emg_expected", e.emg.string()},
                         {"imu", imu},
                         {"gaps", nlohmann::json::array()},
                         {"reconnect_after", nullptr}};
  for (auto& [k, v] : extra.items()) spec[k] = v;
  std::ofstream(dir / "spec.json") << spec.dump();
  const std::string cmd = std::string(GLUTESCOPE_SYSTEM_PYTHON) +
                          " " GLUTESCOPE_SOURCE_DIR "/tests/devices/check_device_session.py " +
                          (dir / "s.h5").string() + " " + (dir / "spec.json").string() + " > " +
                          (dir / "check.log").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  return {status, slurp(dir / "check.log")};
}

std::string events_text(const std::filesystem::path& file) {
  const std::string cmd = std::string(GLUTESCOPE_SYSTEM_PYTHON) +
                          " -c \"import h5py,sys; f=h5py.File(sys.argv[1],'r'); "
                          "print('\\n'.join(t.decode() if isinstance(t,bytes) else t for t in "
                          "f['/intervals/events/text'][:]))\" " +
                          file.string() + " > " + file.string() + ".events 2>&1";
  (void)std::system(cmd.c_str());
  return slurp(file.string() + ".events");
}

double seconds(std::size_t frames) { return static_cast<double>(frames) * tg::kFrameIntervalS; }

TEST(TrignoRecordE2E, CleanSessionIsBitExactAndSaysLossIsUndetectable) {
  const auto dir = make_temp_dir("trigno_clean");
  const Expected e = write_expected(dir);
  const Result r = record(dir, {"--speed", "4"}, seconds(e.frames) / 4.0 + 2.0);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto [status, log] = check_file(dir, e, nlohmann::json::object());
  EXPECT_EQ(status, 0) << log;
  const std::string events = events_text(dir / "s.h5");
  EXPECT_NE(events.find("lost samples cannot be detected"), std::string::npos) << events;
  const std::string bytes =
      fmt::format("EMG {} bytes = {} samples of 64 bytes", e.frames * 26 * 64, e.frames * 26);
  EXPECT_NE(events.find(bytes), std::string::npos) << bytes << "\n" << events;
}

TEST(TrignoRecordE2E, DroppedFramesAreUndetectableFewerRowsNoGap) {
  const auto dir = make_temp_dir("trigno_drops");
  const Expected e = write_expected(dir);
  const Result r = record(dir, {"--speed", "4", "--drop-packets", "100-102"}, seconds(e.frames) / 4.0 + 2.0);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("lost samples cannot be detected"), std::string::npos) << r.output;
  // Rows before frame 100 at their index; after it the rows are the model's shifted by the 78 unseen
  // samples (3 frames x 26), with no gap: exactly what undetectable loss means.
  const auto [status, log] = check_file(dir, e,
                                        {{"reconnect_after", 100 * 26},
                                         {"reconnect_gap", false},
                                         {"offset", -78},
                                         {"acc_reconnect_after", 200}});
  EXPECT_EQ(status, 0) << log;
}

TEST(TrignoRecordE2E, GarbageIsInTheByteCounts) {
  const auto dir = make_temp_dir("trigno_garbage");
  const Expected e = write_expected(dir);
  const Result r = record(dir, {"--speed", "4", "--garbage", "7@300"}, seconds(e.frames) / 4.0 + 2.0);
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string events = events_text(dir / "s.h5");
  const std::size_t bytes = e.frames * 26 * 64 + 7;
  const std::string expected = fmt::format("EMG {} bytes = {} samples of 64 bytes", bytes, bytes / 64);
  EXPECT_NE(events.find(expected), std::string::npos) << expected << "\n" << events;
  EXPECT_NE(events.find(fmt::format("{} + 0 bytes of samples cut off", bytes % 64)), std::string::npos)
      << events;
}

TEST(TrignoRecordE2E, UnplugAndReplugGiveOneSessionWithOneGap) {
  const auto dir = make_temp_dir("trigno_replug");
  const Expected e = write_expected(dir);
  const Result r =
      record(dir, {"--speed", "1", "--disconnect-at", "4", "--disconnect-for", "1"}, seconds(e.frames) - 1.5);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 disconnects"), std::string::npos) << r.output;
  const std::size_t cut_frame = static_cast<std::size_t>(4.0 / tg::kFrameIntervalS);
  const auto [status, log] =
      check_file(dir, e,
                 {{"reconnect_after", cut_frame * 26},
                  {"acc_reconnect_after", cut_frame * 2},
                  {"reconnect_slack", 20 * 26}});  // frames in flight when the connections reset
  EXPECT_EQ(status, 0) << log;
}

TEST(TrignoRecordE2E, RefusedStartIsOneLineAndNoRecording) {
  const auto dir = make_temp_dir("trigno_refuse");
  const Result r = record(dir, {"--refuse", "START"}, 5.0);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("trigno: START answered 'CANNOT COMPLETE', expected 'OK'"), std::string::npos)
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5"));
}

TEST(TrignoRecordE2E, WrongGreetingIsOneLineAndNoRecording) {
  const auto dir = make_temp_dir("trigno_greeting");
  const Result r = record(dir, {"--version-reply", "HTTP/1.1 400 Bad Request"}, 5.0);
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("trigno:"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Delsys Trigno System Digital Protocol Version"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5"));
}

}  // namespace
}  // namespace glutescope::test
