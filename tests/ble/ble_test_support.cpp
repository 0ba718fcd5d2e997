#include "ble/ble_test_support.hpp"

#include "support/files.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace glutescope::bletest {
namespace {

// Reads one line from `fd` within `timeout`; throws with `what` on timeout or EOF.
std::string read_line(int fd, std::chrono::milliseconds timeout, const std::string& what) {
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw std::runtime_error(what + ": timed out");
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      continue;
    }
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) {
      throw std::runtime_error(what + ": process exited before answering");
    }
    if (c == '\n') {
      return line;
    }
    line.push_back(c);
  }
}

void stop_process(pid_t pid) {
  if (pid <= 0) {
    return;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
}

}  // namespace

PrivateSystemBus::PrivateSystemBus() {
  // Under the system temporary folder (TMPDIR honoured), not a fixed path.
  dir_ = test::make_temp_dir("ble");
  const auto config = dir_ / "bus.conf";
  {
    std::ofstream out(config);
    out << R"(<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>glutescope-test</type>
  <listen>unix:path=)"
        << (dir_ / "bus.socket").string() << R"(</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
)";
  }
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    throw std::runtime_error("pipe failed");
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::close(pipe_fds[0]);
    // dbus-daemon's own chatter (e.g. "Failed to set fd limit" when not privileged) goes to a log.
    const std::string log = (dir_ / "dbus-daemon.log").string();
    const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd >= 0) {
      ::dup2(log_fd, STDERR_FILENO);
    }
    const std::string config_arg = "--config-file=" + config.string();
    const std::string print_arg = "--print-address=" + std::to_string(pipe_fds[1]);
    ::execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", config_arg.c_str(), print_arg.c_str(),
             static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  try {
    address_ = read_line(pipe_fds[0], std::chrono::milliseconds(10'000), "dbus-daemon");
  } catch (...) {
    ::close(pipe_fds[0]);
    stop_process(pid_);
    throw;
  }
  ::close(pipe_fds[0]);
  if (const char* prev = std::getenv("DBUS_SYSTEM_BUS_ADDRESS")) {
    had_previous_ = true;
    previous_ = prev;
  }
  ::setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
}

PrivateSystemBus::~PrivateSystemBus() {
  stop_process(pid_);
  if (had_previous_) {
    ::setenv("DBUS_SYSTEM_BUS_ADDRESS", previous_.c_str(), 1);
  } else {
    ::unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

std::string FakeBluez::executable() { return FAKE_BLUEZ_PATH; }

FakeBluez::FakeBluez(const std::vector<std::string>& args, std::chrono::milliseconds ready_timeout) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const std::string exe = executable();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) {
      argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    std::_Exit(127);
  }
  ::close(pipe_fds[1]);
  try {
    const std::string line = read_line(pipe_fds[0], ready_timeout, "fake_bluez");
    if (line != "READY") {
      throw std::runtime_error("fake_bluez said '" + line + "' instead of READY");
    }
  } catch (...) {
    ::close(pipe_fds[0]);
    stop_process(pid_);
    throw;
  }
  ::close(pipe_fds[0]);
}

FakeBluez::~FakeBluez() { stop_process(pid_); }

std::filesystem::path write_stream_file(const std::filesystem::path& dir, const std::string& name,
                                        const std::vector<std::uint8_t>& bytes) {
  auto path = dir / name;  // returned: moved, so not const
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
  return path;
}

}  // namespace glutescope::bletest
