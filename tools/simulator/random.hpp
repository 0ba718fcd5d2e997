// Deterministic random numbers for the simulator: std::mt19937_64 (fully specified by the standard) with
// hand-written distributions, so a seed gives the same session on every standard library
// (std::normal_distribution's output is implementation-defined).
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>

namespace glutescope::sim {

// SplitMix64 (Steele, Lea & Flood 2014): derives independent, well-mixed seeds for the per-component
// streams from one user seed, so switching one contaminant on does not change any other signal.
constexpr std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30U)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27U)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31U);
}

class RandomStream {
 public:
  // `stream` names the component (EMG channel, IMU, contaminant...): distinct streams are independent.
  RandomStream(std::uint64_t seed, std::uint64_t stream) noexcept
      : engine_(splitmix64(splitmix64(seed) ^ splitmix64(stream + 0x632BE59BD9B4E019ULL))) {}

  // Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(engine_() >> 11U) * 0x1.0p-53; }
  double uniform(double low, double high) noexcept { return low + (high - low) * uniform(); }

  // Standard normal by the Box-Muller transform (Box & Muller 1958); caches the second variate.
  double normal() noexcept {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * std::numbers::pi * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
  }

 private:
  std::mt19937_64 engine_;
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Stream identifiers (stable: changing them changes every session for a seed).
namespace stream_id {
inline constexpr std::uint64_t schedule = 1;           // phase durations, onsets, levels, ROM
inline constexpr std::uint64_t emg_source = 100;       // + channel: the muscle signal
inline constexpr std::uint64_t emg_noise = 200;        // + channel: instrumentation noise
inline constexpr std::uint64_t mains = 300;            // + channel
inline constexpr std::uint64_t wander = 400;           // + channel
inline constexpr std::uint64_t ecg = 500;
inline constexpr std::uint64_t motion_artefact = 600;
inline constexpr std::uint64_t imu_noise = 700;        // + sensor
inline constexpr std::uint64_t imu_bias = 800;         // + sensor
inline constexpr std::uint64_t spectrum = 900;         // per-channel spectral parameters
}  // namespace stream_id

}  // namespace glutescope::sim
