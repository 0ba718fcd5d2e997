// Operator input while recording: single keys on the terminal (when stdin is a tty) and command lines
// on a named pipe (--control FIFO). Both yield MarkerCommands (markers.hpp) stamped with the host
// clock when they arrived; the acquisition thread applies them.
//
// Keys (printed at start by key_help()):
//   b  bridge set start/stop        c  clamshell set start/stop
//   m  MVC trial start (then a digit chooses muscle and side from the montage)
//   s  stop the open set            n  note (type a line, Enter)
//   space  marker                   q  end the recording         h  this help
//
// Threading contract: the constructor starts one reader thread; take() and quit_requested() may be
// called from any thread; the destructor stops the thread, restores the terminal and removes the FIFO
// it created.
#pragma once

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/markers.hpp"

namespace glutescope::pipeline {

struct ControlSettings {
  std::string fifo_path;  // empty = no FIFO; created (mode 0600) if missing, reused if already a FIFO
  bool keyboard = true;   // read keys when stdin is a terminal
  std::vector<MarkerCommand> mvc_choices;  // 'm' menu: `start mvc <muscle> <side>` commands, in order
  std::FILE* out = stderr;                 // prompts and warnings
};

struct TimedCommand {
  double host_time_s = 0.0;  // steady clock when the command arrived (s)
  MarkerCommand command;
  bool toggle = false;  // keys b/c: stop the set if this exercise's set is open, else start it
};

class ControlInput {
 public:
  // Throws std::runtime_error if the FIFO cannot be created or opened (message names the path).
  explicit ControlInput(ControlSettings settings);
  ~ControlInput();
  ControlInput(const ControlInput&) = delete;
  ControlInput& operator=(const ControlInput&) = delete;

  // Commands received since the last call, in arrival order.
  std::vector<TimedCommand> take();
  [[nodiscard]] bool quit_requested() const noexcept { return quit_.load(); }
  [[nodiscard]] bool keyboard_active() const noexcept { return keyboard_; }

 private:
  void run();
  void handle_key(char key);
  void handle_fifo_bytes(const char* data, std::size_t n);
  void push(MarkerCommand command, bool toggle);
  std::string read_terminal_line();

  ControlSettings settings_;
  int fifo_fd_ = -1;
  int fifo_keepalive_fd_ = -1;  // our own writer end: the FIFO never reports EOF between writers
  bool created_fifo_ = false;
  bool keyboard_ = false;
  bool terminal_saved_ = false;
  int wake_pipe_[2] = {-1, -1};
  std::string fifo_line_;
  bool awaiting_mvc_choice_ = false;
  std::mutex mutex_;
  std::vector<TimedCommand> pending_;
  std::atomic<bool> quit_{false};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  struct SavedTerminal;
  std::unique_ptr<SavedTerminal> saved_;
};

// Marker commands from another thread of the same process (the web page's operator controls,
// web/live_feed.hpp): a bounded inbox the acquisition loop drains with the keys and the FIFO, so that they
// take the same path (SetTracker, session events).
// Threading contract: submit() from any thread, take() from the acquisition thread; the mutex is held only
// to append or swap, never across I/O.
class RemoteCommands {
 public:
  static constexpr std::size_t kCapacity = 64;  // commands waiting; a click rate far above any operator's
  // Stamps the command with the steady clock now. False (nothing queued) when kCapacity are waiting.
  bool submit(MarkerCommand command);
  std::vector<TimedCommand> take();

 private:
  std::mutex mutex_;
  std::vector<TimedCommand> pending_;
};

// The key table, one line per key, for printing at the start of a recording.
std::string key_help();

}  // namespace glutescope::pipeline
