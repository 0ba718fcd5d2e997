// The real glutescope binary as a child process, for tests that run it. The path comes from the build
// (GLUTESCOPE_EXE = $<TARGET_FILE:glutescope>, defined only for tests declared RUNS_CLI in
// add_glutescope_test, which also makes the test executable depend on the binary): a test cannot run a
// stale or guessed binary, and one that forgets RUNS_CLI does not compile.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/files.hpp"

#ifndef GLUTESCOPE_EXE
#error "this test runs the glutescope binary: declare it RUNS_CLI in add_glutescope_test"
#endif

namespace glutescope::test {

inline const std::string& glutescope_binary() {
  static const std::string path = GLUTESCOPE_EXE;
  return path;
}

// One glutescope run: stdin from /dev/null, stdout and stderr together in `log`.
class Glutescope {
 public:
  explicit Glutescope(std::vector<std::string> args, std::filesystem::path log,
                      rlim_t file_size_limit = RLIM_INFINITY)
      : log_(std::move(log)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      const int null_in = ::open("/dev/null", O_RDONLY);
      ::dup2(null_in, 0);
      if (file_size_limit != RLIM_INFINITY) {
        rlimit lim{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &lim);
      }
      std::vector<char*> argv;
      std::string binary = glutescope_binary();
      argv.push_back(binary.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
  }
  Glutescope(const Glutescope&) = delete;
  Glutescope& operator=(const Glutescope&) = delete;
  ~Glutescope() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Exit status (128 + signal if killed); -1 on timeout (then killed).
  int wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    reaped_ = true;
    return -1;
  }
  [[nodiscard]] std::string output() const { return slurp(log_); }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

struct CliRun {
  int exit_status = -1;
  std::string output;  // stdout and stderr, interleaved as written
};

// Runs glutescope to completion (at most `timeout`).
inline CliRun run_glutescope(const std::vector<std::string>& args, const std::filesystem::path& log,
                             rlim_t file_size_limit = RLIM_INFINITY,
                             std::chrono::seconds timeout = std::chrono::seconds(60)) {
  Glutescope g(args, log, file_size_limit);
  const int status = g.wait(timeout);
  return {status, g.output()};
}

}  // namespace glutescope::test
