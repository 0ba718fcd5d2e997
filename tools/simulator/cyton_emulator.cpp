#include "simulator/cyton_emulator.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "simulator/output.hpp"
#include "simulator/random.hpp"
#include "simulator/truth_json.hpp"

namespace glutescope::sim {
namespace {

constexpr double kRateHz = 250.0;
constexpr double kAccelGPerCount = 0.002 / 16.0;
constexpr int kDefaultGain = 24;
constexpr std::uint64_t kDaisyNoiseStream = 1000;  // + Daisy channel (random.hpp stream ids end below)

using Clock = std::chrono::steady_clock;

// The soft-reset reply of firmware v3 (SDK §Miscellaneous 'v', with the Daisy line the board prints
// when it finds one).
std::string reset_reply(bool daisy) {
  std::string text = "OpenBCI V3 8-16 channel\nOn Board ADS1299 Device ID: 0x3E\n";
  if (daisy) text += "On Daisy ADS1299 Device ID: 0x3E\n";
  text += "LIS3DH Device ID: 0x33\nFirmware: v3.1.2\n$$$";
  return text;
}

}  // namespace

SimulatorSettings cyton_model_settings(SimulatorSettings settings) {
  settings.emg_rate_hz = 1000.0;
  settings.imu_rate_hz = 50.0;
  return settings;
}

CytonSignals cyton_signals(const SimulatedSession& session) {
  if (session.settings.emg_rate_hz != 1000.0 || session.settings.imu_rate_hz != 50.0 ||
      session.device_info.emg.size() != 8 || session.device_info.imu.empty()) {
    throw std::invalid_argument("the Cyton emulator needs an 8-channel session at 1000 Hz EMG and 50 Hz IMU");
  }
  CytonSignals s;
  const std::vector<std::int32_t> counts = session.emg_counts();
  const std::size_t samples = counts.size() / 8;
  const std::size_t slots = samples / 4;
  s.board_uv.resize(slots);
  s.daisy_uv.resize(slots);
  for (std::size_t n = 0; n < slots; ++n) {
    for (std::size_t c = 0; c < 8; ++c) {
      double sum = 0.0;
      for (std::size_t k = 0; k < 4; ++k) sum += counts[(4 * n + k) * 8 + c];
      s.board_uv[n][c] = sum / 4.0 * session.device_info.emg[c].microvolts_per_count;
    }
  }
  for (std::size_t c = 0; c < 8; ++c) {
    RandomStream noise(session.settings.seed, kDaisyNoiseStream + c);
    for (std::size_t n = 0; n < slots; ++n) s.daisy_uv[n][c] = noise.uniform(-5.0, 5.0);
  }
  const std::vector<std::int16_t> accel = session.imu_accel(0);
  const double g_per_count = session.device_info.imu[0].accel_g_per_count;
  for (std::size_t j = 0; 10 * j < slots && 2 * j < accel.size() / 3; ++j) {
    std::array<std::int16_t, 3> a{};
    for (std::size_t k = 0; k < 3; ++k) {
      const double g = accel[2 * j * 3 + k] * g_per_count;
      a[k] = static_cast<std::int16_t>(std::clamp<long>(std::lround(g / kAccelGPerCount), -32768, 32767));
    }
    s.accel.push_back(a);
  }
  return s;
}

std::int32_t cyton_count(double uv, int gain) noexcept {
  const double uv_per_count = 4.5 / gain / 8388607.0 * 1e6;
  return static_cast<std::int32_t>(std::clamp<long long>(std::llround(uv / uv_per_count), -8388608, 8388607));
}

std::array<std::uint8_t, 33> encode_cyton_packet(std::uint8_t sample_number,
                                                 const std::array<std::int32_t, 8>& channels,
                                                 const std::array<std::uint8_t, 6>& aux,
                                                 std::uint8_t footer) {
  std::array<std::uint8_t, 33> p{};
  p[0] = 0xA0;
  p[1] = sample_number;
  for (std::size_t c = 0; c < 8; ++c) {
    const auto u = static_cast<std::uint32_t>(channels[c]) & 0xFFFFFFu;
    p[2 + 3 * c] = static_cast<std::uint8_t>(u >> 16);
    p[3 + 3 * c] = static_cast<std::uint8_t>(u >> 8);
    p[4 + 3 * c] = static_cast<std::uint8_t>(u);
  }
  std::copy(aux.begin(), aux.end(), p.begin() + 26);
  p[32] = footer;
  return p;
}

std::array<std::int32_t, 8> cyton_packet_channels(const CytonSignals& signals, std::uint64_t slot,
                                                  std::uint8_t counter, bool daisy,
                                                  const std::vector<int>& gains) {
  std::array<std::int32_t, 8> out{};
  const auto gain = [&](std::size_t c) { return c < gains.size() ? gains[c] : kDefaultGain; };
  if (!daisy) {
    for (std::size_t c = 0; c < 8; ++c) out[c] = cyton_count(signals.board_uv[slot][c], gain(c));
    return out;
  }
  const bool board = (counter & 1u) != 0;
  const auto& uv = board ? signals.board_uv : signals.daisy_uv;
  for (std::size_t c = 0; c < 8; ++c) {
    const std::size_t channel = board ? c : c + 8;
    const std::int32_t now = cyton_count(uv[slot][c], gain(channel));
    const std::int32_t before = slot == 0 ? 0 : cyton_count(uv[slot - 1][c], gain(channel));
    out[c] = (now + before) / 2;
  }
  return out;
}

std::array<std::uint8_t, 6> cyton_packet_aux(const CytonSignals& signals, std::uint64_t slot) {
  std::array<std::uint8_t, 6> aux{};
  if (slot % 10 != 0 || slot / 10 >= signals.accel.size()) return aux;
  const auto& a = signals.accel[slot / 10];
  for (std::size_t k = 0; k < 3; ++k) {
    const auto u = static_cast<std::uint16_t>(a[k]);
    aux[2 * k] = static_cast<std::uint8_t>(u >> 8);
    aux[2 * k + 1] = static_cast<std::uint8_t>(u);
  }
  return aux;
}

namespace {

// One emulated board on a pseudo-terminal: answers commands, streams while started, injects faults.
class CytonBoard {
 public:
  CytonBoard(const EmulatorOptions& options, bool daisy)
      : o_(options),
        daisy_attached_(daisy),
        daisy_mode_(daisy),
        session_(simulate(cyton_model_settings(options.settings))),
        signals_(cyton_signals(session_)),
        gains_(16, kDefaultGain),
        garbage_rng_(options.settings.seed, 1100) {}

