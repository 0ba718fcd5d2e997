#include "dsp/zero_phase.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "dsp/non_finite.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::dsp {

std::vector<double> sosfilt_zi(const SosCoefficients& sos) {
  validate_sos(sos);
  std::vector<double> zi;
  double scale = 1.0;
  for (const Biquad& s : sos) {
    // scipy lfilter_zi for one normalised section: solve (I - A^T) zi = b[1:] - a[1:] b0.
    const double rhs0 = s.b1 - s.a1 * s.b0;
    const double rhs1 = s.b2 - s.a2 * s.b0;
    const double zi0 = (rhs0 + rhs1) / (1.0 + s.a1 + s.a2);
    const double zi1 = rhs1 - s.a2 * zi0;
    zi.push_back(scale * zi0);
    zi.push_back(scale * zi1);
    scale *= (s.b0 + s.b1 + s.b2) / (s.a0 + s.a1 + s.a2);
  }
  return zi;
}

std::size_t sosfiltfilt_padlen(const SosCoefficients& sos) {
  const auto zero_b2 = static_cast<std::size_t>(
      std::count_if(sos.begin(), sos.end(), [](const Biquad& s) { return s.b2 == 0.0; }));
  const auto zero_a2 = static_cast<std::size_t>(
      std::count_if(sos.begin(), sos.end(), [](const Biquad& s) { return s.a2 == 0.0; }));
  const std::size_t ntaps = 2 * sos.size() + 1 - std::min(zero_b2, zero_a2);
  return 3 * ntaps;
}

namespace {

void check_input(std::span<const double> x, std::size_t channels, std::size_t padlen) {
  if (channels == 0) throw std::invalid_argument("channels must be at least 1, got 0");
  if (x.size() % channels != 0) {
    throw std::invalid_argument("interleaved input size " + std::to_string(x.size()) +
                                " is not a multiple of channels " + std::to_string(channels));
  }
  const std::size_t samples = x.size() / channels;
  if (samples <= padlen) {
    throw std::invalid_argument("zero-phase filtering needs more than padlen = " + std::to_string(padlen) +
                                " samples per channel, got " + std::to_string(samples));
  }
  // One vectorised scan; the element-wise search only runs to name the bad sample.
  if (!detail::any_non_finite(x.data(), x.size())) return;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument("non-finite sample at index " + std::to_string(i / channels) +
                                  " of channel " + std::to_string(i % channels) +
                                  ": offline filtering needs finite input (split at invalid stretches)");
    }
  }
}

}  // namespace

std::vector<double> sosfiltfilt_interleaved(const SosCoefficients& sos, std::span<const double> x,
                                            std::size_t channels) {
  std::vector<double> y(x.size());
  sosfiltfilt_interleaved(sos, x, channels, y);
  return y;
}

void sosfiltfilt_interleaved(const SosCoefficients& sos, std::span<const double> x, std::size_t channels,
                             std::span<double> y) {
  if (y.size() != x.size()) {
    throw std::invalid_argument("zero-phase output buffer of " + std::to_string(y.size()) +
                                " samples for an input of " + std::to_string(x.size()));
  }
  const detail::SosTaps taps = detail::make_taps(sos);
  const std::size_t pad = sosfiltfilt_padlen(sos);
  check_input(x, channels, pad);
  const std::size_t n = x.size() / channels;
  const std::size_t sections = sos.size();
  const std::vector<double> zi = sosfilt_zi(sos);

  // Odd extension, kept in two small buffers so that the only large allocation is the result:
  // left[i] = 2 x[0] - x[pad - i], right[i] = 2 x[n-1] - x[n-2-i].
  std::vector<double> left(pad * channels), right(pad * channels);
  for (std::size_t i = 0; i < pad; ++i) {
    for (std::size_t c = 0; c < channels; ++c) {
      left[i * channels + c] = 2.0 * x[c] - x[(pad - i) * channels + c];
      right[i * channels + c] = 2.0 * x[(n - 1) * channels + c] - x[(n - 2 - i) * channels + c];
    }
  }
  // (x is not read after this point except by the forward pass below, row by row before y's row is
  // written, so y may alias x.)
  std::vector<double> z1(sections * channels), z2(sections * channels);
  const auto init_state = [&](const double* first_row) {
    for (std::size_t s = 0; s < sections; ++s) {
      for (std::size_t c = 0; c < channels; ++c) {
        z1[s * channels + c] = zi[2 * s] * first_row[c];
        z2[s * channels + c] = zi[2 * s + 1] * first_row[c];
      }
    }
  };
  const auto stride = static_cast<std::ptrdiff_t>(channels);
  // Forward pass over [left | x | right], initial state zi * left[0].
  init_state(left.data());
  detail::sos_kernel(taps, z1.data(), z2.data(), left.data(), left.data(), pad, channels, stride);
  detail::sos_kernel(taps, z1.data(), z2.data(), x.data(), y.data(), n, channels, stride);
  detail::sos_kernel(taps, z1.data(), z2.data(), right.data(), right.data(), pad, channels, stride);
  // Backward pass from the last row, initial state zi * (last forward output). The left padding's
  // backward outputs would be discarded, so that stretch is not computed.
  double* last = right.data() + (pad - 1) * channels;
  init_state(last);
  detail::sos_kernel(taps, z1.data(), z2.data(), last, last, pad, channels, -stride);
  double* y_last = y.data() + (n - 1) * channels;
  detail::sos_kernel(taps, z1.data(), z2.data(), y_last, y_last, n, channels, -stride);
}

std::vector<double> sosfiltfilt(const SosCoefficients& sos, std::span<const double> x) {
  return sosfiltfilt_interleaved(sos, x, 1);
}

std::vector<double> sosfilt(const SosCoefficients& sos, std::span<const double> x) {
  const detail::SosTaps taps = detail::make_taps(sos);
  std::vector<double> z1(sos.size(), 0.0), z2(sos.size(), 0.0);
  std::vector<double> y(x.size());
  detail::sos_kernel(taps, z1.data(), z2.data(), x.data(), y.data(), x.size(), 1, 1);
  return y;
}

}  // namespace glutescope::dsp
