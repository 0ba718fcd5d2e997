#include "dsp/sos_filter.hpp"
#include "dsp/lane_vector.hpp"
#include "dsp/non_finite.hpp"

#include <immintrin.h>  // the FMA intrinsics of sos_kernel_body.inc

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>

namespace glutescope::dsp {
namespace detail {

// Sections per group: a group's state (2 vectors per section) and coefficients (3 to 5 per section by form,
// broadcast) should fit in the vector registers: spilled coefficients cost a full-width load each per row.
// Measured on Zen 4 (docs/PERFORMANCE.md): AVX-512 with groups of 4 (8 state + 20 coefficient zmm of 32) ran
// the 8-section chain 13 % faster than with groups of 8; AVX2 and SSE2 also ran fastest with groups of 4 (a
// group of 2 costs one more pass through L1 per row, more than their spills do).
constexpr std::size_t kSectionGroup = 4;

SectionForm section_form(const Biquad& s) noexcept {
  if (s.b2 != s.b0 || s.b0 == 0.0) return SectionForm::general;
  // 2 b0 is exact (a power-of-two scaling; if it overflowed it would equal no finite b1).
  if (s.b1 == 2.0 * s.b0 || s.b1 == -2.0 * s.b0) return SectionForm::butterworth;
  if (s.b1 == s.a1) return SectionForm::notch;
  return SectionForm::general;
}

SosTaps make_taps(const SosCoefficients& sos) {
  validate_sos(sos);
  SosTaps taps;
  for (const Biquad& s : sos) {
    const SectionForm form = section_form(s);
    taps.form.push_back(form);
    switch (form) {
      case SectionForm::butterworth:
        taps.step.insert(taps.step.end(), {s.b0, s.b1 < 0.0 ? -0.0 : 0.0, s.b2, -s.a1, -s.a2});
        break;
      case SectionForm::notch:
        taps.step.insert(taps.step.end(), {s.b0, s.b1, s.b2, s.a1, -s.a2});
        break;
      case SectionForm::general:
        taps.step.insert(taps.step.end(), {s.b0, s.b1, s.b2, s.a1, s.a2});
        break;
    }
  }
  for (std::size_t s = 0; s < sos.size(); ++s) {
    if (taps.groups.empty() || taps.groups.back().form != taps.form[s] ||
        taps.groups.back().count == kSectionGroup) {
      taps.groups.push_back({s, 0, taps.form[s]});
    }
    ++taps.groups.back().count;
  }
  return taps;
}

namespace {

// What the kernel bodies read, as plain pointers (the bodies are compiled for several instruction sets and
// call no library code).
struct KernelTaps {
  const double* step;
  const SectionForm* form;
  const SosTaps::Group* groups;
  std::size_t group_count;
  std::size_t sections;
};
inline KernelTaps kernel_taps(const SosTaps& taps) noexcept {
  return {taps.step.data(), taps.form.data(), taps.groups.data(), taps.groups.size(), taps.sections()};
}

// Rows per tile: every lane block and section group passes over the tile's rows before the next tile, so the
// tile (about 64 KiB of input and of output) stays in L2 between passes; at least 16 rows, so that the state
// loads and stores at each tile's start and end stay small next to the rows' work. Measured at 64 channels
// (Zen 4, 1 MiB L2, loaded machine): 16 KiB tiles 135 M, 64 KiB 179 M, 256 KiB 140 M channel-samples/s
// through the zero-phase chain (before the software prefetch below; it has not been measured again since).
inline std::size_t tile_rows(std::size_t channels) noexcept {
  const std::size_t rows = 8192 / channels;
  return rows < 16 ? 16 : rows;
}

// Software prefetch (sos_kernel_body.inc, prefetch_tile): from rows of this many channels (4 cache lines) on,
// this many tiles ahead.
constexpr std::size_t kDoublesPerLine = 8;
constexpr std::size_t kPrefetchChannels = 32;
constexpr std::size_t kPrefetchTiles = 2;

}  // namespace

// One variant per instruction set, chosen once at run time (sos_kernel_variants). -ffp-contract=off on this
// file: the compiler fuses nothing by itself, and the fused steps of the section forms are explicit, so every
// variant computes exactly the roundings of the scalar path (cascade_sample) and results do not depend on the
// CPU or on how rows are grouped (docs/DSP.md).
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,fma")
#endif
namespace avx512 {
#define GLUTESCOPE_SOS_WIDTH 8
#define GLUTESCOPE_SOS_HW_FMA 1
#include "sos_kernel_body.inc"
#undef GLUTESCOPE_SOS_WIDTH
#undef GLUTESCOPE_SOS_HW_FMA
}  // namespace avx512
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
#define GLUTESCOPE_SOS_WIDTH 4
#define GLUTESCOPE_SOS_HW_FMA 1
#include "sos_kernel_body.inc"
#undef GLUTESCOPE_SOS_WIDTH
#undef GLUTESCOPE_SOS_HW_FMA
}  // namespace avx2
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace sse2 {  // the x86-64 baseline
#define GLUTESCOPE_SOS_WIDTH 2
#define GLUTESCOPE_SOS_HW_FMA 0
#include "sos_kernel_body.inc"
#undef GLUTESCOPE_SOS_WIDTH
#undef GLUTESCOPE_SOS_HW_FMA
}  // namespace sse2

namespace {

bool cpu_has(std::string_view isa) noexcept {
  __builtin_cpu_init();
  // __builtin_cpu_supports takes a string literal only.
  // AVX-512VL gives the 4- and 2-lane blocks 32 registers too (every AVX-512 CPU since Skylake-SP has it).
  const bool fma = __builtin_cpu_supports("fma") != 0;
  if (isa == "avx512f")
    return __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512vl") != 0 && fma;
  if (isa == "avx2") return __builtin_cpu_supports("avx2") != 0 && fma;
  return true;  // sse2 is part of x86-64
}

const SosKernelVariant kVariants[] = {
    {"avx512f", avx512::run_kernel, avx512::run_sample},
    {"avx2", avx2::run_kernel, avx2::run_sample},
    {"sse2", sse2::run_kernel, sse2::run_sample},
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

double cascade_sample(const SosTaps& taps, double* z1, double* z2, std::size_t stride, double x) noexcept {
  return active_variant().sample(taps, z1, z2, stride, x);
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

// Scalar path of one channel (detail::cascade_sample: the kernel's expressions in the kernel's order).
double SosFilter::step(std::size_t channel, double x, std::uint8_t& valid) noexcept {
  if (non_finite(x)) {
    reset_channel(channel);
    if (settle_left_[channel] == 0 && settling_ > 0) ++channels_settling_;
    settle_left_[channel] = settling_;
    valid = 0;
    return std::numeric_limits<double>::quiet_NaN();
  }
  in_invalid_stretch_[channel] = 0;
  const double v = detail::cascade_sample(taps_, z1_.data() + channel, z2_.data() + channel, channels_, x);
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
