// Byte output of a simulated session: paced writing to a file descriptor and a pseudo-terminal that
// stands in for the wearable's serial port. POSIX only.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "simulator/frames.hpp"

namespace glutescope::sim {

// Why write_frames stopped.
enum class StreamEnd { complete, reader_gone };

// Writes every frame to `fd`, frame i not before start + send_time_us / speed (speed 0 = as fast as the
// reader takes them; 1 = real time). Blocks while the reader is slower. If `stop_on_hangup`, a pty master
// whose reader closed the slave ends the stream early (reader_gone). Throws std::system_error on write
// errors (EPIPE included).
StreamEnd write_frames(int fd, const std::vector<EncodedFrame>& frames, double speed, bool stop_on_hangup = false);

// A pseudo-terminal pair whose slave looks like the wearable's serial port. The slave is put in raw mode
// (no echo, no line editing, no CR/LF translation) and closed again, so the master sees POLLHUP until a
// reader opens the slave path. Single-threaded use.
class PseudoTerminal {
 public:
  PseudoTerminal();  // throws std::system_error when no pty can be allocated
  ~PseudoTerminal();
  PseudoTerminal(const PseudoTerminal&) = delete;
  PseudoTerminal& operator=(const PseudoTerminal&) = delete;

  [[nodiscard]] const std::string& slave_path() const noexcept { return slave_path_; }
  [[nodiscard]] int master_fd() const noexcept { return master_; }

  // True once a reader has the slave open; false after `timeout`.
  bool wait_for_reader(std::chrono::milliseconds timeout) const;
  // After the last write: waits until the reader has read every byte (the slave's input queue is empty)
  // or has closed the slave, at most `timeout`. Closing the master earlier would discard unread bytes.
  // Returns true when drained or closed.
  bool wait_until_drained(std::chrono::milliseconds timeout) const;

 private:
  int master_ = -1;
  std::string slave_path_;
};

}  // namespace glutescope::sim