  void run();
  void write_truth() const;

 private:
  void open_pty();
  void handle_input();
  void command(char c);
  void reply(const std::string& text);
  void stream_due();
  void send_packet(std::uint64_t slot);
  void write_bytes(const std::uint8_t* data, std::size_t size);
  [[nodiscard]] std::uint64_t slot_now() const;
  [[nodiscard]] bool dropped(std::uint64_t slot) const;

  const EmulatorOptions& o_;
  bool daisy_attached_;
  bool daisy_mode_;
  SimulatedSession session_;
  CytonSignals signals_;
  std::vector<int> gains_;
  RandomStream garbage_rng_;
  std::unique_ptr<PseudoTerminal> pty_;
  bool reader_gone_ = false;
  bool streaming_ = false;
  std::optional<Clock::time_point> t0_;  // first start command: slot 0
  std::uint64_t next_slot_ = 0;          // next slot to produce while streaming
  std::uint8_t counter_ = 0;
  std::string pending_command_;  // "x...X" being collected
  bool disconnected_once_ = false;
  // Truth: runs of produced packets (slot, counter, count), dropped slots, garbage bytes.
  struct Run {
    std::uint64_t first_slot;
    std::uint8_t first_counter;
    std::uint64_t packets;
  };
  std::vector<Run> runs_;
  std::vector<std::uint64_t> dropped_slots_;
  std::uint64_t garbage_bytes_ = 0;
  std::size_t packet_bytes_ = 33;
};

void CytonBoard::open_pty() {
  pty_ = std::make_unique<PseudoTerminal>();
  fmt::print("pty: {}\n", pty_->slave_path());
  std::fflush(stdout);
  if (!o_.link.empty()) {
    const std::filesystem::path link(o_.link);
    const std::filesystem::path tmp = link.string() + ".new";
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    std::filesystem::create_symlink(pty_->slave_path(), tmp);
    std::filesystem::rename(tmp, link);  // atomic: a reader never sees the link missing
  }
}

std::uint64_t CytonBoard::slot_now() const {
  if (!t0_) return 0;
  const double s = std::chrono::duration<double>(Clock::now() - *t0_).count();
  return o_.speed > 0.0 ? static_cast<std::uint64_t>(s * kRateHz * o_.speed) : signals_.slots();
}

bool CytonBoard::dropped(std::uint64_t slot) const {
  return std::any_of(o_.faults.drop_packets.begin(), o_.faults.drop_packets.end(),
                     [&](const auto& r) { return slot >= r.first && slot <= r.second; });
}

void CytonBoard::write_bytes(const std::uint8_t* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size && !reader_gone_) {
    pollfd p{pty_->master_fd(), POLLOUT, 0};
    const int ready = ::poll(&p, 1, 200);
    if (ready > 0 && (p.revents & POLLHUP) != 0) {
      reader_gone_ = true;
      return;
    }
    if (ready <= 0 || (p.revents & POLLOUT) == 0) continue;
    const ssize_t n = ::write(pty_->master_fd(), data + done, size - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      reader_gone_ = true;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
}

void CytonBoard::reply(const std::string& text) {
  if (!streaming_) write_bytes(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

void CytonBoard::command(char c) {
  if (!pending_command_.empty()) {  // channel setting: x CHANNEL POWER GAIN INPUT BIAS SRB2 SRB1 X
    pending_command_ += c;
    if (pending_command_.size() < 9) return;
    const std::string cmd = pending_command_;
    pending_command_.clear();
    if (cmd[8] != 'X') return reply("Failure: 9th char not X$$$");
    const std::string letters = "12345678QWERTYUI";
    const auto channel = letters.find(cmd[1]);
    constexpr int gains[] = {1, 2, 4, 6, 8, 12, 24};
    if (channel == std::string::npos || cmd[3] < '0' || cmd[3] > '6')
      return reply("Failure: Err: too many chars$$$");
    gains_[channel] = gains[cmd[3] - '0'];
    return reply(fmt::format("Success: Channel set for {}$$$", channel + 1));
  }
  switch (c) {
    case 'x':
      pending_command_.clear();
      pending_command_.push_back('x');
      break;
    case 'v':
      streaming_ = false;
      counter_ = 0;
      std::fill(gains_.begin(), gains_.end(), kDefaultGain);
      daisy_mode_ = daisy_attached_;
      reply(o_.version_override.empty() ? reset_reply(daisy_attached_) : o_.version_override);
      break;
    case 'b':
      if (!t0_) t0_ = Clock::now();
      if (!streaming_) {
        // In real (or scaled) time the board ran while it was stopped: streaming resumes at the slot due now.
        // At speed 0 time is the reader's pace, nothing elapses between runs, and a catch-up to slot_now()
        // (every slot at that speed) skipped the whole session: nothing was ever sent.
        if (o_.speed > 0.0) next_slot_ = std::max(next_slot_, slot_now());
        counter_ = 0;  // the firmware restarts its sample number at each start
        runs_.push_back({next_slot_, counter_, 0});
      }
      streaming_ = true;
      break;
    case 's':
      streaming_ = false;
      break;
    case 'c':
      if (daisy_mode_) reply("daisy removed$$$");
      daisy_mode_ = false;
      break;
    case 'C':
      if (!daisy_attached_) {
        reply("no daisy to attach!8$$$");
      } else {
        reply(daisy_mode_ ? "16$$$" : "daisy attached16$$$");
        daisy_mode_ = true;
      }
      break;
    case 'd':
      std::fill(gains_.begin(), gains_.end(), kDefaultGain);
      reply("updating channel settings to default$$$");
      break;
    default:
      break;  // other SDK commands are not emulated; the board would act on them silently
  }
}

void CytonBoard::handle_input() {
  std::array<char, 256> buffer{};
  while (true) {
    const ssize_t n = ::read(pty_->master_fd(), buffer.data(), buffer.size());
    if (n <= 0) return;  // EAGAIN (non-blocking master), or EIO while no reader
    for (ssize_t i = 0; i < n; ++i) command(buffer[static_cast<std::size_t>(i)]);
  }
}

void CytonBoard::send_packet(std::uint64_t slot) {
  for (const auto& [before, bytes] : o_.faults.garbage) {
    if (before != slot) continue;
    std::vector<std::uint8_t> junk(bytes);
    for (auto& b : junk) {
      // Never 0xA0: a header in garbage could start a false packet, and the test accounting is exact.
      do b = static_cast<std::uint8_t>(garbage_rng_.uniform() * 256.0);
      while (b == 0xA0);
    }
    write_bytes(junk.data(), junk.size());
    garbage_bytes_ += junk.size();
  }
  const auto packet =
      encode_cyton_packet(counter_, cyton_packet_channels(signals_, slot, counter_, daisy_mode_, gains_),
                          cyton_packet_aux(signals_, slot));
  ++counter_;
  ++runs_.back().packets;
  if (dropped(slot)) {
    dropped_slots_.push_back(slot);
    return;
  }
  std::vector<std::uint8_t> wire(packet.begin(), packet.end() - 1);
  wire.resize(packet_bytes_ - 1, 0);  // wrong packet size (bad-input tests): aux padded or cut
  wire.push_back(packet.back());
  write_bytes(wire.data(), wire.size());
}

void CytonBoard::stream_due() {
  const std::uint64_t due = std::min<std::uint64_t>(slot_now(), signals_.slots());
  while (streaming_ && next_slot_ < due && !reader_gone_) {
    const bool unplug = o_.faults.disconnect_at_s >= 0.0 && !disconnected_once_ &&
                        static_cast<double>(next_slot_) >= o_.faults.disconnect_at_s * kRateHz;
    if (unplug) {
      // The dongle goes away: the pty closes (the reader sees EIO), the board keeps running and its
      // packets are lost, and after disconnect_for_s a new pty appears behind the same link.
      disconnected_once_ = true;
      pty_.reset();
      std::this_thread::sleep_for(
          std::chrono::duration<double>(o_.faults.disconnect_for_s / std::max(o_.speed, 1e-3)));
      streaming_ = false;
      open_pty();
      const auto timeout = std::chrono::milliseconds(static_cast<long long>(o_.reader_timeout_s * 1000.0));
      if (!pty_->wait_for_reader(timeout)) throw std::runtime_error("no reader came back after the replug");
      return;
    }
    send_packet(next_slot_++);
  }
}

void CytonBoard::run() {
  packet_bytes_ = o_.packet_size_override > 0 ? o_.packet_size_override : 33;
  if (packet_bytes_ < 8 || packet_bytes_ > 64) throw std::invalid_argument("--packet-size must be 8..64");
  open_pty();
  const auto timeout = std::chrono::milliseconds(static_cast<long long>(o_.reader_timeout_s * 1000.0));
  if (!pty_->wait_for_reader(timeout)) {
    throw std::runtime_error(
        fmt::format("no reader opened {} within {} s", pty_->slave_path(), o_.reader_timeout_s));
  }
  while (!reader_gone_ && next_slot_ < signals_.slots()) {
    pollfd p{pty_->master_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 2);
    if ((p.revents & POLLHUP) != 0 && !streaming_) {
      reader_gone_ = true;
      break;
    }
    handle_input();
    stream_due();
  }
  if (!reader_gone_ && !pty_->wait_until_drained(std::chrono::seconds(30))) {
    fmt::print(stderr, "glutescope: the reader left bytes unread on {} for 30 s; closing\n",
               pty_->slave_path());
  }
  write_truth();  // the session is sent: the truth is complete
  // A board stays connected after its data: the pty is kept until the reader closes it (bounded), so
  // the end of the emulated session is not an unplug.
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<long long>(o_.reader_timeout_s * 1000.0));
  while (!reader_gone_ && Clock::now() < deadline) {
    pollfd p{pty_->master_fd(), POLLIN, 0};
    (void)::poll(&p, 1, 100);
    if ((p.revents & POLLHUP) != 0) break;
    handle_input();  // answers a stop or reset as the board would
  }
}

void CytonBoard::write_truth() const {
  if (o_.truth.empty()) return;
  nlohmann::json j = truth_to_json(session_);
  nlohmann::json device;
  device["name"] = daisy_attached_ ? "cyton-daisy" : "cyton";
  device["packet_rate_hz"] = kRateHz;
  device["slots"] = signals_.slots();
  device["accel_samples"] = signals_.accel.size();
  nlohmann::json runs = nlohmann::json::array();
  for (const Run& r : runs_)
    runs.push_back(
        {{"first_slot", r.first_slot}, {"first_counter", r.first_counter}, {"packets", r.packets}});
  device["runs"] = runs;
  device["dropped_slots"] = dropped_slots_;
  device["garbage_bytes"] = garbage_bytes_;
  device["gains"] = gains_;
  j["device"] = device;
  std::ofstream file(o_.truth);
  file << j.dump(1) << '\n';
  if (!file) throw std::runtime_error(fmt::format("writing the truth file '{}' failed", o_.truth));
}

void run_board(const EmulatorOptions& options, bool daisy) {
  if (!options.pty) {
    throw std::invalid_argument(
        "the Cyton emulator answers commands: use --pty (a board sends nothing until 'b')");
  }
  CytonBoard board(options, daisy);
  try {
    board.run();  // writes the truth when the session has been sent
  } catch (...) {
    board.write_truth();  // what was sent before the failure
    throw;
  }
}

}  // namespace

void run_cyton_emulator(const EmulatorOptions& options) { run_board(options, false); }
void run_cyton_daisy_emulator(const EmulatorOptions& options) { run_board(options, true); }

}  // namespace glutescope::sim
