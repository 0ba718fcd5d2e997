#include "simulator/bitalino_emulator.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/core.h>

#include "simulator/output.hpp"
#include "simulator/truth_json.hpp"

namespace glutescope::sim {
namespace bit = devices::bitalino;
namespace {

using Clock = std::chrono::steady_clock;

// Points `link` at the current pty atomically (a reader following the link never sees it missing).
void update_link(const std::string& link, const std::string& target) {
  if (link.empty()) return;
  const std::string tmp = link + ".tmp";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  std::filesystem::create_symlink(target, tmp, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot create the link {}: {}", link, ec.message()));
  std::filesystem::rename(tmp, link, ec);
  if (ec) throw std::runtime_error(fmt::format("cannot move the link {}: {}", link, ec.message()));
}

bool in_ranges(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges, std::uint64_t k) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return k >= r.first && k <= r.second; });
}

// The emulated board: command state and the frames it streams.
class Board {
 public:
  Board(const EmulatorOptions& options, std::vector<bit::Frame> frames)
      : options_(options),
        frames_(std::move(frames)),
        rng_(static_cast<std::uint32_t>(options.settings.seed)) {}

  // Handles command bytes as the firmware's uart.c does (idle: version, rate, start; live: stop).
  void command(std::uint8_t cmd, int fd) {
    if (live_) {
      if (cmd == 0x00 || cmd == bit::kStopCommand) live_ = false;
      return;
    }
    if (cmd == bit::kVersionCommand || cmd == 0x0F) {
      const std::string reply =
          (options_.version_override.empty() ? std::string("BITalino_v5.1") : options_.version_override) +
          "\n";
      write_all(fd, {reply.begin(), reply.end()});
    } else if ((cmd & 3) == 1) {
      mask_ = static_cast<std::uint8_t>(cmd >> 2);
      live_ = true;
      start_pending_ = true;
    } else if ((cmd & 3) == 3 && bit::rate_of_command(cmd) && *bit::rate_of_command(cmd) != 1000) {
      std::fprintf(stderr, "glutescope: the BITalino emulator streams at 1000 Hz only\n");
    }
  }

  // Appends the wire bytes of model sample k (garbage before it, nothing if it is dropped).
  void frame_bytes(std::uint64_t k, std::vector<std::uint8_t>& out) {
    for (const auto& [packet, bytes] : options_.faults.garbage) {
      if (packet != k) continue;
      for (std::size_t i = 0; i < bytes; ++i) out.push_back(static_cast<std::uint8_t>(rng_()));
    }
    if (in_ranges(options_.faults.drop_packets, k)) return;
    bit::Frame f = frames_[k];
    f.sequence = static_cast<std::uint8_t>((k - start_sample_) & 0x0F);
    const std::size_t channels = bit::channel_count(mask_);
    std::uint8_t wire[bit::kMaxFrameSize];
    std::size_t size = bit::pack(f, channels, wire);
    out.insert(out.end(), wire, wire + size);
    if (options_.packet_size_override > 0) out.resize(out.size() - size + options_.packet_size_override, 0);
  }

  static bool write_all(int fd, const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = ::poll(&p, 1, 200);
      if (ready > 0 && (p.revents & POLLHUP) != 0) return false;
      if (ready <= 0) continue;
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return false;
      }
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  const EmulatorOptions& options_;
  std::vector<bit::Frame> frames_;
  std::mt19937 rng_;
  bool live_ = false;
  bool start_pending_ = false;
  std::uint8_t mask_ = 0x1F;
  std::uint64_t start_sample_ = 0;  // model sample at the last start command (sequence 0)
};

std::unique_ptr<PseudoTerminal> open_pty(const EmulatorOptions& options) {
  auto pty = std::make_unique<PseudoTerminal>();
  update_link(options.link, pty->slave_path());
  std::printf("pty: %s\n", pty->slave_path().c_str());
  std::fflush(stdout);
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(options.reader_timeout_s * 1000.0));
  if (!pty->wait_for_reader(timeout))
    throw std::runtime_error(
        fmt::format("no reader opened {} within {} s", pty->slave_path(), options.reader_timeout_s));
  return pty;
}

// Reads and handles pending command bytes; false once the reader has gone.
bool serve_commands(Board& board, int fd, int wait_ms) {
  pollfd p{fd, POLLIN, 0};
  const int ready = ::poll(&p, 1, wait_ms);
  if (ready <= 0) return true;
  if ((p.revents & POLLIN) == 0) return (p.revents & POLLHUP) == 0;
  std::uint8_t buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  for (ssize_t i = 0; i < n; ++i) board.command(buf[i], fd);
  return true;
}

}  // namespace

