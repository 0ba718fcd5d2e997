#include "dsp/sos_filter.hpp"
#include "dsp/lane_vector.hpp"
#include "dsp/non_finite.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

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

// G consecutive sections (first `first`) over `rows` rows of the N channels starting at lane c0, the state of
// all G sections held in registers for the whole run and every row passing through all G sections before the
// next row is read. A section's recursion is serial in time (each row needs the previous row's state), so
// one section alone would wait on its add/multiply latency at every row; with G sections in flight the
// out-of-order core overlaps section s of row r + 1 with section s + 1 of row r. The recursion is scipy's
// sosfilt (DF2T): y = b0 x + z1; z1 = b1 x - a1 y + z2; z2 = b2 x - a2 y, evaluated in that order.
template <std::size_t N, std::size_t G>
[[gnu::always_inline]] inline void sections_over_rows(const SosTaps& taps, std::size_t first, double* z1,
                                                      double* z2, std::size_t channels, std::size_t c0,
                                                      const double* in, double* out, std::size_t rows,
                                                      std::ptrdiff_t row_stride) noexcept {
  using V = typename LaneVector<N>::type;
  double b0[G], b1[G], b2[G], a1[G], a2[G];
  V s1[G], s2[G];
#pragma GCC unroll 4
  for (std::size_t g = 0; g < G; ++g) {
    const std::size_t s = first + g;
    b0[g] = taps.b0[s];
    b1[g] = taps.b1[s];
    b2[g] = taps.b2[s];
    a1[g] = taps.a1[s];
    a2[g] = taps.a2[s];
    load_lanes(s1[g], z1 + s * channels + c0);
    load_lanes(s2[g], z2 + s * channels + c0);
  }
  for (std::size_t r = 0; r < rows; ++r) {
    const std::ptrdiff_t offset =
        static_cast<std::ptrdiff_t>(r) * row_stride + static_cast<std::ptrdiff_t>(c0);
    V x;
    load_lanes(x, in + offset);
#pragma GCC unroll 4
    for (std::size_t g = 0; g < G; ++g) {
      const V y = b0[g] * x + s1[g];
      s1[g] = b1[g] * x - a1[g] * y + s2[g];
      s2[g] = b2[g] * x - a2[g] * y;
      x = y;
    }
    store_lanes(out + offset, x);
  }
#pragma GCC unroll 4
  for (std::size_t g = 0; g < G; ++g) {
    store_lanes(z1 + (first + g) * channels + c0, s1[g]);
    store_lanes(z2 + (first + g) * channels + c0, s2[g]);
  }
}

// The whole cascade over `rows` rows of N channels from lane c0: sections in groups of at most
// kSectionGroup, the first group reading `in`, later groups refiltering `out` in place (the rows of one tile
// stay in L1/L2, see cascade_kernel). A group's state (2 vectors per section) and coefficients (5 per
// section, broadcast) should fit in the vector registers: spilled coefficients cost a full-width load each
// per row. Measured on Zen 4 (docs/PERFORMANCE.md): AVX-512 with groups of 4 (8 state + 20 coefficient zmm of
// 32) ran the 8-section chain 13 % faster than with groups of 8; AVX2 and SSE2 also ran fastest with groups
// of 4 (a group of 2 costs one more pass through L1 per row, more than their spills do).
constexpr std::size_t kSectionGroup = 4;

template <std::size_t N>
[[gnu::always_inline]] inline void cascade_lanes(const SosTaps& taps, double* z1, double* z2,
                                                 std::size_t channels, std::size_t c0, const double* in,
                                                 double* out, std::size_t rows,
                                                 std::ptrdiff_t row_stride) noexcept {
  const std::size_t sections = taps.sections();
  for (std::size_t first = 0; first < sections; first += kSectionGroup) {
    const double* src = first == 0 ? in : out;
    switch (std::min(kSectionGroup, sections - first)) {
      case 1:
        sections_over_rows<N, 1>(taps, first, z1, z2, channels, c0, src, out, rows, row_stride);
        break;
      case 2:
        sections_over_rows<N, 2>(taps, first, z1, z2, channels, c0, src, out, rows, row_stride);
        break;
      case 3:
        sections_over_rows<N, 3>(taps, first, z1, z2, channels, c0, src, out, rows, row_stride);
        break;
      default:
        sections_over_rows<N, 4>(taps, first, z1, z2, channels, c0, src, out, rows, row_stride);
        break;
    }
  }
}

// Rows per tile: every lane block and section group passes over the tile's rows before the next tile, so the
// tile (about 64 KiB of input and of output) stays in L2 between passes; at least 16 rows, so that the state
// loads and stores at each tile's start and end stay small next to the rows' work. Measured at 64 channels
// (Zen 4, 1 MiB L2, loaded machine): 16 KiB tiles 135 M, 64 KiB 179 M, 256 KiB 140 M channel-samples/s
// through the zero-phase chain. (Software prefetch of the next tile was tried: no measurable gain.)
inline std::size_t tile_rows(std::size_t channels) noexcept {
  return std::max<std::size_t>(16, 8192 / channels);
}

