// recorder_bench: the highest sustained input rate (channels × Hz) that `glutescope record` takes over a
// pseudo-terminal without losing a sample, and its CPU seconds per second of data.
//
// For each rate the bench plays a synthetic 16-channel int16 device (protocol v1 EMG_BLOCK frames of 30
// samples, no IMU) into a pty in real time for --seconds, runs the real glutescope binary on it as a child,
// stops it with SIGINT, and reads the child's CPU time (wait4) and its summary line (lost frames/samples).
// Usage: recorder_bench [--binary PATH] [--seconds S] [--rates HZ,HZ,...] (tools/bench/recorder_bench.sh)
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "devices/protocol.hpp"
#include "simulator/output.hpp"

namespace {

using namespace std::chrono_literals;
using glutescope::protocol::FrameStamp;

constexpr int kChannels = 16;
constexpr int kSamplesPerFrame = 30;

struct Result {
  double channels_hz = 0;
  double cpu_s_per_s = 0;
  std::uint64_t lost_frames = 0;
  std::uint64_t received_frames = 0;
  std::uint64_t sent_frames = 0;
  bool behind = false;  // the feeder itself could not keep up
};

Result run_rate(const std::string& binary, double rate_hz, double seconds) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / fmt::format("glutescope_bench_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  glutescope::sim::PseudoTerminal pty;
  const std::string out = (dir / "b.h5").string();
  const std::string log = (dir / "log.txt").string();
  const std::string montage = (dir / "montage.toml").string();
  {
    std::ofstream m(montage);
    for (int c = 0; c < kChannels; ++c)
      m << "[[emg]]\nlabel = \"CH" << c + 1 << "\"\nmuscle = \"other\"\nside = \"unknown\"\n";
  }
  std::fflush(stdout);
  const pid_t child = ::fork();
  if (child == 0) {
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    ::execl(binary.c_str(), binary.c_str(), "record", "--port", pty.slave_path().c_str(), "--subject",
            "BENCH", "--out", out.c_str(), "--montage", montage.c_str(), "--no-keys", "--stall-timeout", "10",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  Result result;
  result.channels_hz = rate_hz * kChannels;
  if (!pty.wait_for_reader(10s)) return result;
  glutescope::DeviceInfo info;
  info.serial_number = "BENCH";
  info.firmware_version = "bench";
  info.emg_rate_hz = rate_hz;
  for (int c = 0; c < kChannels; ++c) info.emg.push_back({fmt::format("CH{}", c + 1), 1000.0, 0.1});
  std::uint32_t seq = 0;
  auto write_all = [&](const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(pty.master_fd(), bytes.data() + done, bytes.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        // The pty buffer is full: the recorder has not read yet. Wait like a UART FIFO would; if the
        // recorder cannot keep up, the feeder falls behind real time and the rate counts as failed.
        pollfd p{pty.master_fd(), POLLOUT, 0};
        ::poll(&p, 1, 100);
      } else {
        return false;
      }
    }
    return true;
  };
  write_all(glutescope::protocol::encode_device_info(FrameStamp{1, seq++, 0}, info));
  std::vector<std::int32_t> counts(kChannels * kSamplesPerFrame);
  const auto total_frames = static_cast<std::uint64_t>(seconds * rate_hz / kSamplesPerFrame);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::uint8_t> batch;
  for (std::uint64_t f = 0; f < total_frames; ++f) {
    const std::uint64_t first = f * kSamplesPerFrame;
    for (std::size_t i = 0; i < counts.size(); ++i) counts[i] = static_cast<std::int16_t>(first * 7 + i);
    const auto t_us = static_cast<std::uint64_t>(static_cast<double>(first) * 1e6 / rate_hz);
    const auto frame =
        glutescope::protocol::encode_emg_block(FrameStamp{1, seq++, t_us}, static_cast<std::uint32_t>(first),
                                               kChannels, glutescope::SampleFormat::int16, counts);
    batch.insert(batch.end(), frame.begin(), frame.end());
    // Send when the frame's last sample exists (device time), in batches of at least 1 ms.
    const auto due =
        t0 + std::chrono::duration<double>(static_cast<double>(first + kSamplesPerFrame) / rate_hz);
    if (std::chrono::steady_clock::now() < due) {
      if (!write_all(batch)) break;
      batch.clear();
      std::this_thread::sleep_until(due);
    }
  }
  write_all(batch);
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.behind = elapsed > seconds * 1.05;
  result.sent_frames = total_frames + 1;
  pty.wait_until_drained(10s);
  std::this_thread::sleep_for(300ms);
  ::kill(child, SIGINT);
  int status = 0;
  rusage usage{};
  ::wait4(child, &status, 0, &usage);
  const double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                     static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
  result.cpu_s_per_s = cpu / seconds;
  std::ifstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long received = 0, lost = 0;
    if (std::sscanf(line.c_str(), "  frames: %llu received, %llu lost", &received, &lost) == 2) {
      result.received_frames = received;
      result.lost_frames = lost;
    }
  }
  if (result.received_frames != result.sent_frames) {
    std::ifstream again(log);
    std::stringstream text;
    text << again.rdbuf();
    fmt::print(stderr, "recorder output:\n{}\n", text.str());
  }
  fs::remove_all(dir);
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::string binary = GLUTESCOPE_EXE;
  double seconds = 5.0;
  std::vector<double> rates{4000, 16000, 32000, 64000, 96000, 128000};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--binary") == 0) binary = argv[i + 1];
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::stod(argv[i + 1]);
    if (std::strcmp(argv[i], "--rates") == 0) {
      rates.clear();
      std::stringstream list(argv[i + 1]);
      std::string item;
      while (std::getline(list, item, ',')) rates.push_back(std::stod(item));
    }
  }
  fmt::print("{:>8} {:>10} {:>14} {:>10} {:>10} {:>12} {:>8}\n", "ch", "rate_hz", "channels*Hz", "frames",
             "received", "lost", "cpu_s/s");
  double best = 0;
  for (const double rate : rates) {
    const Result r = run_rate(binary, rate, seconds);
    fmt::print("{:>8} {:>10.0f} {:>14.0f} {:>10} {:>10} {:>12} {:>8.3f}{}\n", kChannels, rate, r.channels_hz,
               r.sent_frames, r.received_frames, r.lost_frames, r.cpu_s_per_s,
               r.behind ? "  (feeder fell behind)" : "");
    std::fflush(stdout);
    if (r.received_frames == r.sent_frames && r.lost_frames == 0 && !r.behind)
      best = std::max(best, r.channels_hz);
  }
  fmt::print("highest sustained rate without loss: {:.0f} channels*Hz (goal 256 x 4000 = 1024000)\n", best);
  return 0;
}
