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

inline bool any_non_finite(const double* x, std::size_t n) noexcept {
  unsigned bad = 0;
  for (std::size_t i = 0; i < n; ++i) bad |= non_finite(x[i]) ? 1U : 0U;
  return bad != 0;
}

}  // namespace glutescope::dsp::detail
