#include "pipeline/stream_clock.hpp"

#include <limits>

namespace glutescope::pipeline {

ClockMapping to_clock_mapping(const store::TimingFit& fit) noexcept {
  ClockMapping m;
  m.offset_s = fit.offset_s;
  m.slope = 1.0 + fit.drift_ppm * 1e-6;
  m.residual_rms_s = fit.residual_rms_s;
  m.windows = fit.points > std::numeric_limits<std::size_t>::max() ? std::numeric_limits<std::size_t>::max()
                                                                   : static_cast<std::size_t>(fit.points);
  return m;
}

StreamClock make_stream_clock(double host_clock_at_start_s, const store::TimingFit& fit, bool have_emg_block,
                              std::uint64_t first_block_device_time_us,
                              std::uint64_t first_block_sample_index, double emg_rate_hz) noexcept {
  StreamClock clock;
  static_cast<SampleClock&>(clock) =
      make_sample_clock(host_clock_at_start_s, to_clock_mapping(fit), have_emg_block,
                        first_block_device_time_us, first_block_sample_index, emg_rate_hz);
  return clock;
}

void to_stream_clock(std::vector<Event>& events, const SampleClock& clock) noexcept {
  for (Event& e : events) e.time_s = clock.event_sample_time_s(e);
}

}  // namespace glutescope::pipeline
