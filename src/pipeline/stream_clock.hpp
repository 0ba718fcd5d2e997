// Event times on the EMG sample clock for the offline reader: the stored /general/timing_fit and the first
// stored EMG block turned into the one time model (core/sample_clock.hpp), which the live consumer builds
// from the recorder's fit and the blocks it sees.
#pragma once

#include <cstdint>
#include <vector>

#include "core/sample_clock.hpp"
#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::pipeline {

// The offline name of the one time model (kept for the reader's callers).
struct StreamClock : SampleClock {
  // Session time (host clock, s since start) → seconds since EMG sample index 0.
  [[nodiscard]] double stream_time_s(double session_time_s) const noexcept {
    return sample_time_s(session_time_s);
  }
};

// The stored fit as the core mapping (slope = 1 + drift_ppm · 1e-6; windows = fitted points).
[[nodiscard]] ClockMapping to_clock_mapping(const store::TimingFit& fit) noexcept;

// Builds the clock from what the reader returns. `first_block_device_time_us` and
// `first_block_sample_index` describe the first stored EMG block; no fit (points == 0) or no block gives
// an invalid clock.
StreamClock make_stream_clock(double host_clock_at_start_s, const store::TimingFit& fit, bool have_emg_block,
                              std::uint64_t first_block_device_time_us,
                              std::uint64_t first_block_sample_index, double emg_rate_hz) noexcept;

// Moves every event's time_s onto the EMG sample clock (no-op for an invalid clock).
void to_stream_clock(std::vector<Event>& events, const SampleClock& clock) noexcept;

}  // namespace glutescope::pipeline
