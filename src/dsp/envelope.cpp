#include "dsp/envelope.hpp"
#include "dsp/lane_vector.hpp"
#include "dsp/non_finite.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "dsp/zero_phase.hpp"

namespace glutescope::dsp {
namespace {

using detail::any_non_finite;
using detail::non_finite;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::size_t window_samples(double window_ms, double rate_hz) {
  if (!std::isfinite(rate_hz) || rate_hz <= 0.0) {
    throw std::invalid_argument("rate_hz must be a finite positive sampling rate in Hz, got " +
                                std::to_string(rate_hz));
  }
  if (!std::isfinite(window_ms) || window_ms <= 0.0) {
    throw std::invalid_argument("window_ms must be a finite positive duration in ms, got " +
                                std::to_string(window_ms));
  }
  const double samples = std::round(window_ms * rate_hz / 1000.0);
  if (samples < 1.0) {
    throw std::invalid_argument("window_ms = " + std::to_string(window_ms) +
                                " is shorter than one sample at " + std::to_string(rate_hz) +
                                " Hz (minimum " + std::to_string(500.0 / rate_hz) + " ms)");
  }
  return static_cast<std::size_t>(samples);
}

// ---------------------------------------------------------------------------------------- MovingRms

MovingRms::MovingRms(const MovingRmsSettings& settings, double rate_hz, std::size_t channels)
    : window_(window_samples(settings.window_ms, rate_hz)), channels_(channels) {
  if (channels == 0) throw std::invalid_argument("channels must be at least 1, got 0");
  squares_.assign(window_ * channels_, 0.0);
  sums_.assign(channels_, 0.0);
  fill_.assign(channels_, 0);
  resets_.assign(channels_, 0);
  reset();
}

void MovingRms::reset() noexcept {
  std::fill(squares_.begin(), squares_.end(), 0.0);
  std::fill(sums_.begin(), sums_.end(), 0.0);
  std::fill(fill_.begin(), fill_.end(), 0);
  position_ = 0;
  channels_filling_ = window_ > 1 ? channels_ : 0;
  if (window_ == 1) std::fill(fill_.begin(), fill_.end(), window_);
}

// Move to the next ring row; on wrap-around recompute every running sum exactly from the ring.
void MovingRms::advance() noexcept {
  if (++position_ < window_) return;
  position_ = 0;
  std::fill(sums_.begin(), sums_.end(), 0.0);
  for (std::size_t k = 0; k < window_; ++k) {
    const double* row = squares_.data() + k * channels_;
    for (std::size_t c = 0; c < channels_; ++c) sums_[c] += row[c];
  }
}

double MovingRms::step(std::size_t channel, double x, std::uint8_t& valid) noexcept {
  double& slot = squares_[position_ * channels_ + channel];
  if (non_finite(x)) {
    for (std::size_t k = 0; k < window_; ++k) squares_[k * channels_ + channel] = 0.0;
    sums_[channel] = 0.0;
    if (fill_[channel] >= window_ && window_ > 1) ++channels_filling_;
    fill_[channel] = 0;
    ++resets_[channel];
    valid = 0;
    return kNaN;
  }
  const double square = x * x;
  sums_[channel] += square - slot;
  slot = square;
  if (fill_[channel] < window_) {
    if (++fill_[channel] == window_ && window_ > 1) --channels_filling_;
  }
  valid = fill_[channel] >= window_ ? 1 : 0;
  return std::sqrt(std::max(sums_[channel], 0.0) / static_cast<double>(window_));
}

double MovingRms::process(double x) noexcept {
  std::uint8_t valid = 0;
  const double y = step(0, x, valid);
  advance();
  return y;
}

namespace {

// The moving RMS of the N channels from lane c0 over `rows` clean rows, their running sums held in a register
// for the whole run (row by row across all channels, each sum would go through memory at every row). Writes
// max(sum, 0) / window, whose square root the caller takes in one vectorised pass; returns the ring position
// after the last row. Same operations in the same order as MovingRms::step and advance (bit-identical):
// sum += square - ring; on wrap-around the sum is recomputed exactly from the ring, from 0 in ring order.
template <std::size_t N>
[[gnu::always_inline]] inline std::size_t moving_rms_lanes(const double* in, double* out, double* ring,
                                                           double* sums, std::size_t channels, std::size_t c0,
                                                           std::size_t rows, std::size_t window,
                                                           std::size_t position) noexcept {
  using V = typename detail::LaneVector<N>::type;
  const V zero{};
  const auto w = static_cast<double>(window);
  V sum;
  detail::load_lanes(sum, sums + c0);
  for (std::size_t r = 0; r < rows; ++r) {
    V x, old;
    detail::load_lanes(x, in + r * channels + c0);
    double* slot = ring + position * channels + c0;
    detail::load_lanes(old, slot);
    const V square = x * x;
    sum += square - old;
    detail::store_lanes(slot, square);
    const V clipped = sum < zero ? zero : sum;  // std::max(sum, 0.0)
    detail::store_lanes(out + r * channels + c0, clipped / w);
    if (++position == window) {
      position = 0;
      sum = zero;
      for (std::size_t k = 0; k < window; ++k) {
        V v;
        detail::load_lanes(v, ring + k * channels + c0);
        sum += v;
      }
    }
  }
  detail::store_lanes(sums + c0, sum);
  return position;
}

}  // namespace

// Compiled for AVX-512, AVX2 and the x86-64 baseline, the widest the CPU has chosen at load time; the
// operations per sample are the same in each (no FMA: -ffp-contract=off), so the results are too.
__attribute__((target_clones("avx512f", "avx2", "default"))) void MovingRms::process_interleaved(
    std::span<const double> in, std::span<double> out, std::span<std::uint8_t> valid) noexcept {
  const std::size_t rows = std::min(in.size(), out.size()) / channels_;
  const std::size_t n = rows * channels_;
  const bool with_mask = valid.size() >= n;
  if (channels_filling_ == 0 && !any_non_finite(in.data(), n)) {
    // Common case: every window is full and the block is clean. Lane blocks of 8 channels (one zmm, two ymm
    // or four xmm registers, whichever this clone has); from 128 channels on, of 32: their 4+ independent
    // running sums hide the add latency of the ring's exact re-summation at each wrap-around, a serial chain
    // per register (measured at 256 channels: live chain 222 -> 272 M channel-samples/s; below 128 channels
    // the wide blocks were slower).
    std::size_t position = position_;
    const auto lanes = [&]<std::size_t N>(std::size_t c) __attribute__((always_inline)) {
      position = moving_rms_lanes<N>(in.data(), out.data(), squares_.data(), sums_.data(), channels_, c, rows,
                                     window_, position_);
    };
    if (channels_ >= 128)
      detail::for_each_lane_block<32>(channels_, lanes);
    else
      detail::for_each_lane_block<8>(channels_, lanes);
    position_ = position;
    double* __restrict y = out.data();
    for (std::size_t i = 0; i < n; ++i) y[i] = std::sqrt(y[i]);
    if (with_mask) std::fill_n(valid.begin(), n, std::uint8_t{1});
    return;
  }
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < channels_; ++c) {
      std::uint8_t v = 0;
      const std::size_t i = r * channels_ + c;
      out[i] = step(c, in[i], v);
      if (with_mask) valid[i] = v;
    }
    advance();
  }
}

