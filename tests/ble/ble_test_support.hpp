// Real parts for BLE tests and benchmarks: a private dbus-daemon standing in for the system bus, and
// the fake_bluez peripheral process on it. Both are killed when their owner goes out of scope.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace glutescope::bletest {

// Starts `dbus-daemon --nofork` with a permissive configuration (any connection may own any name
// and send to anyone) listening on a socket in a fresh temporary directory, and points
// DBUS_SYSTEM_BUS_ADDRESS at it for this process and its children. Restores the variable after.
class PrivateSystemBus {
 public:
  PrivateSystemBus();
  ~PrivateSystemBus();
  PrivateSystemBus(const PrivateSystemBus&) = delete;
  PrivateSystemBus& operator=(const PrivateSystemBus&) = delete;

  [[nodiscard]] const std::string& address() const noexcept { return address_; }
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return dir_; }

 private:
  std::filesystem::path dir_;
  std::string address_;
  pid_t pid_ = -1;
  bool had_previous_ = false;
  std::string previous_;
};

// Runs the fake_bluez executable (built next to the tests) with `args` on the private bus and waits
// until it owns org.bluez ("READY" on its stdout). Sends SIGTERM and reaps it on destruction.
class FakeBluez {
 public:
  explicit FakeBluez(const std::vector<std::string>& args,
                     std::chrono::milliseconds ready_timeout = std::chrono::milliseconds(10'000));
  ~FakeBluez();
  FakeBluez(const FakeBluez&) = delete;
  FakeBluez& operator=(const FakeBluez&) = delete;

  static std::string executable();  // path of fake_bluez (FAKE_BLUEZ_PATH compile definition)

 private:
  pid_t pid_ = -1;
};

// Writes `bytes` to a file in `dir` and returns its path (the fake's --stream).
std::filesystem::path write_stream_file(const std::filesystem::path& dir, const std::string& name,
                                        const std::vector<std::uint8_t>& bytes);

}  // namespace glutescope::bletest
