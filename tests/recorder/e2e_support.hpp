// Test-owned wearable and process helpers for the recorder's end-to-end tests: a device that plays a
// simulated session's frames into a real pseudo-terminal (behind a symlink that stays put across
// "reconnects"), with exact control over which frames are corrupted, dropped or lost in an outage,
// (the runner for the real glutescope binary is support/cli.hpp).
#pragma once

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "devices/protocol.hpp"
#include "simulator/frames.hpp"
#include "simulator/output.hpp"
#include "simulator/session.hpp"
#include "support/cli.hpp"
#include "support/files.hpp"

namespace glutescope::test {

using namespace std::chrono_literals;

// What one wire frame carries, decoded independently of the recorder (the protocol codec).
struct FrameContent {
  std::uint8_t type = 0;
  std::uint32_t sequence = 0;
  std::uint8_t sensor = 0;  // IMU
  std::uint64_t first_sample = 0;
  std::uint64_t samples = 0;
};

inline FrameContent inspect(const std::vector<std::uint8_t>& wire) {
  std::vector<std::uint8_t> scratch;
  protocol::Frame frame;
  if (protocol::decode_frame(wire, scratch, frame) != GSP_OK)
    throw std::runtime_error("bad frame from simulator");
  protocol::Message m;
  if (protocol::decode_message(frame, m) != GSP_OK) throw std::runtime_error("bad message from simulator");
  FrameContent c;
  c.type = frame.header.type;
  c.sequence = frame.header.sequence;
  if (const auto* e = std::get_if<gsp_emg_block>(&m)) {
    c.first_sample = e->first_sample;
    c.samples = e->sample_count;
  } else if (const auto* i = std::get_if<gsp_imu_block>(&m)) {
    c.sensor = i->sensor;
    c.first_sample = i->first_sample;
    c.samples = i->sample_count;
  }
  return c;
}

// A frame whose payload has one bit flipped but whose CRC is left as it was: exactly one CRC error.
inline std::vector<std::uint8_t> flip_payload_bit(const std::vector<std::uint8_t>& wire, std::size_t bit) {
  std::vector<std::uint8_t> raw(wire.size());
  std::size_t raw_len = 0;
  if (gsp_cobs_decode(wire.data(), wire.size() - 1, raw.data(), raw.size(), &raw_len) != GSP_OK) {
    throw std::runtime_error("cobs");
  }
  const std::size_t payload_bytes = raw_len - GSP_HEADER_SIZE - GSP_CRC_SIZE;
  const std::size_t at = GSP_HEADER_SIZE + (bit / 8) % payload_bytes;
  raw[at] = static_cast<std::uint8_t>(raw[at] ^ (1u << (bit % 8)));
  std::vector<std::uint8_t> out(GSP_COBS_MAX_ENCODED_SIZE(raw_len) + 1);
  std::size_t out_len = 0;
  if (gsp_cobs_encode(raw.data(), raw_len, out.data(), out.size(), &out_len) != GSP_OK) {
    throw std::runtime_error("cobs");
  }
  out.resize(out_len);
  out.push_back(0);
  return out;
}

enum class Damage { none, bit_flip, drop_bytes, lost_in_outage };

// Plays a simulated session into a pty at `speed` × real time. Frames listed in `damage` are corrupted;
// garbage bursts (random non-zero bytes + a delimiter) can be inserted before given frames. An outage
// closes the master after frame `outage_after_frame` (once the reader drained it), waits `outage_s`,
// creates a new pty, re-points the symlink, and resumes with the frame due at that time (frames in
// between are never sent).
class FakeDevice {
 public:
  struct Settings {
    double speed = 4.0;
    std::map<std::size_t, Damage> damage;
    std::map<std::size_t, std::size_t> garbage_before;  // frame index -> burst length (bytes, no 0x00)
    std::optional<std::size_t> outage_after_frame;
    double outage_s = 3.0;
    std::uint64_t seed = 1;
  };

