#include "pipeline/stream_clock.hpp"

namespace glutescope::pipeline {

double StreamClock::stream_time_s(double session_time_s) const noexcept {
  if (!valid) return session_time_s;
  const double host_s = session_time_s + host_clock_at_start_s;
  const double device_s = (host_s - fit.offset_s) / (1.0 + fit.drift_ppm * 1e-6);
  return device_s - device_time_at_sample0_s;
}

StreamClock make_stream_clock(double host_clock_at_start_s, const store::TimingFit& fit, bool have_emg_block,
                              std::uint64_t first_block_device_time_us,
                              std::uint64_t first_block_sample_index, double emg_rate_hz) noexcept {
  StreamClock clock;
  clock.host_clock_at_start_s = host_clock_at_start_s;
  clock.fit = fit;
  clock.emg_rate_hz = emg_rate_hz;
  clock.valid = fit.points > 0 && have_emg_block && emg_rate_hz > 0.0 && (1.0 + fit.drift_ppm * 1e-6) > 0.0;
  if (clock.valid) {
    clock.device_time_at_sample0_s = static_cast<double>(first_block_device_time_us) * 1e-6 -
                                     static_cast<double>(first_block_sample_index) / emg_rate_hz;
  }
  return clock;
}

void to_stream_clock(std::vector<Event>& events, const StreamClock& clock) noexcept {
  for (Event& e : events) e.time_s = clock.stream_time_s(e.time_s);
}

}  // namespace glutescope::pipeline
