// ble_bench: throughput and added latency of the BlueZ D-Bus path, host side only.
//
// Runs a private dbus-daemon and fake_bluez (tests/ble) in its --bench-notifications mode: every
// notification is MTU−3 bytes and starts with the CLOCK_MONOTONIC time (ns, little-endian) at which
// the fake sent it. BleTransport reads them through
//   * the AcquireNotify path (SOCK_SEQPACKET datagrams), and
//   * the StartNotify path (one PropertiesChanged D-Bus signal per notification, via dbus-daemon).
// Throughput: unpaced, notifications and bytes per second at the reader. Latency: paced at 1 kHz,
// time from the fake's send to the moment read_some returns the bytes (median, p99, max).
// What it cannot include: the radio (connection interval, PHY, retransmissions) and bluetoothd's own
// processing between the controller and D-Bus; compare with the link limit in docs/BLE.md.
//
// Usage: ble_bench [notifications=20000]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "ble/ble_test_support.hpp"
#include "io/ble_transport.hpp"

namespace {

using namespace std::chrono_literals;
using glutescope::io::BleNotifyPath;
using glutescope::io::BleSettings;
using glutescope::io::BleTransport;
using glutescope::io::ReadStatus;

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

struct Result {
  double notifications_per_s = 0.0;
  double bytes_per_s = 0.0;
  double latency_median_us = 0.0;
  double latency_p99_us = 0.0;
  double latency_max_us = 0.0;
  std::uint64_t received = 0;
};

Result run(bool acquire, long notifications, int mtu, long interval_us) {
  glutescope::bletest::PrivateSystemBus bus;
  std::vector<std::string> args = {"--bench-notifications",
                                   std::to_string(notifications),
                                   "--mtu",
                                   std::to_string(mtu),
                                   "--interval-us",
                                   std::to_string(interval_us),
                                   "--early-notifications",
                                   "0"};
  if (!acquire) {
    args.emplace_back("--no-acquire-notify");
  }
  glutescope::bletest::FakeBluez fake(args);
  BleSettings settings;
  settings.device = "glutescope-sim";
  BleTransport transport(settings);
  transport.open();
  const std::size_t payload = static_cast<std::size_t>(mtu - 3);
  const std::size_t total = payload * static_cast<std::size_t>(notifications);
  std::vector<std::uint8_t> buffer(64 * 1024);
  std::vector<std::uint8_t> partial;  // bytes of a notification split across reads
  std::vector<double> latency_us;
  latency_us.reserve(static_cast<std::size_t>(notifications));
  std::size_t bytes = 0;
  std::uint64_t first_ns = 0;
  std::uint64_t last_ns = 0;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (bytes < total && std::chrono::steady_clock::now() < deadline) {
    const auto r = transport.read_some(buffer, 1000ms);
    if (r.status == ReadStatus::closed) {
      break;
    }
    if (r.bytes == 0) {
      continue;
    }
    const std::uint64_t now = monotonic_ns();
    first_ns = first_ns == 0 ? now : first_ns;
    last_ns = now;
    // Notifications are fixed-size, so every `payload` bytes of the stream start with a send time.
    for (std::size_t i = 0; i < r.bytes; ++i) {
      if ((bytes + i) % payload == 0) {
        partial.clear();
      }
      partial.push_back(buffer[i]);
      if (partial.size() == 8) {
        std::uint64_t sent = 0;
        for (int b = 7; b >= 0; --b) {
          sent = (sent << 8) | partial[static_cast<std::size_t>(b)];
        }
        latency_us.push_back(static_cast<double>(now - sent) / 1000.0);
      }
    }
    bytes += r.bytes;
  }
  Result result;
  result.received = bytes / payload;
  const double span_s = static_cast<double>(last_ns - first_ns) / 1e9;
  if (span_s > 0) {
    result.notifications_per_s = static_cast<double>(result.received) / span_s;
    result.bytes_per_s = static_cast<double>(bytes) / span_s;
  }
  if (!latency_us.empty()) {
    std::sort(latency_us.begin(), latency_us.end());
    result.latency_median_us = latency_us[latency_us.size() / 2];
    result.latency_p99_us = latency_us[latency_us.size() * 99 / 100];
    result.latency_max_us = latency_us.back();
  }
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  const long notifications = argc > 1 ? std::stol(argv[1]) : 20000;
  constexpr int kMtu = 247;  // 244-byte notifications: the largest with LE Data Length Extension
  std::printf("BLE host path, MTU %d (%d-byte notifications); link limit ~170 kB/s (2M PHY + DLE)\n", kMtu,
              kMtu - 3);
  for (const bool acquire : {true, false}) {
    const char* name = acquire ? "AcquireNotify (fd)" : "StartNotify (PropertiesChanged)";
    const Result t = run(acquire, notifications, kMtu, 0);
    std::printf("%-32s throughput: %8.0f notifications/s  %8.2f MB/s  (%llu of %ld received)\n", name,
                t.notifications_per_s, t.bytes_per_s / 1e6, static_cast<unsigned long long>(t.received),
                notifications);
    const Result l = run(acquire, 2000, kMtu, 1000);
    std::printf("%-32s latency at 1 kHz: median %6.1f us  p99 %6.1f us  max %7.1f us\n", name,
                l.latency_median_us, l.latency_p99_us, l.latency_max_us);
  }
  return 0;
}