  FakeDevice(std::vector<sim::EncodedFrame> frames, std::filesystem::path link, Settings settings)
      : frames_(std::move(frames)), link_(std::move(link)), settings_(std::move(settings)) {
    sent_time_.assign(frames_.size(), -1.0);
    fate_.assign(frames_.size(), Damage::lost_in_outage);
    new_pty();
  }
  ~FakeDevice() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  void start() {
    thread_ = std::thread([this] { run(); });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  [[nodiscard]] bool finished() const { return finished_.load(); }
  // For each frame: steady-clock seconds when its last byte was written, or < 0 if never sent intact.
  [[nodiscard]] std::vector<double> sent_times() {
    std::lock_guard lock(mutex_);
    return sent_time_;
  }
  [[nodiscard]] const std::vector<Damage>& fates() const { return fate_; }
  [[nodiscard]] std::uint64_t garbage_bytes_sent() const { return garbage_bytes_; }

 private:
  static double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  void new_pty() {
    pty_ = std::make_unique<sim::PseudoTerminal>();
    const auto tmp = link_.string() + ".new";
    std::filesystem::remove(tmp);
    std::filesystem::create_symlink(pty_->slave_path(), tmp);
    std::filesystem::rename(tmp, link_);  // atomic: the recorder never sees the path missing
  }
  bool write_all(const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    const int flags = ::fcntl(pty_->master_fd(), F_GETFL);
    ::fcntl(pty_->master_fd(), F_SETFL, flags | O_NONBLOCK);
    while (done < bytes.size()) {
      if (stop_) return false;
      const ssize_t n = ::write(pty_->master_fd(), bytes.data() + done, bytes.size() - done);
      if (n > 0) {
        done += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        std::this_thread::sleep_for(1ms);
        continue;
      }
      return false;
    }
    return true;
  }
  void drain_commands() {
    // The recorder's commands (REQUEST_DEVICE_INFO, START) arrive at the master; this device ignores them.
    std::uint8_t buf[512];
    const int flags = ::fcntl(pty_->master_fd(), F_GETFL);
    ::fcntl(pty_->master_fd(), F_SETFL, flags | O_NONBLOCK);
    while (::read(pty_->master_fd(), buf, sizeof buf) > 0) {
    }
    ::fcntl(pty_->master_fd(), F_SETFL, flags);
  }
  void run() {
    std::mt19937_64 rng(settings_.seed);
    if (!pty_->wait_for_reader(20s)) {
      finished_ = true;
      return;
    }
    double t0 = now_s();
    for (std::size_t i = 0; i < frames_.size() && !stop_; ++i) {
      const double due = t0 + static_cast<double>(frames_[i].send_time_us) * 1e-6 / settings_.speed;
      while (now_s() < due && !stop_) std::this_thread::sleep_for(200us);
      drain_commands();
      if (auto g = settings_.garbage_before.find(i); g != settings_.garbage_before.end()) {
        std::vector<std::uint8_t> burst(g->second);
        std::uniform_int_distribution<int> byte(1, 255);
        for (auto& b : burst) b = static_cast<std::uint8_t>(byte(rng));
        burst.push_back(0);
        write_all(burst);
        garbage_bytes_ += g->second;
      }
      const auto d = settings_.damage.find(i);
      const Damage damage = d == settings_.damage.end() ? Damage::none : d->second;
      std::vector<std::uint8_t> bytes = frames_[i].wire;
      if (damage == Damage::bit_flip)
        bytes = flip_payload_bit(bytes, std::uniform_int_distribution<std::size_t>(0, 4000)(rng));
      if (damage == Damage::drop_bytes) bytes.erase(bytes.begin() + 5, bytes.begin() + 8);
      if (!write_all(bytes)) break;
      fate_[i] = damage;
      if (damage == Damage::none) {
        std::lock_guard lock(mutex_);
        sent_time_[i] = now_s();
      }
      if (settings_.outage_after_frame && i == *settings_.outage_after_frame) {
        pty_->wait_until_drained(2s);
        pty_.reset();  // device gone: the recorder's read fails
        std::this_thread::sleep_for(std::chrono::duration<double>(settings_.outage_s));
        new_pty();
        if (!pty_->wait_for_reader(20s)) break;
        // Resume with the frame the device would be sending now; everything in between is lost.
        const double resume_device_s = (now_s() - t0) * settings_.speed;
        while (i + 1 < frames_.size() &&
               static_cast<double>(frames_[i + 1].send_time_us) * 1e-6 < resume_device_s)
          ++i;
      }
    }
    if (!stop_) pty_->wait_until_drained(5s);
    finished_ = true;
  }

  std::vector<sim::EncodedFrame> frames_;
  std::filesystem::path link_;
  Settings settings_;
  std::unique_ptr<sim::PseudoTerminal> pty_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  std::vector<double> sent_time_;
  std::vector<Damage> fate_;
  std::uint64_t garbage_bytes_ = 0;
};

}  // namespace glutescope::test
