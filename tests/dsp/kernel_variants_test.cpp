// The vectorised kernels against the scalar per-sample paths, bit for bit.
// The SOS kernel's instruction-set variants (AVX-512, AVX2, SSE2: whichever this CPU runs) against the scalar
// per-sample path, bit for bit: channel counts that exercise every lane-block width (8, 4, 2, 1) and section
// counts that exercise every section-group size, forwards and backwards (negative row stride, as the
// zero-phase backward pass runs), tiles of every length, in place and out of place.
#include <gtest/gtest.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::dsp {
namespace {

// The scalar per-sample path (SosFilter::process, channel by channel) from the given state (z1/z2 are
// [section][channel]); the kernel variants must reproduce it bit for bit.
std::vector<double> scalar_path(const SosCoefficients& sos, const std::vector<double>& z1,
                                const std::vector<double>& z2, const std::vector<double>& x, std::size_t rows,
                                std::size_t channels, bool backwards) {
  SosFilter filter(sos, channels);
  for (std::size_t c = 0; c < channels; ++c) {
    std::vector<double> zi;
    for (std::size_t s = 0; s < sos.size(); ++s)
      zi.insert(zi.end(), {z1[s * channels + c], z2[s * channels + c]});
    filter.set_state(c, zi);
  }
  std::vector<double> y(x.size());
  for (std::size_t k = 0; k < rows; ++k) {
    const std::size_t r = backwards ? rows - 1 - k : k;
    for (std::size_t c = 0; c < channels; ++c) y[r * channels + c] = filter.process(c, x[r * channels + c]);
  }
  return y;
}

bool bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

TEST(SosKernelVariants, EveryVariantEqualsTheScalarRecursionBitForBit) {
  const auto variants = detail::sos_kernel_variants();
  ASSERT_FALSE(variants.empty());
  std::mt19937_64 rng(7);
  std::normal_distribution<double> gauss(0.0, 1.0);
  // 1..10 sections: band-pass orders 1..5 (2 sections each) plus mains notches, cut to length.
  const SosCoefficients chain =
      concatenate(butterworth_bandpass(4, 20.0, 450.0, 2000.0), mains_notch_sos({50.0, 20.0, 5}, 2000.0));
  for (const auto& variant : variants) {
    for (std::size_t sections : {1U, 3U, 4U, 5U, 8U, 10U}) {
      const SosCoefficients sos(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(sections));
      const detail::SosTaps taps = detail::make_taps(sos);
      for (std::size_t channels : {1U, 2U, 3U, 4U, 7U, 8U, 13U, 16U, 31U, 64U, 130U}) {
        for (std::ptrdiff_t direction : {1, -1}) {
          // Enough rows for several tiles at every channel count.
          const std::size_t rows = 700;
          std::vector<double> x(rows * channels);
          for (double& v : x) v = gauss(rng);
          std::vector<double> z1(sections * channels), z2(sections * channels);
          for (double& v : z1) v = 0.1 * gauss(rng);
          for (double& v : z2) v = 0.1 * gauss(rng);
          const std::vector<double> want = scalar_path(sos, z1, z2, x, rows, channels, direction < 0);
          const std::ptrdiff_t stride = direction * static_cast<std::ptrdiff_t>(channels);
          const std::size_t start = direction > 0 ? 0 : (rows - 1) * channels;
          // Out of place.
          std::vector<double> got(x.size()), vz1 = z1, vz2 = z2;
          variant.run(taps, vz1.data(), vz2.data(), x.data() + start, got.data() + start, rows, channels,
                      stride);
          EXPECT_TRUE(bit_identical(got, want)) << variant.isa << ", " << sections << " sections, "
                                                << channels << " channels, direction " << direction;
          // In place, in two calls (the state left by the first call carries the second).
          std::vector<double> inplace = x;
          vz1 = z1;
          vz2 = z2;
          const std::size_t half = rows / 3;
          variant.run(taps, vz1.data(), vz2.data(), inplace.data() + start, inplace.data() + start, half,
                      channels, stride);
          const std::ptrdiff_t next =
              static_cast<std::ptrdiff_t>(start) + static_cast<std::ptrdiff_t>(half) * stride;
          variant.run(taps, vz1.data(), vz2.data(), inplace.data() + next, inplace.data() + next, rows - half,
                      channels, stride);
          EXPECT_TRUE(bit_identical(inplace, want))
              << variant.isa << " in place, " << sections << " sections, " << channels << " channels";
        }
      }
    }
  }
}

TEST(SosKernelVariants, TheDispatchedKernelIsOneOfTheVariants) {
  const auto variants = detail::sos_kernel_variants();
  const std::string picked = detail::sos_kernel_isa();
  bool found = false;
  for (const auto& v : variants) found = found || picked == v.isa;
  EXPECT_TRUE(found) << picked;
  // Without GLUTESCOPE_SOS_KERNEL the widest variant the CPU runs is picked.
  if (std::getenv("GLUTESCOPE_SOS_KERNEL") == nullptr) {
    EXPECT_EQ(picked, variants.front().isa);
  }
}

// MovingRms's block path runs lane blocks of 8 channels, or of 32 from 128 channels on, and the remainder in
// halves; every channel count must give exactly what one single-channel MovingRms per channel gives sample by
// sample (MovingRms::process: step and advance, the scalar path), across several ring wrap-arounds.
TEST(MovingRmsLaneBlocks, EveryChannelCountEqualsThePerSamplePath) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> gauss(0.0, 1.0);
  constexpr double kRate = 2000.0;
  constexpr std::size_t kRows = 1000, kBlockRows = 100;
  for (std::size_t channels : {1U, 3U, 8U, 13U, 45U, 130U, 256U}) {
    std::vector<double> x(kRows * channels);
    for (double& v : x) v = gauss(rng);
    MovingRms block({.window_ms = 30.0}, kRate, channels);
    std::vector<double> y(x.size());
    for (std::size_t r = 0; r < kRows; r += kBlockRows) {
      const std::span in(x.data() + r * channels, kBlockRows * channels);
      block.process_interleaved(in, std::span(y.data() + r * channels, kBlockRows * channels));
    }
    for (std::size_t c = 0; c < channels; ++c) {
      MovingRms single({.window_ms = 30.0}, kRate, 1);
      for (std::size_t r = 0; r < kRows; ++r) {
        const double want = single.process(x[r * channels + c]);
        ASSERT_EQ(std::bit_cast<std::uint64_t>(want), std::bit_cast<std::uint64_t>(y[r * channels + c]))
            << channels << " channels, channel " << c << ", row " << r;
      }
    }
  }
}

}  // namespace
}  // namespace glutescope::dsp