std::vector<double> moving_rms_centered(std::span<const double> x, const MovingRmsSettings& settings,
                                        double rate_hz) {
  const std::size_t window = window_samples(settings.window_ms, rate_hz);
  const std::size_t n = x.size();
  // Prefix sums of squares in long double limit cancellation over long records.
  std::vector<long double> prefix(n + 1, 0.0L);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument("non-finite sample at index " + std::to_string(i) +
                                  ": offline envelopes need finite input");
    }
    prefix[i + 1] = prefix[i] + static_cast<long double>(x[i]) * x[i];
  }
  std::vector<double> y(n);
  const auto half = static_cast<std::ptrdiff_t>((window - 1) / 2);
  const auto w = static_cast<std::ptrdiff_t>(window);
  const auto len = static_cast<std::ptrdiff_t>(n);
  for (std::ptrdiff_t i = 0; i < len; ++i) {
    const std::ptrdiff_t last = std::min(i + half, len - 1);
    const std::ptrdiff_t first = std::max<std::ptrdiff_t>(i + half - w + 1, 0);
    const long double sum =
        last >= first ? prefix[static_cast<std::size_t>(last + 1)] - prefix[static_cast<std::size_t>(first)]
                      : 0.0L;
    y[static_cast<std::size_t>(i)] =
        std::sqrt(std::max(static_cast<double>(sum), 0.0) / static_cast<double>(window));
  }
  return y;
}

