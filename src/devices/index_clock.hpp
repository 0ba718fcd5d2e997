// Small pieces the decoders of devices without a clock of their own share (BITalino, Trigno): device time
// from the sample index at the nominal rate, and a note event on the session's host clock.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

#include "devices/device_model.hpp"  // DeviceSink

namespace glutescope::devices {

// Device time (µs) of sample `index` of a stream at `rate_hz`: exact in samples, silent about drift.
inline std::uint64_t index_time_us(std::uint64_t index, double rate_hz) noexcept {
  return static_cast<std::uint64_t>(std::llround(static_cast<double>(index) * 1e6 / rate_hz));
}

// A note event at host time `host_time_s` (seconds since the session start on the host clock).
inline void emit_note(DeviceSink& sink, double session_start_host_s, std::string text, double host_time_s) {
  Event e;
  e.time_s = host_time_s - session_start_host_s;
  e.kind = EventKind::note;
  e.text = std::move(text);
  sink.on_event(e);
}

}  // namespace glutescope::devices
