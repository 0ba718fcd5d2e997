#include "core/sample_clock.hpp"

#include <cmath>

namespace glutescope {

double SampleClock::sample_time_s(double session_time_s) const noexcept {
  if (!valid) return session_time_s;
  const double host_s = session_time_s + host_clock_at_start_s;
  const double device_s = (host_s - device_to_host.offset_s) / device_to_host.slope;
  return device_s - device_time_at_sample0_s;
}

double SampleClock::session_time_s(double sample_time_s) const noexcept {
  if (!valid) return sample_time_s;
  const double device_s = sample_time_s + device_time_at_sample0_s;
  return device_to_host.offset_s + device_to_host.slope * device_s - host_clock_at_start_s;
}

double SampleClock::event_sample_time_s(const Event& event) const noexcept {
  if (event.emg_sample && std::isfinite(*event.emg_sample) && emg_rate_hz > 0.0 &&
      std::isfinite(emg_rate_hz)) {
    return *event.emg_sample / emg_rate_hz;
  }
  return sample_time_s(event.time_s);
}

SampleClock make_sample_clock(double host_clock_at_start_s, const ClockMapping& device_to_host,
                              bool have_emg_block, std::uint64_t first_block_device_time_us,
                              std::uint64_t first_block_sample_index, double emg_rate_hz) noexcept {
  SampleClock clock;
  clock.host_clock_at_start_s = host_clock_at_start_s;
  clock.device_to_host = device_to_host;
  clock.emg_rate_hz = emg_rate_hz;
  clock.valid = device_to_host.windows > 0 && have_emg_block && emg_rate_hz > 0.0 &&
                std::isfinite(emg_rate_hz) && device_to_host.slope > 0.0 &&
                std::isfinite(device_to_host.slope);
  if (clock.valid) {
    clock.device_time_at_sample0_s = static_cast<double>(first_block_device_time_us) * 1e-6 -
                                     static_cast<double>(first_block_sample_index) / emg_rate_hz;
  }
  return clock;
}

}  // namespace glutescope
