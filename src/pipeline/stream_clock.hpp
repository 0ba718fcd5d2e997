// Event times on the EMG sample clock. The session file stores event times on the host clock (seconds
// since the session started, docs/SESSION_FORMAT.md) because that is what an operator's key press or a
// control-FIFO command has; analysis places events against samples, whose clock is the sample index.
// The two differ by the recorder's start-up delay and, whenever the device clock does not run at host
// speed (a drifting crystal, a replay faster than real time), by the drift. The recorded device→host
// clock fit connects them.
#pragma once

#include <cstdint>
#include <vector>

#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::pipeline {

struct StreamClock {
  double host_clock_at_start_s = 0.0;     // /@host_clock_at_start_s: host clock at session time 0
  store::TimingFit fit;                   // host_s = offset_s + (1 + drift_ppm·1e-6) · device_s
  double device_time_at_sample0_s = 0.0;  // device clock at EMG sample index 0
  double emg_rate_hz = 0.0;
  bool valid = false;  // false: no fit (e.g. an imported recording) — event times are used as they are

  // Session time (host clock, s since start) → seconds since EMG sample index 0.
  [[nodiscard]] double stream_time_s(double session_time_s) const noexcept;
};

// Builds the clock from what the reader returns. `first_block_device_time_us` and
// `first_block_sample_index` describe the first stored EMG block; no fit (points == 0) or no block gives
// an invalid clock.
StreamClock make_stream_clock(double host_clock_at_start_s, const store::TimingFit& fit, bool have_emg_block,
                              std::uint64_t first_block_device_time_us,
                              std::uint64_t first_block_sample_index, double emg_rate_hz) noexcept;

// Moves every event's time_s onto the EMG sample clock (no-op for an invalid clock).
void to_stream_clock(std::vector<Event>& events, const StreamClock& clock) noexcept;

}  // namespace glutescope::pipeline