// The kernel body for one instruction set: Width = doubles per register.
template <std::size_t Width>
[[gnu::always_inline]] inline void cascade_kernel(const SosTaps& taps, double* z1, double* z2,
                                                  const double* in, double* out, std::size_t rows,
                                                  std::size_t channels, std::ptrdiff_t row_stride) noexcept {
  // Equal tiles rather than full ones and a short tail: a tail of a few rows would pay the per-tile state
  // loads and stores of every lane block and group for little work (100-row live blocks at 256 channels
  // were cut 32 + 32 + 32 + 4).
  const std::size_t tiles = (rows + tile_rows(channels) - 1) / tile_rows(channels);
  const std::size_t tile_max = tiles == 0 ? rows : (rows + tiles - 1) / tiles;
  for (std::size_t r0 = 0; r0 < rows; r0 += tile_max) {
    const std::size_t tile = std::min(tile_max, rows - r0);
    const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(r0) * row_stride;
    const double* tin = in + offset;
    double* tout = out + offset;
    for_each_lane_block<Width>(
        channels, [&]<std::size_t N>(std::size_t c) __attribute__((always_inline)) {
          cascade_lanes<N>(taps, z1, z2, channels, c, tin, tout, tile, row_stride);
        });
  }
}

// One variant per instruction set, chosen once at run time (sos_kernel_variants). FMA is deliberately not
// enabled (and -ffp-contract=off on this file): every variant computes exactly the roundings of the scalar
// per-sample path, so results do not depend on the CPU or on how rows are grouped (docs/DSP.md).
__attribute__((target("avx512f,avx512vl"))) void sos_kernel_avx512(const SosTaps& taps, double* z1,
                                                                   double* z2, const double* in, double* out,
                                                                   std::size_t rows, std::size_t channels,
                                                                   std::ptrdiff_t row_stride) noexcept {
  cascade_kernel<8>(taps, z1, z2, in, out, rows, channels, row_stride);
}
__attribute__((target("avx2"))) void sos_kernel_avx2(const SosTaps& taps, double* z1, double* z2,
                                                     const double* in, double* out, std::size_t rows,
                                                     std::size_t channels,
                                                     std::ptrdiff_t row_stride) noexcept {
  cascade_kernel<4>(taps, z1, z2, in, out, rows, channels, row_stride);
}
void sos_kernel_sse2(const SosTaps& taps, double* z1, double* z2, const double* in, double* out,
                     std::size_t rows, std::size_t channels, std::ptrdiff_t row_stride) noexcept {
  cascade_kernel<2>(taps, z1, z2, in, out, rows, channels, row_stride);  // x86-64 baseline
}

bool cpu_has(std::string_view isa) noexcept {
  __builtin_cpu_init();
  // __builtin_cpu_supports takes a string literal only.
  // AVX-512VL gives the 4- and 2-lane blocks 32 registers too (every AVX-512 CPU since Skylake-SP has it).
  if (isa == "avx512f")
    return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512vl") != 0;
  if (isa == "avx2") return __builtin_cpu_supports("avx2") != 0;
  return true;  // sse2 is part of x86-64
}

const SosKernelVariant kVariants[] = {
    {"avx512f", sos_kernel_avx512},
    {"avx2", sos_kernel_avx2},
    {"sse2", sos_kernel_sse2},
};

// The widest variant this CPU runs, or the one GLUTESCOPE_SOS_KERNEL names (if the CPU runs it): the
// benchmarks compare variants on one machine with it.
const SosKernelVariant& pick_variant() noexcept {
  const char* forced = std::getenv("GLUTESCOPE_SOS_KERNEL");
  for (const SosKernelVariant& v : kVariants) {
    if (forced != nullptr && std::string_view(forced) == v.isa && cpu_has(v.isa)) return v;
  }
  for (const SosKernelVariant& v : kVariants) {
    if (cpu_has(v.isa)) return v;
  }
  return kVariants[std::size(kVariants) - 1];
}

const SosKernelVariant& active_variant() noexcept {
  static const SosKernelVariant& variant = pick_variant();  // thread-safe one-time initialisation
  return variant;
}

}  // namespace

std::vector<SosKernelVariant> sos_kernel_variants() {
  std::vector<SosKernelVariant> out;
  for (const SosKernelVariant& v : kVariants) {
    if (cpu_has(v.isa)) out.push_back(v);
  }
  return out;
}

const char* sos_kernel_isa() noexcept { return active_variant().isa; }

void sos_kernel(const SosTaps& taps, double* z1, double* z2, const double* in, double* out, std::size_t rows,
                std::size_t channels, std::ptrdiff_t row_stride) noexcept {
  active_variant().run(taps, z1, z2, in, out, rows, channels, row_stride);
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
