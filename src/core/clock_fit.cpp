#include "core/clock_fit.hpp"

#include <cmath>
#include <stdexcept>

namespace glutescope {

ClockFit::ClockFit(ClockFitSettings settings) : settings_(settings) {
  if (!(settings_.window_s > 0.0)) throw std::invalid_argument("ClockFitSettings::window_s must be > 0 s");
  if (settings_.max_windows == 0) throw std::invalid_argument("ClockFitSettings::max_windows must be > 0");
  ring_.resize(settings_.max_windows);
}

void ClockFit::reset() noexcept {
  ring_next_ = 0;
  ring_size_ = 0;
  have_current_ = false;
}

void ClockFit::close_window() noexcept {
  ring_[ring_next_] = current_;
  ring_next_ = (ring_next_ + 1) % ring_.size();
  if (ring_size_ < ring_.size()) ++ring_size_;
}

void ClockFit::add(std::uint64_t device_time_us, double host_time_s) noexcept {
  const double device_s = static_cast<double>(device_time_us) * 1e-6;
  const double delay_s = host_time_s - device_s;
  if (have_current_ && device_s < current_window_start_s_ - settings_.window_s) reset();
  if (!have_current_) {
    have_current_ = true;
    current_window_start_s_ = device_s;
    current_ = {device_s, delay_s};
    return;
  }
  if (device_s >= current_window_start_s_ + settings_.window_s) {
    close_window();
    // Windows are aligned to the first one so a long outage simply leaves empty windows out.
    const double windows_passed = std::floor((device_s - current_window_start_s_) / settings_.window_s);
    current_window_start_s_ += windows_passed * settings_.window_s;
    current_ = {device_s, delay_s};
    return;
  }
  if (delay_s < current_.delay_s) current_ = {device_s, delay_s};
}

ClockMapping ClockFit::mapping() const noexcept {
  ClockMapping m;
  // The window in progress is used only before the first one completes: a partial window may hold
  // a single late block, and at the end of the line it has the largest leverage on the slope.
  const bool use_current = ring_size_ == 0 && have_current_;
  const std::size_t n = ring_size_ + (use_current ? 1 : 0);
  if (n == 0) return m;
  // Least squares of delay against device time, centred for precision (device times reach 1e4 s).
  auto point = [&](std::size_t i) -> const WindowMin& {
    if (i == ring_size_) return current_;
    const std::size_t oldest = (ring_next_ + ring_.size() - ring_size_) % ring_.size();
    return ring_[(oldest + i) % ring_.size()];
  };
  double mean_x = 0.0;
  double mean_y = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    mean_x += point(i).device_s;
    mean_y += point(i).delay_s;
  }
  mean_x /= static_cast<double>(n);
  mean_y /= static_cast<double>(n);
  double sxx = 0.0;
  double sxy = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double dx = point(i).device_s - mean_x;
    sxx += dx * dx;
    sxy += dx * (point(i).delay_s - mean_y);
  }
  const double drift = (n >= 2 && sxx > 0.0) ? sxy / sxx : 0.0;
  m.slope = 1.0 + drift;
  // delay = host − device = offset + drift·device  ⇒  host = offset + (1 + drift)·device.
  m.offset_s = mean_y - drift * mean_x;
  m.windows = n;
  double sum_sq = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = point(i).delay_s - (m.offset_s + drift * point(i).device_s);
    sum_sq += r * r;
  }
  m.residual_rms_s = std::sqrt(sum_sq / static_cast<double>(n));
  return m;
}

}  // namespace glutescope
