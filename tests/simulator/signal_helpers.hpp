// Independent signal measurements for the simulator tests (written here, not taken from the simulator):
// channel extraction, RMS, a Hann-windowed Welch periodogram by direct DFT, median frequency.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <numbers>
#include <vector>

#include "simulator/session.hpp"

namespace glutescope::sim::test {

// One channel of the EMG stream in µV.
inline std::vector<double> channel_uv(const SimulatedSession& session, std::size_t channel) {
  const std::vector<std::int32_t> counts = session.emg_counts();
  const std::size_t channels = session.montage.emg.size();
  const double scale = session.montage.emg[channel].microvolts_per_count;
  std::vector<double> out(counts.size() / channels);
  for (std::size_t n = 0; n < out.size(); ++n) out[n] = scale * counts[n * channels + channel];
  return out;
}

inline std::size_t index_at(double t_s, double rate_hz) {
  return static_cast<std::size_t>(std::llround(t_s * rate_hz));
}

// Mean square of x[begin, end).
inline double mean_square(const std::vector<double>& x, std::size_t begin, std::size_t end) {
  double sum = 0.0;
  for (std::size_t n = begin; n < end; ++n) sum += x[n] * x[n];
  return sum / static_cast<double>(end - begin);
}

inline double rms(const std::vector<double>& x, std::size_t begin, std::size_t end) {
  return std::sqrt(mean_square(x, begin, end));
}

// Centred moving RMS over `window` samples.
inline std::vector<double> moving_rms(const std::vector<double>& x, std::size_t window) {
  std::vector<double> out(x.size(), 0.0);
  double sum = 0.0;
  const std::size_t half = window / 2;
  for (std::size_t n = 0; n < x.size(); ++n) {
    sum += x[n] * x[n];
    if (n >= window) sum -= x[n - window] * x[n - window];
    if (n + 1 >= window)
      out[n + 1 - window + half] = std::sqrt(std::max(sum, 0.0) / static_cast<double>(window));
  }
  return out;
}

// Welch PSD accumulator: 50 % overlapping Hann segments of `length` samples, one-sided, direct DFT.
class WelchPsd {
 public:
  explicit WelchPsd(std::size_t length) : length_(length), power_(length / 2 + 1, 0.0), window_(length) {
    for (std::size_t n = 0; n < length; ++n) {
      window_[n] =
          0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(n) / static_cast<double>(length));
    }
    cos_.resize(length);
    sin_.resize(length);
    for (std::size_t n = 0; n < length; ++n) {
      cos_[n] = std::cos(2.0 * std::numbers::pi * static_cast<double>(n) / static_cast<double>(length));
      sin_[n] = std::sin(2.0 * std::numbers::pi * static_cast<double>(n) / static_cast<double>(length));
    }
  }
  // Adds every full segment of x[begin, end).
  void add(const std::vector<double>& x, std::size_t begin, std::size_t end) {
    std::vector<double> seg(length_);
    for (std::size_t start = begin; start + length_ <= end; start += length_ / 2) {
      double mean = 0.0;
      for (std::size_t n = 0; n < length_; ++n) mean += x[start + n];
      mean /= static_cast<double>(length_);
      for (std::size_t n = 0; n < length_; ++n) seg[n] = (x[start + n] - mean) * window_[n];
      for (std::size_t k = 0; k < power_.size(); ++k) {
        double re = 0.0;
        double im = 0.0;
        for (std::size_t n = 0; n < length_; ++n) {
          const std::size_t idx = (k * n) % length_;
          re += seg[n] * cos_[idx];
          im -= seg[n] * sin_[idx];
        }
        power_[k] += re * re + im * im;
      }
      ++segments_;
    }
  }
  [[nodiscard]] std::size_t segments() const { return segments_; }
  // Frequency below which half the power lies (bins above DC), Hz.
  [[nodiscard]] double median_frequency(double rate_hz) const {
    double total = 0.0;
    for (std::size_t k = 1; k < power_.size(); ++k) total += power_[k];
    double cumulative = 0.0;
    for (std::size_t k = 1; k < power_.size(); ++k) {
      cumulative += power_[k];
      if (cumulative >= total / 2.0) return static_cast<double>(k) * rate_hz / static_cast<double>(length_);
    }
    return rate_hz / 2.0;
  }

 private:
  std::size_t length_;
  std::vector<double> power_;
  std::vector<double> window_;
  std::vector<double> cos_;
  std::vector<double> sin_;
  std::size_t segments_ = 0;
};

}  // namespace glutescope::sim::test
