#include "store/hdf5_watchdog.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

namespace glutescope::store {
namespace {

std::atomic<bool> g_enabled{false};
Hdf5WatchdogSettings g_settings;  // written once, before g_enabled is set
std::atomic<int> g_depth{0};
std::atomic<std::int64_t> g_deadline_ns{0};  // steady clock; 0 = no scope open
std::atomic<std::int64_t> g_limit_ns{0};     // the open scope's limit, for the message
std::atomic<const std::string*> g_file{nullptr};

constexpr std::array<int, 5> kFaultSignals = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
std::array<struct sigaction, kFaultSignals.size()> g_previous_actions{};

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// write(2) of everything, retried on EINTR; async-signal-safe and allocation-free (the stalled or faulted
// thread may hold the allocator's lock).
void write_all(std::string_view text) noexcept {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write_file_name() noexcept {
  const std::string* file = g_file.load();
  write_all(file != nullptr ? std::string_view(*file) : std::string_view("a session file"));
}

[[noreturn]] void report_stall() noexcept {
  std::array<char, 32> seconds{};
  const double limit_s = static_cast<double>(g_limit_ns.load()) / 1e9;
  const auto [end, ec] =
      std::to_chars(seconds.data(), seconds.data() + seconds.size(), limit_s, std::chars_format::fixed, 1);
  write_all("glutescope: ");
  write_file_name();
  write_all(": HDF5 did not return within ");
  write_all(ec == std::errc()
                ? std::string_view(seconds.data(), static_cast<std::size_t>(end - seconds.data()))
                : std::string_view("?"));
  write_all(" s while reading it (damaged file?)\n");
  ::_exit(kHdf5StallExitStatus);
}

std::string_view signal_name(int signal) noexcept {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return "a signal";
  }
}

void on_fault(int signal, siginfo_t*, void*) noexcept {
  if (g_depth.load() > 0) {
    write_all("glutescope: ");
    write_file_name();
    write_all(": reading it stopped with ");
    write_all(signal_name(signal));
    write_all(" inside the HDF5 reader (damaged file?)\n");
    ::_exit(kHdf5FaultExitStatus);
  }
  // Not while reading a file: glutescope's own fault, for the previous handler (the default action: a core
  // dump; or a sanitizer's report) once the faulting instruction runs again or the signal is raised again.
  for (std::size_t i = 0; i < kFaultSignals.size(); ++i) {
    if (kFaultSignals[i] == signal) ::sigaction(signal, &g_previous_actions[i], nullptr);
  }
}

void watch_loop() noexcept {
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const std::int64_t deadline = g_deadline_ns.load();
    if (deadline != 0 && steady_ns() > deadline) report_stall();
  }
}

// An alternate stack for the fault handler of the thread that enabled the watchdog (the reading thread of
// the one-shot commands): a stack overflow inside HDF5 still gets its line.
alignas(16) std::array<char, std::size_t{64} * 1024> g_alt_stack;

}  // namespace

void enable_hdf5_watchdog(const Hdf5WatchdogSettings& settings) {
  static std::once_flag once;
  std::call_once(once, [&] {
    g_settings = settings;
    if (const char* env = std::getenv("GLUTESCOPE_HDF5_TIMEOUT"); env != nullptr) {
      char* end = nullptr;
      const double s = std::strtod(env, &end);
      if (end != env && *end == '\0' && std::isfinite(s) && s > 0.0 && s <= 86400.0) g_settings.base_s = s;
    }
    stack_t alt{};
    alt.ss_sp = g_alt_stack.data();
    alt.ss_size = g_alt_stack.size();
    ::sigaltstack(&alt, nullptr);
    for (std::size_t i = 0; i < kFaultSignals.size(); ++i) {
      struct sigaction action {};
      action.sa_sigaction = on_fault;
      action.sa_flags = SA_SIGINFO | SA_ONSTACK;
      sigemptyset(&action.sa_mask);
      ::sigaction(kFaultSignals[i], &action, &g_previous_actions[i]);
    }
    std::thread(watch_loop).detach();
    g_enabled.store(true);
  });
}

bool hdf5_watchdog_enabled() noexcept { return g_enabled.load(); }

Hdf5Watch::Hdf5Watch(const std::string& file, std::uint64_t file_bytes) noexcept
    : previous_file_(g_file.load()), previous_limit_ns_(g_limit_ns.load()) {
  const double limit_s = g_settings.base_s + static_cast<double>(file_bytes) / g_settings.bytes_per_s;
  const auto limit_ns = static_cast<std::int64_t>(std::min(limit_s, 1e6) * 1e9);
  g_file.store(&file);
  g_limit_ns.store(limit_ns);
  g_deadline_ns.store(steady_ns() + limit_ns);
  g_depth.fetch_add(1);
}

Hdf5Watch::~Hdf5Watch() {
  if (g_depth.fetch_sub(1) > 1) {
    // The outer scope goes on: its clock starts again now (the limit is per stretch without a return).
    g_file.store(previous_file_);
    g_limit_ns.store(previous_limit_ns_);
    g_deadline_ns.store(steady_ns() + previous_limit_ns_);
  } else {
    g_deadline_ns.store(0);
    g_file.store(previous_file_);
    g_limit_ns.store(previous_limit_ns_);
  }
}

}  // namespace glutescope::store
