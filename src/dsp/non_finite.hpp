// Internal to src/dsp: NaN/Inf tests on the bit pattern (exponent all ones), so block scans vectorise
// without -ffast-math and cannot be optimised away. Shared by the streaming filters and envelopes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace glutescope::dsp::detail {

inline bool non_finite(double x) noexcept {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &x, sizeof bits);
  return (bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL;
}

// Adding 1 to the exponent field carries into the sign bit exactly when the exponent is all ones; with the
// sign cleared first, bit 63 of the OR of all sums says whether any sample is NaN or Inf. A plain OR
// reduction of integers, so g++ vectorises it (a compare-and-set per sample stays scalar).
inline bool any_non_finite(const double* x, std::size_t n) noexcept {
  constexpr std::uint64_t kExponent = 0x7ff0000000000000ULL, kExponentOne = 0x0010000000000000ULL;
  std::uint64_t carried = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, x + i, sizeof bits);
    carried |= (bits & kExponent) + kExponentOne;
  }
  return (carried >> 63) != 0;
}

}  // namespace glutescope::dsp::detail
