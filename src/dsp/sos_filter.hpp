// Stateful cascade of second-order sections (transposed direct form II, the recursion of
// scipy.signal.sosfilt) for one or many channels. Streaming contract: the output is bit-identical
// whatever the chunk sizes, because every sample goes through the same arithmetic in the same order
// and the state lives in the object for the whole session.
//
// Threading: an SosFilter is not shared; one thread calls process*/reset (no locks, no atomics).
// Per-sample and block paths are noexcept and never allocate (state is sized at construction).
//
// NaN policy (docs/DSP.md, "Invalid samples"): a non-finite input sample (NaN, +-Inf) on a channel
// produces a NaN output for that sample, resets that channel's state to zero (counted by resets()),
// and the filter restarts fresh at the channel's next finite sample. The output is flagged invalid
// (valid mask 0) for the non-finite sample and for the following settling_samples() samples, and
// also for the first settling_samples() samples after construction or reset() (start-up transient).
// Other channels are not affected.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dsp/filter_design.hpp"

namespace glutescope::dsp {

namespace detail {
// How a section's recursion is evaluated (docs/DSP.md, "Section forms"). The form is read off exact
// equalities of the coefficients; every path (scalar, each kernel variant, any grouping) evaluates a section
// in its form, so results never depend on the CPU or on the call pattern.
//  general:     y = b0 x + z1;  z1 = (b1 x - a1 y) + z2;  z2 = b2 x - a2 y   (scipy's sosfilt, 5 multiplies)
//  butterworth: b2 == b0, b1 == +-2 b0 (every section of butter(): zeros at z = +-1).
//               u = b0 x;  y = u + z1;  z1 = fma(-a1, y, z2 +- (u + u));  z2 = fma(-a2, y, u)
//  notch:       b2 == b0, b1 == a1 (iirnotch).
//               u = b0 x;  y = u + z1;  z1 = fma(b1, x - y, z2);  z2 = fma(-a2, y, u)
// The two special forms are the same filter with fewer operations and one rounding fewer per fused step.
enum class SectionForm : std::uint8_t { general, butterworth, notch };
[[nodiscard]] SectionForm section_form(const Biquad& s) noexcept;

// A cascade ready for the kernels (a0 == 1 folded in): each section's form and coefficients, and the sections
// cut into groups: runs of at most 4 consecutive sections of one form (the kernel keeps a group's
// state and coefficients in registers).
struct SosTaps {
  std::vector<SectionForm> form;
  // Per section, the five coefficients as its form's recursion takes them (sos_kernel_body.inc,
  // section_step): general b0 b1 b2 a1 a2; butterworth b0, sign of b1 (+-0.0), b2, -a1, -a2; notch b0 b1 b2
  // a1 -a2.
  std::vector<double> step;
  struct Group {
    std::size_t first = 0, count = 0;
    SectionForm form = SectionForm::general;
  };
  std::vector<Group> groups;
  [[nodiscard]] std::size_t sections() const noexcept { return form.size(); }
};
SosTaps make_taps(const SosCoefficients& sos);

// One sample of one channel through the whole cascade in each section's form (the scalar path; z1/z2 point
// at the channel's state of section 0, the next section's state `stride` doubles further on). Runs the
// active variant's (below): all give the same result.
double cascade_sample(const SosTaps& taps, double* z1, double* z2, std::size_t stride, double x) noexcept;

// Runs `rows` rows of `channels` interleaved samples through the cascade. Rows are read from
// in + r*row_stride and written to out + r*row_stride (row_stride may be negative to run backwards;
// in == out is allowed). State z1/z2 is [section][channel]. Vectorised across channels (several channels per
// SIMD register, each with the scalar path's operations in the scalar path's order: bit-identical to
// cascade_sample).
void sos_kernel(const SosTaps& taps, double* z1, double* z2, const double* in, double* out, std::size_t rows,
                std::size_t channels, std::ptrdiff_t row_stride) noexcept;

// sos_kernel compiled for one instruction set; sos_kernel runs the widest the CPU has (chosen once, at the
// first call; the environment variable GLUTESCOPE_SOS_KERNEL=avx2|sse2 picks a narrower one for comparisons).
struct SosKernelVariant {
  const char* isa;  // "avx512f" (with FMA), "avx2" (with FMA) or "sse2" (libm's fma)
  void (*run)(const SosTaps& taps, double* z1, double* z2, const double* in, double* out, std::size_t rows,
              std::size_t channels, std::ptrdiff_t row_stride) noexcept;
  double (*sample)(const SosTaps& taps, double* z1, double* z2, std::size_t stride, double x) noexcept;
};
// The variants this CPU can run, widest first (tests check each against the scalar path).
[[nodiscard]] std::vector<SosKernelVariant> sos_kernel_variants();
// The instruction set of the variant sos_kernel runs.
[[nodiscard]] const char* sos_kernel_isa() noexcept;
}  // namespace detail

// Default settling tolerance for the valid mask: the impulse response has decayed to 1e-3 of its
// initial scale (-60 dB) once settling_samples() have passed.
inline constexpr double kDefaultSettlingTolerance = 1e-3;

class SosFilter {
 public:
  // Throws std::invalid_argument if sos is invalid or unstable, or channels is 0.
  explicit SosFilter(const SosCoefficients& sos, std::size_t channels = 1,
                     double settling_tolerance = kDefaultSettlingTolerance);

  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }
  [[nodiscard]] std::size_t sections() const noexcept { return taps_.sections(); }
  [[nodiscard]] std::size_t settling_samples() const noexcept { return settling_; }

