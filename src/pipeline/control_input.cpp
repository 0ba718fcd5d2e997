#include "pipeline/control_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>

#include <fmt/core.h>

namespace glutescope::pipeline {

struct ControlInput::SavedTerminal {
  termios tio{};
};

namespace {
double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string key_help() {
  return "keys: b bridge set start/stop | c clamshell set start/stop | m MVC trial (then a digit) | s stop "
         "set | "
         "n note | space marker | q end recording | h help";
}

ControlInput::ControlInput(ControlSettings settings) : settings_(std::move(settings)) {
  if (!settings_.fifo_path.empty()) {
    struct stat st {};
    if (::stat(settings_.fifo_path.c_str(), &st) == 0) {
      if (!S_ISFIFO(st.st_mode)) {
        throw std::runtime_error(fmt::format(
            "control path {} exists and is not a named pipe (choose another path)", settings_.fifo_path));
      }
    } else if (::mkfifo(settings_.fifo_path.c_str(), 0600) != 0) {
      throw std::runtime_error(
          fmt::format("cannot create control pipe {}: {}", settings_.fifo_path, std::strerror(errno)));
    } else {
      created_fifo_ = true;
    }
    fifo_fd_ = ::open(settings_.fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd_ >= 0)
      fifo_keepalive_fd_ = ::open(settings_.fifo_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fifo_fd_ < 0 || fifo_keepalive_fd_ < 0) {
      const int err = errno;
      if (fifo_fd_ >= 0) ::close(fifo_fd_);
      if (created_fifo_) ::unlink(settings_.fifo_path.c_str());
      throw std::runtime_error(
          fmt::format("cannot open control pipe {}: {}", settings_.fifo_path, std::strerror(err)));
    }
  }
  if (settings_.keyboard && ::isatty(STDIN_FILENO) == 1) {
    saved_ = std::make_unique<SavedTerminal>();
    if (::tcgetattr(STDIN_FILENO, &saved_->tio) == 0) {
      termios raw = saved_->tio;
      // Keys without Enter and without echo; ISIG stays on so Ctrl-C still ends the recording.
      raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
      raw.c_cc[VMIN] = 1;
      raw.c_cc[VTIME] = 0;
      if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
        keyboard_ = true;
        terminal_saved_ = true;
      }
    }
  }
  if (::pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("cannot create a pipe");
  thread_ = std::thread([this] { run(); });
}

ControlInput::~ControlInput() {
  stop_ = true;
  const char byte = 0;
  (void)!::write(wake_pipe_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  if (terminal_saved_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_->tio);
  if (fifo_fd_ >= 0) ::close(fifo_fd_);
  if (fifo_keepalive_fd_ >= 0) ::close(fifo_keepalive_fd_);
  if (created_fifo_) ::unlink(settings_.fifo_path.c_str());
  ::close(wake_pipe_[0]);
  ::close(wake_pipe_[1]);
}

std::vector<TimedCommand> ControlInput::take() {
  std::lock_guard lock(mutex_);
  std::vector<TimedCommand> out;
  out.swap(pending_);
  return out;
}

void ControlInput::push(MarkerCommand command, bool toggle) {
  std::lock_guard lock(mutex_);
  pending_.push_back({steady_now_s(), std::move(command), toggle});
}

bool RemoteCommands::submit(MarkerCommand command) {
  std::lock_guard lock(mutex_);
  if (pending_.size() >= kCapacity) return false;
  pending_.push_back({steady_now_s(), std::move(command), false});
  return true;
}

std::vector<TimedCommand> RemoteCommands::take() {
  std::vector<TimedCommand> out;
  std::lock_guard lock(mutex_);
  out.swap(pending_);
  return out;
}

void ControlInput::run() {
  while (!stop_) {
    pollfd fds[3];
    nfds_t n = 0;
    fds[n++] = {wake_pipe_[0], POLLIN, 0};
    const nfds_t fifo_index = n;
    if (fifo_fd_ >= 0) fds[n++] = {fifo_fd_, POLLIN, 0};
    const nfds_t key_index = n;
    if (keyboard_) fds[n++] = {STDIN_FILENO, POLLIN, 0};
    if (::poll(fds, n, 200) <= 0) continue;
    if (fifo_fd_ >= 0 && (fds[fifo_index].revents & POLLIN) != 0) {
      char buf[4096];
      const ssize_t got = ::read(fifo_fd_, buf, sizeof buf);
      if (got > 0) handle_fifo_bytes(buf, static_cast<std::size_t>(got));
    }
    if (keyboard_ && (fds[key_index].revents & POLLIN) != 0) {
      char key = 0;
      if (::read(STDIN_FILENO, &key, 1) == 1) handle_key(key);
    }
  }
}

void ControlInput::handle_fifo_bytes(const char* data, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (data[i] != '\n') {
      fifo_line_ += data[i];
      continue;
    }
    std::string line;
    line.swap(fifo_line_);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line == "quit" || line == "quit\r") {
      quit_ = true;
      continue;
    }
    try {
      push(parse_marker_command(line), false);
    } catch (const std::invalid_argument& e) {
      fmt::print(settings_.out, "control: {}\n", e.what());
    }
  }
}

std::string ControlInput::read_terminal_line() {
  // Canonical mode with echo for the line, then back to single keys.
  termios raw{};
  ::tcgetattr(STDIN_FILENO, &raw);
  ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_->tio);
  std::string line;
  char c = 0;
  while (!stop_ && ::read(STDIN_FILENO, &c, 1) == 1 && c != '\n') line += c;
  ::tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  return line;
}

void ControlInput::handle_key(char key) {
  if (awaiting_mvc_choice_) {
    awaiting_mvc_choice_ = false;
    const int choice = key - '1';
    if (choice >= 0 && static_cast<std::size_t>(choice) < settings_.mvc_choices.size()) {
      push(settings_.mvc_choices[static_cast<std::size_t>(choice)], false);
    } else {
      fmt::print(settings_.out, "no MVC started (choose 1-{})\n", settings_.mvc_choices.size());
    }
    return;
  }
  MarkerCommand c;
  switch (key) {
    case 'b':
      c.verb = MarkerCommand::Verb::start;
      c.exercise = Exercise::bridge;
      push(c, true);
      break;
    case 'c':
      c.verb = MarkerCommand::Verb::start;
      c.exercise = Exercise::clamshell;
      push(c, true);
      break;
    case 'm': {
      std::string menu = "MVC muscle:";
      for (std::size_t i = 0; i < settings_.mvc_choices.size() && i < 9; ++i) {
        menu += fmt::format("  {} {} {}", i + 1, to_string(settings_.mvc_choices[i].muscle),
                            to_string(settings_.mvc_choices[i].side));
      }
      fmt::print(settings_.out, "{}   (s stops the trial)\n", menu);
      awaiting_mvc_choice_ = true;
      break;
    }
    case 's':
      c.verb = MarkerCommand::Verb::stop;
      push(c, false);
      break;
    case 'n': {
      fmt::print(settings_.out, "note: ");
      std::fflush(settings_.out);
      const std::string text = read_terminal_line();
      if (!text.empty()) {
        c.verb = MarkerCommand::Verb::note;
        c.text = text;
        push(c, false);
      }
      break;
    }
    case ' ':
      c.verb = MarkerCommand::Verb::marker;
      push(c, false);
      break;
    case 'q':
      quit_ = true;
      break;
    case 'h':
    case '?':
      fmt::print(settings_.out, "{}\n", key_help());
      break;
    default:
      break;
  }
}

}  // namespace glutescope::pipeline
