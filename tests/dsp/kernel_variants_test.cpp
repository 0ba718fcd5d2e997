// The vectorised kernels against the scalar per-sample paths, bit for bit.
// The SOS kernel's instruction-set variants (AVX-512, AVX2, SSE2: whichever this CPU runs) against the scalar
// per-sample path, bit for bit: channel counts that exercise every lane-block width (8, 4, 2, 1) and section
// counts that exercise every section-group size, forwards and backwards (negative row stride, as the
// zero-phase backward pass runs), tiles of every length, in place and out of place.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
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
#include "dsp/zero_phase.hpp"

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
  // 1..10 sections of the band-pass + mains notch chain, cut to length (groups of 4 + 4 + 2 sections), and a
  // chain whose forms alternate (groups of 1 and 2: notch, butterworth, general, ...; general sections are
  // the notches with b2 moved off b0, still stable).
  const SosCoefficients chain =
      concatenate(butterworth_bandpass(4, 20.0, 450.0, 2000.0), mains_notch_sos({50.0, 20.0, 5}, 2000.0));
  SosCoefficients mixed;
  const SosCoefficients lowpass = butterworth_lowpass(6, 300.0, 2000.0);
  const SosCoefficients notches = mains_notch_sos({60.0, 30.0, 4}, 2000.0);
  for (std::size_t i = 0; i < 3; ++i) {
    Biquad general = notches[i + 1];
    general.b2 *= 0.75;
    mixed.insert(mixed.end(), {notches[i], lowpass[i], general});
  }
  mixed.push_back(notches[4]);
  mixed.push_back(lowpass[0]);
  ASSERT_EQ(detail::section_form(mixed[0]), detail::SectionForm::notch);
  ASSERT_EQ(detail::section_form(mixed[1]), detail::SectionForm::butterworth);
  ASSERT_EQ(detail::section_form(mixed[2]), detail::SectionForm::general);
  std::vector<SosCoefficients> cascades;
  for (std::size_t sections : {1U, 3U, 4U, 5U, 8U, 10U}) {
    cascades.emplace_back(chain.begin(), chain.begin() + static_cast<std::ptrdiff_t>(sections));
  }
  cascades.push_back(mixed);
  for (const auto& variant : variants) {
    for (const SosCoefficients& sos : cascades) {
      const std::size_t sections = sos.size();
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

// Every variant's scalar path (SosKernelVariant::sample; SosFilter runs the active one's) gives the same
// bits: the SSE2 variant's fused steps are libm's fma in software, the others' FMA instructions.
TEST(SosKernelVariants, EveryVariantsScalarPathGivesTheSameBits) {
  const auto variants = detail::sos_kernel_variants();
  ASSERT_FALSE(variants.empty());
  EXPECT_STREQ(variants.back().isa, "sse2");
  const SosCoefficients sos =
      concatenate(butterworth_bandpass(4, 20.0, 450.0, 2000.0), mains_notch_sos({50.0, 20.0, 3}, 2000.0));
  const detail::SosTaps taps = detail::make_taps(sos);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> gauss(0.0, 100.0);
  std::vector<double> x(20000);
  for (double& v : x) v = gauss(rng);
  std::vector<std::vector<double>> out;
  for (const auto& variant : variants) {
    std::vector<double> z1(sos.size(), 0.0), z2(sos.size(), 0.0), y;
    for (const double v : x) y.push_back(variant.sample(taps, z1.data(), z2.data(), 1, v));
    out.push_back(y);
  }
  for (std::size_t k = 1; k < out.size(); ++k) {
    EXPECT_TRUE(bit_identical(out[k], out[0])) << variants[k].isa << " against " << variants[0].isa;
  }
}

// The section forms (docs/DSP.md): butter() and iirnotch() designs are recognised, and evaluating them in
// their forms (fewer operations, fused steps) is as accurate as scipy's 5-multiply recursion: both against
// the recursion in long double, on a long band-pass + notch run.
TEST(SosSectionForms, DesignsAreRecognisedAndTheFormsAreAsAccurateAsTheGeneralRecursion) {
  for (const SosCoefficients& sos :
       {butterworth_bandpass(4, 20.0, 450.0, 2000.0), butterworth_lowpass(4, 50.0, 2000.0),
        butterworth_highpass(2, 20.0, 2000.0)}) {
    for (const Biquad& s : sos) EXPECT_EQ(detail::section_form(s), detail::SectionForm::butterworth);
  }
  // A band-stop's zeros sit on the unit circle at the stop frequency: b1 = -2 cos(w0) b0, neither form.
  for (const Biquad& s : butterworth_bandstop(3, 40.0, 60.0, 1000.0)) {
    EXPECT_EQ(detail::section_form(s), detail::SectionForm::general);
  }
  for (const Biquad& s : mains_notch_sos({60.0, 20.0, 6}, 2000.0)) {
    EXPECT_EQ(detail::section_form(s), detail::SectionForm::notch);
  }
  EXPECT_EQ(detail::section_form(Biquad{0.5, 0.2, 0.1, 1.0, -0.3, 0.1}), detail::SectionForm::general);

  const SosCoefficients sos =
      concatenate(butterworth_bandpass(4, 20.0, 450.0, 2000.0), mains_notch_sos({50.0, 20.0, 3}, 2000.0));
  std::mt19937_64 rng(3);
  std::normal_distribution<double> gauss(0.0, 100.0);
  constexpr std::size_t kSamples = 200000;
  std::vector<double> x(kSamples);
  for (std::size_t i = 0; i < kSamples; ++i)
    x[i] = gauss(rng) + 400.0 * std::sin(0.157 * static_cast<double>(i));
  const std::vector<double> forms = sosfilt(sos, x);
  std::vector<double> plain(kSamples);
  std::vector<long double> exact(kSamples);
  std::vector<double> d1(sos.size(), 0.0), d2(sos.size(), 0.0);
  std::vector<long double> e1(sos.size(), 0.0L), e2(sos.size(), 0.0L);
  for (std::size_t i = 0; i < kSamples; ++i) {
    double v = x[i];
    long double w = x[i];
    for (std::size_t s = 0; s < sos.size(); ++s) {
      const Biquad& q = sos[s];
      const double y = q.b0 * v + d1[s];
      d1[s] = q.b1 * v - q.a1 * y + d2[s];
      d2[s] = q.b2 * v - q.a2 * y;
      v = y;
      const long double u = static_cast<long double>(q.b0) * w + e1[s];
      e1[s] = static_cast<long double>(q.b1) * w - static_cast<long double>(q.a1) * u + e2[s];
      e2[s] = static_cast<long double>(q.b2) * w - static_cast<long double>(q.a2) * u;
      w = u;
    }
    plain[i] = v;
    exact[i] = w;
  }
  long double err_forms = 0.0L, err_plain = 0.0L, scale = 0.0L;
  for (std::size_t i = 0; i < kSamples; ++i) {
    err_forms = std::max(err_forms, std::fabs(forms[i] - exact[i]));
    err_plain = std::max(err_plain, std::fabs(plain[i] - exact[i]));
    scale = std::max(scale, std::fabs(exact[i]));
  }
  // Not the same bits (the forms round differently), but no larger an error.
  EXPECT_FALSE(bit_identical(forms, plain));
  EXPECT_LT(err_forms / scale, 1e-13);
  EXPECT_LE(err_forms, 1.5L * err_plain) << "forms " << static_cast<double>(err_forms)
                                         << ", general recursion " << static_cast<double>(err_plain);
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