SimulatorSettings bitalino_model_settings(SimulatorSettings settings) {
  settings.emg_rate_hz = kBitalinoRateHz;
  settings.imu_rate_hz = kBitalinoRateHz;
  return settings;
}

std::vector<bit::Frame> bitalino_frames(const SimulatedSession& session) {
  const std::vector<std::int32_t> emg = session.emg_counts();
  const std::size_t channels = session.montage.emg.size();
  const std::vector<std::int16_t> acc = session.imu_accel(kBitalinoAccSensor);
  const double g_per_count = session.device_info.imu.at(kBitalinoAccSensor).accel_g_per_count;
  const bit::AccCalibration cal;
  const std::size_t samples = std::min(emg.size() / channels, acc.size() / 3);
  std::vector<bit::Frame> frames(samples);
  for (std::size_t k = 0; k < samples; ++k) {
    for (std::size_t a = 0; a < 4; ++a) {
      const auto c = static_cast<std::size_t>(kBitalinoEmgSources[a]);
      const double uv = emg[k * channels + c] * session.montage.emg[c].microvolts_per_count;
      frames[k].analog[a] = static_cast<std::uint16_t>(
          std::clamp(std::lround(uv / bit::kEmgMicrovoltsPerCount) + 512, 0L, 1023L));
    }
    const double g = acc[k * 3] * g_per_count;
    const double adc10 = (g + 1.0) / 2.0 * (cal.c_max - cal.c_min) + cal.c_min;
    frames[k].analog[4] = static_cast<std::uint16_t>(std::clamp(std::lround(adc10 / 16.0), 0L, 63L));
    frames[k].digital = 0x0C;  // I1, I2 pulled up (firmware main.c)
  }
  return frames;
}

void run_bitalino_emulator(const EmulatorOptions& options) {
  if (!options.pty) throw std::invalid_argument("the BITalino emulator answers commands: use --pty");
  const SimulatedSession session = simulate(bitalino_model_settings(options.settings));
  if (!options.truth.empty()) {
    std::ofstream file(options.truth);
    file << truth_to_json(session).dump(1) << '\n';
    if (!file) throw std::runtime_error(fmt::format("cannot write the truth file '{}'", options.truth));
  }
  Board board(options, bitalino_frames(session));
  const std::uint64_t total = board.frames_.size();
  const double speed = options.speed;
  std::unique_ptr<PseudoTerminal> pty = open_pty(options);
  std::uint64_t next = 0;  // next model sample
  Clock::time_point t0{};  // model time 0 (first start); real time = t0 + model time / speed
  bool started = false, disconnected = false;
  std::vector<std::uint8_t> out;
  while (next < total) {
    if (!serve_commands(board, pty->master_fd(), board.live_ ? 2 : 20)) return;  // reader gone
    if (!board.live_) continue;
    const auto now = Clock::now();
    if (board.start_pending_) {
      board.start_pending_ = false;
      if (!started) t0 = now;
      started = true;
      if (speed > 0.0)
        next = std::max(
            next, static_cast<std::uint64_t>(std::chrono::duration<double>(now - t0).count() * speed * 1000));
      board.start_sample_ = next;
    }
    const std::uint64_t due =
        speed > 0.0
            ? static_cast<std::uint64_t>(std::chrono::duration<double>(now - t0).count() * speed * 1000.0)
            : next + 64;
    out.clear();
    const double cut_at = options.faults.disconnect_at_s * kBitalinoRateHz;
    while (next < std::min(due, total)) {
      if (!disconnected && options.faults.disconnect_at_s >= 0.0 && static_cast<double>(next) >= cut_at)
        break;
      board.frame_bytes(next++, out);
    }
    if (!out.empty() && !Board::write_all(pty->master_fd(), out)) return;
    if (!disconnected && options.faults.disconnect_at_s >= 0.0 && static_cast<double>(next) >= cut_at) {
      // Unplug: the board loses its link and goes idle; samples due meanwhile are never sent.
      disconnected = true;
      pty.reset();
      std::this_thread::sleep_for(
          std::chrono::duration<double>(options.faults.disconnect_for_s / std::max(speed, 1.0)));
      if (speed <= 0.0) next += static_cast<std::uint64_t>(options.faults.disconnect_for_s * kBitalinoRateHz);
      board.live_ = false;
      pty = open_pty(options);
    }
  }
  pty->wait_until_drained(std::chrono::seconds(30));
}

}  // namespace glutescope::sim
