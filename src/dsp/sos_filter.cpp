#include "dsp/sos_filter.hpp"
#include "dsp/non_finite.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

namespace glutescope::dsp {
namespace detail {

SosTaps make_taps(const SosCoefficients& sos) {
  validate_sos(sos);
  SosTaps taps;
  for (const Biquad& s : sos) {
    taps.b0.push_back(s.b0);
    taps.b1.push_back(s.b1);
    taps.b2.push_back(s.b2);
    taps.a1.push_back(s.a1);
    taps.a2.push_back(s.a2);
  }
  return taps;
}

namespace {
// One section over one row: the channel loop is innermost and free of cross-channel dependencies so
// g++ vectorises it (SSE2 by default; the AVX2 clone below doubles the width where the CPU has it).
// The recursion is scipy's sosfilt (DF2T): y = b0 x + z1; z1 = b1 x - a1 y + z2; z2 = b2 x - a2 y.
inline void section_row(double b0, double b1, double b2, double a1, double a2, double* __restrict z1,
                        double* __restrict z2, const double* __restrict x, double* __restrict y,
                        std::size_t channels) noexcept {
  for (std::size_t c = 0; c < channels; ++c) {
    const double xi = x[c];
    const double yo = b0 * xi + z1[c];
    z1[c] = b1 * xi - a1 * yo + z2[c];
    z2[c] = b2 * xi - a2 * yo;
    y[c] = yo;
  }
}

inline void section_row_inplace(double b0, double b1, double b2, double a1, double a2, double* __restrict z1,
                                double* __restrict z2, double* __restrict y, std::size_t channels) noexcept {
  for (std::size_t c = 0; c < channels; ++c) {
    const double xi = y[c];
    const double yo = b0 * xi + z1[c];
    z1[c] = b1 * xi - a1 * yo + z2[c];
    z2[c] = b2 * xi - a2 * yo;
    y[c] = yo;
  }
}

// Four consecutive rows through one section with the state held in registers: a quarter of the
// state loads/stores of row-at-a-time processing. Rows are distinct memory, hence __restrict.
inline void section_rows4(double b0, double b1, double b2, double a1, double a2, double* __restrict z1,
                          double* __restrict z2, double* __restrict y0, double* __restrict y1,
                          double* __restrict y2, double* __restrict y3, std::size_t channels) noexcept {
  for (std::size_t c = 0; c < channels; ++c) {
    double s1 = z1[c];
    double s2 = z2[c];
    double xi = y0[c];
    double yo = b0 * xi + s1;
    s1 = b1 * xi - a1 * yo + s2;
    s2 = b2 * xi - a2 * yo;
    y0[c] = yo;
    xi = y1[c];
    yo = b0 * xi + s1;
    s1 = b1 * xi - a1 * yo + s2;
    s2 = b2 * xi - a2 * yo;
    y1[c] = yo;
    xi = y2[c];
    yo = b0 * xi + s1;
    s1 = b1 * xi - a1 * yo + s2;
    s2 = b2 * xi - a2 * yo;
    y2[c] = yo;
    xi = y3[c];
    yo = b0 * xi + s1;
    s1 = b1 * xi - a1 * yo + s2;
    s2 = b2 * xi - a2 * yo;
    y3[c] = yo;
    z1[c] = s1;
    z2[c] = s2;
  }
}
}  // namespace

// FMA is deliberately not enabled (avx2 alone, -ffp-contract=off on this file): every clone computes
// exactly the same roundings as the scalar per-sample path, so results do not depend on the CPU or
// on how rows are grouped.
__attribute__((target_clones("avx2", "default"))) void sos_kernel(const SosTaps& taps, double* z1, double* z2,
                                                                  const double* in, double* out,
                                                                  std::size_t rows, std::size_t channels,
                                                                  std::ptrdiff_t row_stride) noexcept {
  const std::size_t sections = taps.sections();
  std::size_t r = 0;
  if (channels >= 4) {
    for (; r + 4 <= rows; r += 4) {
      double* y[4];
      for (std::size_t k = 0; k < 4; ++k) {
        const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(r + k) * row_stride;
        y[k] = out + offset;
        if (in != out) std::copy_n(in + offset, channels, y[k]);
      }
      for (std::size_t s = 0; s < sections; ++s) {
        section_rows4(taps.b0[s], taps.b1[s], taps.b2[s], taps.a1[s], taps.a2[s], z1 + s * channels,
                      z2 + s * channels, y[0], y[1], y[2], y[3], channels);
      }
    }
  }
  for (; r < rows; ++r) {
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(r) * row_stride;
    const double* x = in + offset;
    double* y = out + offset;
    if (x != y) {
      section_row(taps.b0[0], taps.b1[0], taps.b2[0], taps.a1[0], taps.a2[0], z1, z2, x, y, channels);
    } else {
      section_row_inplace(taps.b0[0], taps.b1[0], taps.b2[0], taps.a1[0], taps.a2[0], z1, z2, y, channels);
    }
    for (std::size_t s = 1; s < sections; ++s) {
      section_row_inplace(taps.b0[s], taps.b1[s], taps.b2[s], taps.a1[s], taps.a2[s], z1 + s * channels,
                          z2 + s * channels, y, channels);
    }
  }
}

}  // namespace detail

namespace {
using detail::any_non_finite;
using detail::non_finite;
}  // namespace

SosFilter::SosFilter(const SosCoefficients& sos, std::size_t channels, double settling_tolerance)
    : taps_(detail::make_taps(sos)),
      channels_(channels),
      settling_(dsp::settling_samples(sos, settling_tolerance)),
      z1_(sos.size() * channels, 0.0),
      z2_(sos.size() * channels, 0.0),
      settle_left_(channels, 0),
      resets_(channels, 0),
      in_invalid_stretch_(channels, 0) {
  if (channels == 0) throw std::invalid_argument("channels must be at least 1, got 0");
  reset();
}

void SosFilter::reset() noexcept {
  std::fill(z1_.begin(), z1_.end(), 0.0);
  std::fill(z2_.begin(), z2_.end(), 0.0);
  std::fill(settle_left_.begin(), settle_left_.end(), settling_);
  std::fill(in_invalid_stretch_.begin(), in_invalid_stretch_.end(), std::uint8_t{0});
  channels_settling_ = settling_ > 0 ? channels_ : 0;
}

void SosFilter::reset_channel(std::size_t channel) noexcept {
  // One reset per invalid stretch: consecutive non-finite samples are counted once.
  if (in_invalid_stretch_[channel] == 0) ++resets_[channel];
  in_invalid_stretch_[channel] = 1;
  for (std::size_t s = 0; s < taps_.sections(); ++s) {
    z1_[s * channels_ + channel] = 0.0;
    z2_[s * channels_ + channel] = 0.0;
  }
}

void SosFilter::set_state(std::size_t channel, std::span<const double> zi) {
  if (channel >= channels_) throw std::invalid_argument("channel index out of range");
  if (zi.size() != 2 * taps_.sections()) {
    throw std::invalid_argument("zi must hold 2 values per section (" + std::to_string(2 * taps_.sections()) +
                                "), got " + std::to_string(zi.size()));
  }
  for (std::size_t s = 0; s < taps_.sections(); ++s) {
    z1_[s * channels_ + channel] = zi[2 * s];
    z2_[s * channels_ + channel] = zi[2 * s + 1];
  }
}

// Scalar path of one channel: same expressions, same order as detail::sos_kernel.
double SosFilter::step(std::size_t channel, double x, std::uint8_t& valid) noexcept {
  if (non_finite(x)) {
    reset_channel(channel);
    if (settle_left_[channel] == 0 && settling_ > 0) ++channels_settling_;
    settle_left_[channel] = settling_;
    valid = 0;
    return std::numeric_limits<double>::quiet_NaN();
  }
  in_invalid_stretch_[channel] = 0;
  double v = x;
  for (std::size_t s = 0; s < taps_.sections(); ++s) {
    double& z1 = z1_[s * channels_ + channel];
    double& z2 = z2_[s * channels_ + channel];
    const double yo = taps_.b0[s] * v + z1;
    z1 = taps_.b1[s] * v - taps_.a1[s] * yo + z2;
    z2 = taps_.b2[s] * v - taps_.a2[s] * yo;
    v = yo;
  }
  if (settle_left_[channel] > 0) {
    if (--settle_left_[channel] == 0) --channels_settling_;
    valid = 0;
  } else {
    valid = 1;
  }
  return v;
}

double SosFilter::process(std::size_t channel, double x) noexcept {
  std::uint8_t valid = 0;
  return step(channel, x, valid);
}

void SosFilter::process(std::size_t channel, std::span<const double> in, std::span<double> out,
                        std::span<std::uint8_t> valid) noexcept {
  const std::size_t n = std::min(in.size(), out.size());
  const bool with_mask = valid.size() >= n;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t v = 0;
    out[i] = step(channel, in[i], v);
    if (with_mask) valid[i] = v;
  }
}

void SosFilter::process_interleaved(std::span<const double> in, std::span<double> out,
                                    std::span<std::uint8_t> valid) noexcept {
  const std::size_t rows = std::min(in.size(), out.size()) / channels_;
  const std::size_t n = rows * channels_;
  const bool with_mask = valid.size() >= n;
  if (channels_settling_ == 0 && !any_non_finite(in.data(), n)) {
    // Common case: every channel is settled and the block is clean.
    detail::sos_kernel(taps_, z1_.data(), z2_.data(), in.data(), out.data(), rows, channels_,
                       static_cast<std::ptrdiff_t>(channels_));
    if (with_mask) std::fill_n(valid.begin(), n, std::uint8_t{1});
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t v = 0;
    out[i] = step(i % channels_, in[i], v);
    if (with_mask) valid[i] = v;
  }
}

}  // namespace glutescope::dsp