// ----------------------------------------------------------------------------------- LinearEnvelope

LinearEnvelope::LinearEnvelope(const LinearEnvelopeSettings& settings, double rate_hz, std::size_t channels)
    : lowpass_(butterworth_lowpass(settings.order, settings.cutoff_hz, rate_hz), channels) {}

double LinearEnvelope::process(std::size_t channel, double x) noexcept {
  return lowpass_.process(channel, std::abs(x));
}

void LinearEnvelope::process_interleaved(std::span<const double> in, std::span<double> out,
                                         std::span<std::uint8_t> valid) noexcept {
  const std::size_t n = std::min(in.size(), out.size());
  for (std::size_t i = 0; i < n; ++i) out[i] = std::abs(in[i]);  // NaN stays NaN, Inf stays Inf
  lowpass_.process_interleaved(out.first(n), out.first(n), valid);
}

std::vector<double> linear_envelope_zero_phase(std::span<const double> x,
                                               const LinearEnvelopeSettings& settings, double rate_hz) {
  const SosCoefficients sos = butterworth_lowpass(settings.order, settings.cutoff_hz, rate_hz);
  std::vector<double> rectified(x.size());
  std::transform(x.begin(), x.end(), rectified.begin(), [](double v) { return std::abs(v); });
  return sosfiltfilt(sos, rectified);
}

// --------------------------------------------------------------------------------------------- TKEO

std::vector<double> tkeo(std::span<const double> x) {
  if (x.size() < 3) {
    throw std::invalid_argument("TKEO needs at least 3 samples, got " + std::to_string(x.size()));
  }
  const std::size_t n = x.size();
  std::vector<double> psi(n);
  for (std::size_t i = 1; i + 1 < n; ++i) psi[i] = x[i] * x[i] - x[i - 1] * x[i + 1];
  psi[0] = psi[1];
  psi[n - 1] = psi[n - 2];
  return psi;
}

Tkeo::Tkeo(std::size_t channels)
    : channels_(channels),
      previous_(channels, 0.0),
      before_previous_(channels, 0.0),
      seen_(channels, 0),
      resets_(channels, 0) {
  if (channels == 0) throw std::invalid_argument("channels must be at least 1, got 0");
}

void Tkeo::reset() noexcept {
  std::fill(previous_.begin(), previous_.end(), 0.0);
  std::fill(before_previous_.begin(), before_previous_.end(), 0.0);
  std::fill(seen_.begin(), seen_.end(), std::uint8_t{0});
}

double Tkeo::process(std::size_t channel, double x) noexcept {
  if (non_finite(x)) {
    previous_[channel] = 0.0;
    before_previous_[channel] = 0.0;
    seen_[channel] = 0;
    ++resets_[channel];
    return kNaN;
  }
  const double p = previous_[channel];
  const double psi = p * p - before_previous_[channel] * x;  // psi[n-1]
  before_previous_[channel] = p;
  previous_[channel] = x;
  if (seen_[channel] < 2) ++seen_[channel];
  return psi;
}

void Tkeo::process_interleaved(std::span<const double> in, std::span<double> out,
                               std::span<std::uint8_t> valid) noexcept {
  const std::size_t rows = std::min(in.size(), out.size()) / channels_;
  const std::size_t n = rows * channels_;
  const bool with_mask = valid.size() >= n;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % channels_;
    const std::uint8_t before = seen_[c];
    out[i] = process(c, in[i]);
    // psi[n-1] is valid once x[n-2] was a real sample: two samples seen before this one.
    if (with_mask) valid[i] = (before >= 2 && !non_finite(in[i])) ? 1 : 0;
  }
}

}  // namespace glutescope::dsp
