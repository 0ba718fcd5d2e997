// Online mapping of the device clock (µs ticks in each frame) to the host steady_clock (s):
// host_s = offset_s + slope * device_s, with slope = 1 + drift.
//
// Method (lower envelope, as NTP and LSL keep the minimum-delay probe; research/acquisition.md §2):
// a block's apparent delay host − device = true offset + transport delay, and transport delay is
// non-negative with a long upper tail (USB polling, scheduler, FTDI latency timer). Within each
// window of `window_s` device seconds only the minimum delay is kept; a least-squares line through
// the last `max_windows` minima gives offset and drift. Arrival jitter thus biases the offset only
// by the smallest delay seen per window (tens of µs), and the drift hardly at all.
//
// Threading contract: not thread-safe; owned by the acquisition thread. add() is noexcept and
// allocation-free (the window ring is allocated in the constructor).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace glutescope {

struct ClockFitSettings {
  double window_s = 1.0;          // device-time span whose minimum delay is kept (s)
  std::size_t max_windows = 300;  // windows in the fit (300 × 1 s = the last 5 minutes)
};
// Default: 1 s windows over the last 5 minutes.
inline constexpr ClockFitSettings kDefaultClockFitSettings{};

// host_s = offset_s + slope * device_s (device_s = device_time_us / 1e6).
struct ClockMapping {
  double offset_s = 0.0;
  double slope = 1.0;           // host seconds per device second
  std::size_t windows = 0;      // minima the fit rests on (0 = no data yet)
  double residual_rms_s = 0.0;  // RMS distance of those minima from the line (s)

  [[nodiscard]] double drift_ppm() const noexcept { return (slope - 1.0) * 1e6; }
  [[nodiscard]] double to_host_s(std::uint64_t device_time_us) const noexcept {
    return offset_s + slope * (static_cast<double>(device_time_us) * 1e-6);
  }
};

class ClockFit {
 public:
  // Throws std::invalid_argument for window_s <= 0 or max_windows == 0.
  explicit ClockFit(ClockFitSettings settings = kDefaultClockFitSettings);

  // One (device time, host arrival time) pair, typically per received frame. A device clock that
  // goes back by more than one window (device restarted) starts a new fit.
  void add(std::uint64_t device_time_us, double host_time_s) noexcept;
  // The current fit: least squares over the completed windows (the window in progress until one
  // has completed).
  [[nodiscard]] ClockMapping mapping() const noexcept;
  void reset() noexcept;

 private:
  struct WindowMin {
    double device_s;
    double delay_s;  // host − device
  };
  void close_window() noexcept;

  ClockFitSettings settings_;
  std::vector<WindowMin> ring_;  // completed windows, circular, capacity max_windows
  std::size_t ring_next_ = 0;
  std::size_t ring_size_ = 0;
  bool have_current_ = false;
  double current_window_start_s_ = 0.0;
  WindowMin current_{};
};

}  // namespace glutescope
