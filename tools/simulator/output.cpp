#include "simulator/output.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <thread>

namespace glutescope::sim {
namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::generic_category(), what); }

bool hung_up(int fd) {
  pollfd p{fd, POLLOUT, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLHUP) != 0;
}

}  // namespace

StreamEnd write_frames(int fd, const std::vector<EncodedFrame>& frames, double speed, bool stop_on_hangup) {
  const auto start = std::chrono::steady_clock::now();
  for (const EncodedFrame& frame : frames) {
    if (speed > 0.0) {
      const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double, std::micro>(static_cast<double>(frame.send_time_us) / speed));
      std::this_thread::sleep_until(due);
    }
    std::size_t written = 0;
    while (written < frame.wire.size()) {
      if (stop_on_hangup) {
        // Wait for room, but give up when the reader has gone (a pty master would otherwise block forever).
        pollfd p{fd, POLLOUT, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno != EINTR) throw_errno("poll on the output");
        if (ready > 0 && (p.revents & POLLHUP) != 0) return StreamEnd::reader_gone;
        if (ready <= 0 || (p.revents & POLLOUT) == 0) continue;
      }
      const ssize_t n = ::write(fd, frame.wire.data() + written, frame.wire.size() - written);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        if (stop_on_hangup && errno == EIO) return StreamEnd::reader_gone;
        throw_errno("writing frames");
      }
      written += static_cast<std::size_t>(n);
    }
  }
  return StreamEnd::complete;
}

PseudoTerminal::PseudoTerminal() {
  int slave = -1;
  termios raw{};
  cfmakeraw(&raw);
  raw.c_cflag |= CLOCAL | CREAD;
  cfsetispeed(&raw, B115200);
  cfsetospeed(&raw, B115200);
  char name[256] = {};
  if (::openpty(&master_, &slave, name, &raw, nullptr) != 0) throw_errno("openpty");
  slave_path_ = name;
  // Raw mode is set before any byte is written: the line discipline would otherwise translate CR/LF and
  // buffer lines. The settings stay with the pty after this descriptor closes.
  ::close(slave);
  // Non-blocking master: write_frames waits with poll() so it notices a reader that went away.
  const int flags = ::fcntl(master_, F_GETFL);
  if (flags < 0 || ::fcntl(master_, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl on the pty master");
}

PseudoTerminal::~PseudoTerminal() {
  if (master_ >= 0) ::close(master_);
}

bool PseudoTerminal::wait_for_reader(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (hung_up(master_)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool PseudoTerminal::wait_until_drained(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int empty_checks = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (hung_up(master_)) return true;  // reader closed the slave
    // Peek at the slave's input queue through a short-lived descriptor of our own.
    const int probe = ::open(slave_path_.c_str(), O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (probe >= 0) {
      int queued = 0;
      const int rc = ::ioctl(probe, FIONREAD, &queued);
      ::close(probe);
      // Two empty looks 20 ms apart: bytes in flight between master and slave buffers have landed.
      if (rc == 0 && queued == 0) {
        if (++empty_checks >= 2) return true;
      } else {
        empty_checks = 0;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace glutescope::sim
