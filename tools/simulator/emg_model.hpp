// Surface-EMG model: band-limited stochastic signal with the Shwedyk et al. (1977) spectral shape,
// amplitude-modulated by the activation profiles of the schedule, plus instrumentation noise set by the SNR
// and the switchable contaminants; quantised to device counts. docs/SIMULATOR.md §EMG model.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/montage.hpp"
#include "simulator/schedule.hpp"
#include "simulator/settings.hpp"

namespace glutescope::sim {

// Power spectrum P(f) ∝ f^2 f_h^4 / ((f^2 + f_l^2)(f^2 + f_h^2)^2) (Shwedyk, Balasubramanian & Scott 1977,
// used for simulated sEMG by Farina & Merletti 2000, JEK 10:337): white Gaussian noise through one
// first-order high-pass at f_l and two first-order low-passes at f_h (bilinear transform, pre-warped),
// scaled to unit output variance. Stateful, one instance per channel.
class ShwedykShapingFilter {
 public:
  ShwedykShapingFilter(double low_hz, double high_hz, double rate_hz);
  // One white-noise sample in, one shaped sample out. noexcept, no allocation.
  double process(double white) noexcept;

 private:
  struct FirstOrder {
    double b0 = 0.0, b1 = 0.0, a1 = 0.0;
    double x1 = 0.0, y1 = 0.0;
    double process(double x) noexcept {
      const double y = b0 * x + b1 * x1 - a1 * y1;
      x1 = x;
      y1 = y;
      return y;
    }
  };
  std::array<FirstOrder, 3> sections_{};
  double gain_ = 1.0;
};

// Per-channel facts of the rendered EMG (part of the ground truth).
struct EmgChannelTruth {
  double mvic_rms_uv = 0.0;        // RMS at 100 % MVIC (activation 1.0)
  double spectrum_low_hz = 0.0;    // Shwedyk f_l
  double spectrum_high_hz = 0.0;   // Shwedyk f_h
  double active_power_uv2 = 0.0;   // expected muscle-signal power over the rep-active samples (SNR reference)
  double noise_rms_uv = 0.0;       // instrumentation noise RMS
  std::uint64_t clipped_samples = 0;  // samples clipped to the int16 range (lead-off samples excluded)
};

struct EmgRender {
  std::size_t samples = 0;
  std::size_t channels = 0;
  std::vector<std::int32_t> counts;  // [samples x channels] row-major, device counts (int16 range)
  std::vector<EmgChannelTruth> channel_truth;
  std::vector<double> ecg_beats_s;   // R-peak times when the ECG contaminant is on
};

// Renders floor(duration * rate) samples of every montage channel.
EmgRender render_emg(const SimulatorSettings& settings, const Montage& montage, const Schedule& schedule);

}  // namespace glutescope::sim
