// End to end: the real `glutescope simulate` binary streaming to a pseudo-terminal, read back in raw mode
// and decoded with the project's StreamDecoder; file output, truth JSON and CLI misuse.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frame_capture.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"
#include "support/cli.hpp"

namespace glutescope::sim {
namespace {

const std::string& kBinary = glutescope::test::glutescope_binary();

struct Child {
  pid_t pid = -1;
  int stdout_fd = -1;
};

Child spawn(const std::vector<std::string>& args) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(kBinary.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(kBinary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  return {pid, out[0]};
}

// Reads one line from fd (blocking, with a deadline).
std::string read_line(int fd, std::chrono::seconds timeout) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char c = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (::read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs the binary through the shell, returning exit status and combined output.
std::pair<int, std::string> run(const std::string& args) {
  std::string output;
  FILE* pipe = ::popen((kBinary + " " + args + " 2>&1").c_str(), "r");
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(SimulateCli, PtyStreamDecodesBitExactToTheInMemorySession) {
  const auto truth_path =
      std::filesystem::temp_directory_path() / ("sim_truth_" + std::to_string(::getpid()) + ".json");
  Child child = spawn({"simulate", "--pty", "--seed", "7", "--reps", "2", "--speed", "0", "--ecg", "--mains",
                       "50", "--lead-off", "ES_L3_R@12.5", "--truth", truth_path.string()});
  const std::string line = read_line(child.stdout_fd, std::chrono::seconds(20));
  ASSERT_EQ(line.rfind("pty: /dev/", 0), 0U) << "got: " << line;
  const std::string path = line.substr(5);

  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(fd, 0) << path;
  termios tio{};
  ASSERT_EQ(::tcgetattr(fd, &tio), 0);
  ::cfmakeraw(&tio);
  ASSERT_EQ(::tcsetattr(fd, TCSANOW, &tio), 0);

  std::vector<std::uint8_t> bytes;
  std::uint8_t buffer[4096];
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;  // the simulator closed the master after we drained everything (EIO)
    bytes.insert(bytes.end(), buffer, buffer + n);
  }
  ::close(fd);
  EXPECT_EQ(wait_exit(child.pid), 0);
  ::close(child.stdout_fd);

  SimulatorSettings s;
  s.seed = 7;
  s.reps = 2;
  s.contaminants.ecg = true;
  s.contaminants.mains = Mains::hz50;
  s.contaminants.lead_off_channel = 5;
  s.contaminants.lead_off_time_s = 12.5;
  const SimulatedSession expected = simulate(s);

  test::StreamCapture capture;
  capture.feed(bytes);
  const test::CapturedStream got = capture.finish();
  EXPECT_EQ(got.counters.crc_errors, 0U);
  EXPECT_EQ(got.counters.cobs_errors, 0U);
  EXPECT_EQ(got.counters.garbage_bytes, 0U);
  for (std::size_t i = 0; i < got.sequences.size(); ++i) ASSERT_EQ(got.sequences[i], i);
  ASSERT_EQ(got.emg.size(), expected.truth.emg_samples * 8);
  EXPECT_TRUE(got.emg == expected.emg_counts());
  for (std::uint8_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(got.accel[i] == expected.imu_accel(i));
    EXPECT_TRUE(got.gyro[i] == expected.imu_gyro(i));
  }
  EXPECT_TRUE(bytes == encode_frames(expected)) << "the pty carried exactly the encoded byte stream";

  // The truth file describes the same session.
  std::ifstream truth_file(truth_path);
  ASSERT_TRUE(truth_file.good());
  const auto truth = nlohmann::json::parse(truth_file);
  EXPECT_EQ(truth["samples"]["emg"].get<std::uint64_t>(), expected.truth.emg_samples);
  EXPECT_EQ(truth["reps"].size(), 2U);
  EXPECT_EQ(truth["contaminants"]["lead_off"]["channel"].get<int>(), 5);
  EXPECT_DOUBLE_EQ(truth["reps"][1]["muscles"][0]["onset_s"].get<double>(),
                   expected.truth.schedule.reps[1].onset_s[0]);
  EXPECT_EQ(truth["joint_angles"]["angles_deg"]["pelvic_tilt_deg"].size(), expected.truth.imu_samples);
  std::filesystem::remove(truth_path);
}

TEST(SimulateCli, RealTimePacingTakesAtLeastTheScaledSessionTime) {
  // --speed 20: a ~13 s session must not arrive in much less than 13/20 s (lower bound only).
  Child child = spawn({"simulate", "--seed", "3", "--reps", "1", "--speed", "20"});
  const std::string line = read_line(child.stdout_fd, std::chrono::seconds(20));
  ASSERT_EQ(line.rfind("pty: /dev/", 0), 0U) << line;
  const int fd = ::open(line.substr(5).c_str(), O_RDWR | O_NOCTTY);
  ASSERT_GE(fd, 0);
  termios tio{};
  ::tcgetattr(fd, &tio);
  ::cfmakeraw(&tio);
  ::tcsetattr(fd, TCSANOW, &tio);
  const auto start = std::chrono::steady_clock::now();
  std::size_t total = 0;
  std::uint8_t buffer[4096];
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    total += static_cast<std::size_t>(n);
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ::close(fd);
  EXPECT_EQ(wait_exit(child.pid), 0);
  ::close(child.stdout_fd);
  SimulatorSettings s;
  s.seed = 3;
  s.reps = 1;
  const SimulatedSession expected = simulate(s);
  EXPECT_EQ(total, encode_frames(expected).size());
  EXPECT_GE(elapsed, 0.9 * expected.truth.schedule.duration_s / 20.0);
}

TEST(SimulateCli, FileAndStdoutOutputAreTheEncodedSession) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto out = dir / ("sim_out_" + std::to_string(::getpid()) + ".bin");
  const auto [status, text] =
      run("simulate --exercise clamshell --scenario pelvic-roll --reps 2 --seed 5 --out " + out.string());
  EXPECT_EQ(status, 0) << text;
  std::ifstream file(out, std::ios::binary);
  const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                        std::istreambuf_iterator<char>());
  SimulatorSettings s;
  s.exercise = Exercise::clamshell;
  s.scenario = Scenario::pelvic_roll;
  s.reps = 2;
  s.seed = 5;
  EXPECT_TRUE(bytes == encode_frames(simulate(s)));
  std::filesystem::remove(out);

  // stdout: same bytes as the file for the same seed; a different seed differs.
  const auto [s1, a] = run("simulate --reps 1 --seed 9 --out -");
  const auto [s2, b] = run("simulate --reps 1 --seed 9 --out -");
  const auto [s3, c] = run("simulate --reps 1 --seed 10 --out -");
  EXPECT_EQ(s1 + s2 + s3, 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SimulateCli, MisuseGivesOneClearLineAndANonZeroStatus) {
  struct Case {
    std::string args;
    std::string expected_text;
  };
  const std::vector<Case> cases = {
      {"simulate --scenario wobbly --out /dev/null", "unknown scenario 'wobbly'"},
      {"simulate --emg-rate 500 --out /dev/null", "1000..4000 Hz"},
      {"simulate --snr 75 --out /dev/null", "0..60 dB"},
      {"simulate --mains 55 --out /dev/null", "50 or 60"},
      {"simulate --scenario hamstring-dominant --exercise clamshell --out /dev/null", "bridge scenario"},
      {"simulate --lead-off GMax@x --out /dev/null", "--lead-off"},
      {"simulate --pty --out - ", "choose one output"},
  };
  for (const Case& c : cases) {
    const auto [status, text] = run(c.args);
    EXPECT_NE(status, 0) << c.args;
    EXPECT_NE(text.find(c.expected_text), std::string::npos) << c.args << " -> " << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << c.args << " -> " << text;
  }
  // --help documents every option with its unit and default.
  const auto [status, help] = run("simulate --help");
  EXPECT_EQ(status, 0);
  for (const char* option :
       {"--exercise", "--scenario", "--reps", "--seed", "--emg-rate", "--imu-rate", "--snr", "--mains",
        "--wander", "--ecg", "--motion-artefacts", "--lead-off", "--gyro-bias", "--mvc", "--speed", "--pty",
        "--out", "--truth", "--duration-limit"}) {
    EXPECT_NE(help.find(option), std::string::npos) << option;
  }
  EXPECT_NE(help.find("default: 2000"), std::string::npos);
  EXPECT_NE(help.find("dB"), std::string::npos);
}

}  // namespace
}  // namespace glutescope::sim