  // One sample of one channel. Non-finite input: returns NaN and resets the channel (policy above).
  double process(std::size_t channel, double x) noexcept;
  // Single-channel convenience (channel 0).
  double process(double x) noexcept { return process(0, x); }

  // A run of samples of one channel; in.size() must equal out.size() (extra elements are ignored).
  // valid (optional, same size) receives 1 for a valid output sample and 0 for an invalid one.
  void process(std::size_t channel, std::span<const double> in, std::span<double> out,
               std::span<std::uint8_t> valid = {}) noexcept;
  void process(std::span<const double> in, std::span<double> out,
               std::span<std::uint8_t> valid = {}) noexcept {
    process(0, in, out, valid);
  }

  // Interleaved block [samples x channels], channel index fastest; in and out may be the same
  // buffer. Only whole rows of min(in.size(), out.size()) are processed. valid as above, same layout.
  void process_interleaved(std::span<const double> in, std::span<double> out,
                           std::span<std::uint8_t> valid = {}) noexcept;

  // Zero state on every channel and restart the start-up transient; reset counters are kept.
  void reset() noexcept;
  // Set the state of one channel (two values per section, scipy's zi layout [section][2]);
  // used by zero-phase filtering. Throws if zi.size() != 2 * sections().
  void set_state(std::size_t channel, std::span<const double> zi);

  // Number of NaN/Inf stretches (each resets the channel once) since construction.
  [[nodiscard]] std::uint64_t resets(std::size_t channel) const noexcept { return resets_[channel]; }

 private:
  void reset_channel(std::size_t channel) noexcept;
  double step(std::size_t channel, double x, std::uint8_t& valid) noexcept;

  detail::SosTaps taps_;
  std::size_t channels_ = 1;
  std::size_t settling_ = 0;
  std::vector<double> z1_, z2_;           // [section][channel]
  std::vector<std::size_t> settle_left_;  // per channel: outputs still inside a transient
  std::size_t channels_settling_ = 0;     // how many entries of settle_left_ are non-zero
  std::vector<std::uint64_t> resets_;
  std::vector<std::uint8_t> in_invalid_stretch_;  // previous sample of the channel was non-finite
};

}  // namespace glutescope::dsp
