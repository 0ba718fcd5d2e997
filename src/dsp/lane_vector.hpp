// Internal to src/dsp: vectors of N doubles (GCC vector extensions) for the kernels that run several channels
// per SIMD register. Arithmetic on them is element-wise IEEE double arithmetic, so each lane rounds exactly
// as the scalar per-sample code does (the kernel files are built with -ffp-contract=off: the compiler fuses
// no multiply-add by itself; the SOS kernel writes its fused steps out, docs/DSP.md "Section forms").
#pragma once

#include <cstddef>
#include <cstring>
#include <utility>

namespace glutescope::dsp::detail {

// One register of the widest unit a kernel variant targets (zmm: 8, ymm: 4, xmm: 2), or a plain double.
template <std::size_t N>
struct LaneVector {
  using type __attribute__((vector_size(N * sizeof(double)))) = double;
};
template <>
struct LaneVector<1> {
  using type = double;
};

// Unaligned vector load and store. (Out-parameters rather than a returned vector: a vector returned by value
// changes the ABI between instruction sets, which g++ warns about.)
template <class V>
[[gnu::always_inline]] inline void load_lanes(V& v, const double* p) noexcept {
  std::memcpy(&v, p, sizeof v);
}
template <class V>
[[gnu::always_inline]] inline void store_lanes(double* p, const V& v) noexcept {
  std::memcpy(p, &v, sizeof v);
}

// Calls body.template operator()<N>(c0) for consecutive lane blocks covering [0, channels): Width channels at
// a time, then the remainder Width/2, Width/4, ..., 1 at a time (each lane's arithmetic is the same whatever
// its block's width). Width is a power of two.
template <std::size_t Width, class Body>
[[gnu::always_inline]] inline void for_each_lane_block(std::size_t channels, Body&& body) noexcept {
  std::size_t c = 0;
  for (; c + Width <= channels; c += Width) body.template operator()<Width>(c);
  [&]<std::size_t... K>(std::index_sequence<K...>) __attribute__((always_inline)) {
    // Width/2, Width/4, ... 1: at most one block of each.
    (
        [&] {
          constexpr std::size_t n = Width >> (K + 1);
          if constexpr (n > 0) {
            if (c + n <= channels) {
              body.template operator()<n>(c);
              c += n;
            }
          }
        }(),
        ...);
  }
  (std::make_index_sequence<8>{});
}

}  // namespace glutescope::dsp::detail
