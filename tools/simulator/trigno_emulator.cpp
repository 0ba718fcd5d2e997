#include "simulator/trigno_emulator.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include <fmt/core.h>

#include "devices/trigno_protocol.hpp"
#include "simulator/truth_json.hpp"

namespace glutescope::sim {
namespace tg = devices::trigno;
namespace {

using Clock = std::chrono::steady_clock;

int listen_on(const std::string& addr, unsigned port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::inet_pton(AF_INET, addr.c_str(), &a.sin_addr) != 1) {
    ::close(fd);
    throw std::invalid_argument(fmt::format("--listen: '{}' is not an IPv4 address", addr));
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 4) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", addr, port, std::strerror(err)));
  }
  return fd;
}

bool send_all(int& fd, const std::uint8_t* data, std::size_t size) {
  std::size_t done = 0;
  while (fd >= 0 && done < size) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      fd = -1;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return fd >= 0;
}

bool send_text(int& fd, const std::string& text) {
  return send_all(fd, reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

// The base's three ports and its command state.
class Base {
 public:
  Base(const EmulatorOptions& o, std::string addr, unsigned port)
      : options_(o), addr_(std::move(addr)), port_(port) {}
  ~Base() { close_all(true); }

  void open_listeners() {
    for (unsigned k = 0; k < 3; ++k) listeners_[k] = listen_on(addr_, port_ + k);
  }
  void close_all(bool listeners) {
    for (int& fd : clients_)
      if (fd >= 0) ::close(std::exchange(fd, -1));
    if (listeners)
      for (int& fd : listeners_)
        if (fd >= 0) ::close(std::exchange(fd, -1));
    inbox_.clear();
    streaming_ = false;
  }
  [[nodiscard]] bool data_ready() const { return streaming_ && clients_[1] >= 0 && clients_[2] >= 0; }

  // Accepts connections and answers commands, waiting at most `wait_ms`.
  void serve(int wait_ms) {
    std::array<pollfd, 4> p{};
    for (int k = 0; k < 3; ++k) p[k] = {listeners_[k], POLLIN, 0};
    p[3] = {clients_[0], POLLIN, 0};
    if (::poll(p.data(), p.size(), wait_ms) <= 0) return;
    for (int k = 0; k < 3; ++k) {
      if (listeners_[k] < 0 || (p[k].revents & POLLIN) == 0) continue;
      const int fd = ::accept4(listeners_[k], nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      if (clients_[k] >= 0) ::close(clients_[k]);
      clients_[k] = fd;
      if (k == 0) {
        inbox_.clear();
        const std::string greeting = options_.version_override.empty()
                                         ? std::string(tg::kGreetingPrefix) + " 3.6.0 "
                                         : options_.version_override;
        send_text(clients_[0], greeting + std::string(tg::kTerminator));
      }
    }
    if (clients_[0] >= 0 && (p[3].revents & (POLLIN | POLLHUP)) != 0) read_commands();
  }

  const EmulatorOptions& options_;
  std::string addr_;
  unsigned port_;
  std::array<int, 3> listeners_{-1, -1, -1};
  std::array<int, 3> clients_{-1, -1, -1};  // commands, EMG, accelerometer
  std::string inbox_;
  bool streaming_ = false;
  bool start_pending_ = false;

 private:
  void read_commands() {
    char buf[512];
    const ssize_t n = ::recv(clients_[0], buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(std::exchange(clients_[0], -1));
      return;
    }
    inbox_.append(buf, static_cast<std::size_t>(n));
    for (std::size_t end; (end = inbox_.find(tg::kTerminator)) != std::string::npos;) {
      const std::string command = inbox_.substr(0, end);
      inbox_.erase(0, end + tg::kTerminator.size());
      send_text(clients_[0], reply(command) + std::string(tg::kTerminator));
    }
  }

  // Replies as the SDK user guide gives them (MAN-025 command list).
  std::string reply(const std::string& command) {
    if (!options_.refuse_command.empty() && command == options_.refuse_command) return "CANNOT COMPLETE";
    if (command == "START") {
      streaming_ = true;
      start_pending_ = true;
      return "OK";
    }
    if (command == "STOP") {
      streaming_ = false;
      return "OK";
    }
    if (command == "ENDIANNESS?") return "LITTLE";
    if (command == "FRAME INTERVAL?") return "0.0135";
    if (command == "MAX SAMPLES EMG?") return std::to_string(tg::kEmgSamplesPerFrame);
    if (command == "MAX SAMPLES AUX?") return std::to_string(tg::kAccSamplesPerFrame);
    unsigned sensor = 0;
    if (std::sscanf(command.c_str(), "SENSOR %u PAIRED?", &sensor) == 1 && sensor >= 1 && sensor <= 16)
      return sensor <= static_cast<unsigned>(kTrignoFirstImuSensor + 3) ? "YES" : "NO";
    return "INVALID COMMAND";
  }
};

bool in_ranges(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& ranges, std::uint64_t k) {
  return std::any_of(ranges.begin(), ranges.end(),
                     [&](const auto& r) { return k >= r.first && k <= r.second; });
}

// Wire bytes of frame f on both data ports (float32 LE), garbage before it in the EMG stream.
void frame_bytes(const TrignoSamples& s, std::uint64_t f, const EmulatorOptions& o, std::mt19937& rng,
                 std::vector<std::uint8_t>& emg, std::vector<std::uint8_t>& acc) {
  for (const auto& [packet, bytes] : o.faults.garbage)
    if (packet == f)
      for (std::size_t i = 0; i < bytes; ++i) emg.push_back(static_cast<std::uint8_t>(rng()));
  if (in_ranges(o.faults.drop_packets, f)) return;
  std::uint8_t w[4];
  for (std::size_t k = f * tg::kEmgSamplesPerFrame * 16; k < (f + 1) * tg::kEmgSamplesPerFrame * 16; ++k) {
    tg::write_float_le(static_cast<float>(s.emg[k] * tg::kEmgVoltsPerCount), w);
    emg.insert(emg.end(), w, w + 4);
  }
  for (std::size_t k = f * tg::kAccSamplesPerFrame * 48; k < (f + 1) * tg::kAccSamplesPerFrame * 48; ++k) {
    tg::write_float_le(static_cast<float>(s.acc[k] * tg::kAccGPerCount), w);
    acc.insert(acc.end(), w, w + 4);
  }
}

}  // namespace

SimulatorSettings trigno_model_settings(SimulatorSettings settings) {
  settings.emg_rate_hz = tg::kEmgSamplesPerFrame / tg::kFrameIntervalS;
  settings.imu_rate_hz = tg::kAccSamplesPerFrame / tg::kFrameIntervalS;
  return settings;
}

TrignoSamples trigno_samples(const SimulatedSession& session) {
  TrignoSamples out;
  const std::vector<std::int32_t> emg = session.emg_counts();
  const std::size_t channels = session.montage.emg.size();
  std::array<std::vector<std::int16_t>, 3> acc;
  for (std::uint8_t i = 0; i < 3; ++i) acc[i] = session.imu_accel(i);
  out.frames =
      std::min(emg.size() / channels / tg::kEmgSamplesPerFrame, acc[0].size() / 3 / tg::kAccSamplesPerFrame);
  const std::size_t n = out.frames * tg::kEmgSamplesPerFrame, m = out.frames * tg::kAccSamplesPerFrame;
  out.emg.assign(n * 16, 0);
  out.acc.assign(m * 48, 0);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t c = 0; c < static_cast<std::size_t>(kTrignoEmgSensors); ++c)
      out.emg[k * 16 + c] = static_cast<std::int32_t>(std::lround(
          emg[k * channels + c] * session.montage.emg[c].microvolts_per_count / tg::kEmgMicrovoltsPerCount));
  for (std::size_t k = 0; k < m; ++k)
    for (std::size_t i = 0; i < 3; ++i) {
      const double g_per_count = session.device_info.imu[i].accel_g_per_count;
      for (std::size_t a = 0; a < 3; ++a)
        out.acc[k * 48 + (kTrignoFirstImuSensor + i) * 3 + a] = static_cast<std::int16_t>(
            std::clamp(std::lround(acc[i][k * 3 + a] * g_per_count / tg::kAccGPerCount), -32768L, 32767L));
    }
  return out;
}

void run_trigno_emulator(const EmulatorOptions& options) {
  const auto colon = options.listen.rfind(':');
  if (options.listen.empty() || colon == std::string::npos)
    throw std::invalid_argument(
        "the Trigno emulator serves TCP: give --listen ADDR:PORT (e.g. 127.0.0.1:50040)");
  const unsigned port = static_cast<unsigned>(std::stoul(options.listen.substr(colon + 1)));
  const SimulatedSession session = simulate(trigno_model_settings(options.settings));
  if (!options.truth.empty()) {
    std::ofstream file(options.truth);
    file << truth_to_json(session).dump(1) << '\n';
    if (!file) throw std::runtime_error(fmt::format("cannot write the truth file '{}'", options.truth));
  }
  const TrignoSamples samples = trigno_samples(session);
  Base base(options, options.listen.substr(0, colon), port);
  base.open_listeners();
  std::printf("listening: %s (commands), ports %u and %u (EMG, accelerometer)\n", options.listen.c_str(),
              port + 1, port + 2);
  std::fflush(stdout);
  std::mt19937 rng(static_cast<std::uint32_t>(options.settings.seed));
  const double speed = options.speed > 0.0 ? options.speed : 1.0;
  const auto frame_at = [&](Clock::time_point t0) {
    return static_cast<std::uint64_t>(std::chrono::duration<double>(Clock::now() - t0).count() * speed /
                                      tg::kFrameIntervalS);
  };
  const auto deadline = Clock::now() + std::chrono::duration<double>(options.reader_timeout_s);
  Clock::time_point t0{};
  bool started = false, disconnected = false, waiting = false;
  Clock::time_point waiting_since{};
  std::uint64_t next = 0;
  const auto cut =
      static_cast<std::uint64_t>(std::max(0.0, options.faults.disconnect_at_s) / tg::kFrameIntervalS);
  std::vector<std::uint8_t> emg, acc;
  while (next < samples.frames) {
    base.serve(2);
    if (!started && Clock::now() > deadline)
      throw std::runtime_error("no client started the Trigno emulator in time");
    if (!base.data_ready()) {
      // A client that stopped or left for longer than the reader timeout is not coming back.
      if (!waiting) waiting_since = Clock::now();
      waiting = true;
      if (started && Clock::now() - waiting_since > std::chrono::duration<double>(options.reader_timeout_s))
        return;
      continue;
    }
    waiting = false;
    if (base.start_pending_) {
      base.start_pending_ = false;
      if (!started) t0 = Clock::now();
      started = true;
      next = std::max(next, frame_at(t0));
    }
    emg.clear();
    acc.clear();
    const std::uint64_t due = std::min<std::uint64_t>(frame_at(t0), samples.frames);
    for (; next < due && (disconnected || options.faults.disconnect_at_s < 0.0 || next < cut); ++next)
      frame_bytes(samples, next, options, rng, emg, acc);
    send_all(base.clients_[1], emg.data(), emg.size());
    send_all(base.clients_[2], acc.data(), acc.size());
    if (!disconnected && options.faults.disconnect_at_s >= 0.0 && next >= cut) {
      disconnected = true;  // the base goes away: connections reset, ports refusing, then back
      base.close_all(true);
      std::this_thread::sleep_for(std::chrono::duration<double>(options.faults.disconnect_for_s / speed));
      base.open_listeners();
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the client read the last frame
}

}  // namespace glutescope::sim
