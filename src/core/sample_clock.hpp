// The one time model of glutescope: device clock → host clock → sample clock.
//
//   device clock  µs ticks stamped by the device on every frame (EmgBlock::device_time_us)
//   host clock    the recorder's steady_clock (s); session time = host − host_clock_at_start_s, which is what
//                 every stored Event::time_s is (an operator key press, a control-FIFO command, a device
//                 event mapped through the fit)
//   sample clock  seconds since EMG sample index 0 (= sample index / EMG rate), what analysis windows use
//
// A device-stamped event also carries its EMG sample position (Event::emg_sample, from the device model):
// it is placed by that, never through the host fit, because a fit disturbed while the event was timed (a
// scheduler stall, a replay faster than real time) would otherwise move it by the disturbance.
//
// host_s = offset_s + slope · device_s is the recorder's online clock fit (ClockFit, clock_fit.hpp; stored
// as /general/timing_fit). The device clock at EMG sample 0 comes from any EMG block: its device time minus
// its first sample index / rate, so a device attached mid-stream (first sample index ≠ 0) and a start-up
// delay (first sample long after session time 0) both land on the right sample. The recorder feeds the same
// fit to the session file and to the live consumer, and the offline reader rebuilds it from the file, so
// live and offline place every event on the same samples.
//
// Pure computation, no I/O; the object is a value (copy it to another thread).
#pragma once

#include <cstdint>

#include "core/clock_fit.hpp"
#include "core/session_types.hpp"

namespace glutescope {

struct SampleClock {
  double host_clock_at_start_s = 0.0;     // host clock at session time 0 (s)
  ClockMapping device_to_host;            // host_s = offset_s + slope · device_s
  double device_time_at_sample0_s = 0.0;  // device clock at EMG sample index 0 (s)
  double emg_rate_hz = 0.0;
  bool valid = false;  // false: no fit (e.g. an imported recording): session time is used as sample time

  // Session time (host clock, s since start) → seconds since EMG sample index 0.
  [[nodiscard]] double sample_time_s(double session_time_s) const noexcept;
  // The inverse: seconds since EMG sample 0 → session time.
  [[nodiscard]] double session_time_s(double sample_time_s) const noexcept;
  // Where an event falls on the sample clock: a device-stamped event by its own EMG sample position (the
  // device's clock alone, exact whatever the fit did), any other event through the fit from its time_s.
  [[nodiscard]] double event_sample_time_s(const Event& event) const noexcept;
};

// `first_block_device_time_us` / `first_block_sample_index`: any EMG block's device time and first sample
// index (the first one stored, by convention). No fit (windows == 0), no block, a non-positive rate or slope
// gives an invalid clock.
[[nodiscard]] SampleClock make_sample_clock(double host_clock_at_start_s, const ClockMapping& device_to_host,
                                            bool have_emg_block, std::uint64_t first_block_device_time_us,
                                            std::uint64_t first_block_sample_index,
                                            double emg_rate_hz) noexcept;

}  // namespace glutescope
