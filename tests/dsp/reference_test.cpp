// Every DSP primitive against scipy/numpy reference vectors (tests/dsp/reference/generate.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/reference.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/spectrum.hpp"
#include "dsp/zero_phase.hpp"

namespace glutescope::dsp {
namespace {

using test::reference;

std::vector<double> flatten(const SosCoefficients& sos) {
  std::vector<double> out;
  for (const Biquad& s : sos) out.insert(out.end(), {s.b0, s.b1, s.b2, s.a0, s.a1, s.a2});
  return out;
}

// Per element: |a - e| <= 1e-9 |e|, with an absolute floor of 1e-9 * (largest |e| of that numerator or
// denominator triple) * 1e-6 for entries that are exactly zero in scipy (e.g. b1 of [1, 0, -1]).
void expect_sos_near(const std::vector<double>& actual, const std::vector<double>& expected,
                     const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const std::size_t triple = i / 3 * 3;
    const double scale = std::max(
        {std::abs(expected[triple]), std::abs(expected[triple + 1]), std::abs(expected[triple + 2])});
    EXPECT_NEAR(actual[i], expected[i], 1e-9 * std::abs(expected[i]) + 1e-15 * scale)
        << what << " element " << i << " (section " << i / 6 << ")";
  }
}

// |a - e| <= tol * max|e| over the vector (signals).
void expect_signal_near(const std::vector<double>& actual, const std::vector<double>& expected, double tol,
                        const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  double scale = 0.0;
  for (const double e : expected) scale = std::max(scale, std::abs(e));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], tol * scale) << what << " sample " << i;
  }
}

FilterKind kind_from(const std::string& name) {
  if (name == "lowpass") return FilterKind::lowpass;
  if (name == "highpass") return FilterKind::highpass;
  if (name == "bandpass") return FilterKind::bandpass;
  return FilterKind::bandstop;
}

TEST(ButterworthDesign, MatchesScipyButterSosForAllTypesAndOrders) {
  int checked = 0;
  for (const auto& [name, entry] : reference().entries().items()) {
    if (name.rfind("butter/", 0) != 0) continue;
    const auto& p = entry.at("params");
    const SosCoefficients sos = butterworth_sos(kind_from(p.at("kind")), p.at("order"), p.at("low_hz"),
                                                p.at("high_hz"), p.at("rate_hz"));
    expect_sos_near(flatten(sos), reference().get(name), name);
    ++checked;
  }
  EXPECT_EQ(checked, 4 * 3 * 10);
}

TEST(NotchDesign, MatchesScipyIirnotchAt50And60HzAndHarmonics) {
  int checked = 0;
  for (const auto& [name, entry] : reference().entries().items()) {
    if (name.rfind("iirnotch/", 0) != 0) continue;
    const auto& p = entry.at("params");
    const Biquad b = iir_notch(p.at("notch_hz"), p.at("quality"), p.at("rate_hz"));
    expect_sos_near(flatten({b}), reference().get(name), name);
    ++checked;
  }
  EXPECT_GT(checked, 40);
}

TEST(NotchDesign, MainsNotchSectionsAreTheHarmonicNotches) {
  const SosCoefficients sos = mains_notch_sos({.mains_hz = 60.0, .quality = 30.0, .harmonics = 2}, 1000.0);
  ASSERT_EQ(sos.size(), 3U);
  for (int h = 1; h <= 3; ++h) {
    const std::string name = "iirnotch/1000/" + std::to_string(60 * h) + "/30";
    expect_sos_near(flatten({sos[static_cast<std::size_t>(h - 1)]}), reference().get(name), name);
  }
}

SosCoefficients chain() {
  const double rate = reference().params("chain_sos").at("rate_hz");
  return concatenate(butterworth_bandpass(4, 20.0, 450.0, rate),
                     mains_notch_sos({.mains_hz = 50.0, .quality = 20.0, .harmonics = 2}, rate));
}

TEST(SosFilter, ChainDesignedHereEqualsTheScipyChain) {
  expect_sos_near(flatten(chain()), reference().get("chain_sos"), "chain_sos");
}

TEST(SosFilter, StreamingMatchesScipySosfilt) {
  const auto x = reference().get("signal");
  const auto expected = reference().get("sosfilt/chain");
  SosFilter filter(chain());
  std::vector<double> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) y[i] = filter.process(x[i]);
  expect_signal_near(y, expected, 1e-12, "SosFilter::process");
  expect_signal_near(sosfilt(chain(), x), expected, 1e-12, "sosfilt");
}

TEST(ZeroPhase, SosfiltZiMatchesScipy) {
  expect_signal_near(sosfilt_zi(chain()), reference().get("sosfilt_zi/chain"), 1e-9, "sosfilt_zi");
}

TEST(ZeroPhase, SosfiltfiltMatchesScipyIncludingDefaultPadding) {
  const auto x = reference().get("signal");
  const double rate = reference().params("signal").at("rate_hz");
  expect_signal_near(sosfiltfilt(chain(), x), reference().get("sosfiltfilt/chain"), 1e-9, "chain");
  // Odd orders exercise the padlen rule: a first-order section has b2 == a2 == 0.
  const auto hp1 = butterworth_highpass(1, 30.0, rate);
  EXPECT_EQ(sosfiltfilt_padlen(hp1), 3U * 2U);
  expect_signal_near(sosfiltfilt(hp1, x), reference().get("sosfiltfilt/highpass1"), 1e-9, "highpass1");
  const auto lp3 = butterworth_lowpass(3, 100.0, rate);
  EXPECT_EQ(sosfiltfilt_padlen(lp3), 3U * (2U * 2U + 1U - 1U));
  expect_signal_near(sosfiltfilt(lp3, x), reference().get("sosfiltfilt/lowpass3"), 1e-9, "lowpass3");
}

TEST(ZeroPhase, InterleavedChannelsEqualSingleChannelRuns) {
  const auto x = reference().get("signal");
  const std::size_t channels = 3;
  std::vector<double> interleaved(x.size() * channels);
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (std::size_t c = 0; c < channels; ++c)
      interleaved[i * channels + c] = x[i] * static_cast<double>(c + 1);
  }
  const auto y = sosfiltfilt_interleaved(chain(), interleaved, channels);
  const auto expected = reference().get("sosfiltfilt/chain");
  for (std::size_t c = 0; c < channels; ++c) {
    std::vector<double> column(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) column[i] = y[i * channels + c] / static_cast<double>(c + 1);
    expect_signal_near(column, expected, 1e-9, "channel " + std::to_string(c));
  }
}

TEST(Envelope, LinearEnvelopeMatchesScipy) {
  const auto x = reference().get("bandpassed");
  const double rate = reference().params("signal").at("rate_hz");
  expect_signal_near(linear_envelope_zero_phase(x, {.order = 2, .cutoff_hz = 6.0}, rate),
                     reference().get("linear_envelope/6hz"), 1e-9, "zero-phase");
  LinearEnvelope causal({.order = 2, .cutoff_hz = 6.0}, rate);
  std::vector<double> y(x.size());
  causal.process_interleaved(x, y);
  expect_signal_near(y, reference().get("linear_envelope_causal/6hz"), 1e-9, "causal");
}

TEST(Envelope, CenteredMovingRmsMatchesNumpyConvolve) {
  const auto x = reference().get("bandpassed");
  const double rate = reference().params("signal").at("rate_hz");
  expect_signal_near(moving_rms_centered(x, {.window_ms = 50.0}, rate),
                     reference().get("moving_rms_centered/50ms"), 1e-9, "50 ms (even window)");
  expect_signal_near(moving_rms_centered(x, {.window_ms = 25.5}, rate),
                     reference().get("moving_rms_centered/25.5ms"), 1e-9, "25.5 ms (odd window)");
}

TEST(Envelope, TkeoMatchesNumpy) {
  const auto x = reference().get("bandpassed");
  expect_signal_near(tkeo(x), reference().get("tkeo"), 1e-12, "tkeo");
  // Causal TKEO: output n is psi[n-1].
  const auto psi = reference().get("tkeo");
  Tkeo streaming;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double y = streaming.process(x[i]);
    if (i >= 2) {
      ASSERT_NEAR(y, psi[i - 1], 1e-12) << i;
    }
  }
}

TEST(Spectrum, WelchMatchesScipyDefaults) {
  const auto x = reference().get("bandpassed");
  const double rate = reference().params("signal").at("rate_hz");
  for (const std::size_t nperseg : {256U, 1000U}) {
    const std::string base = "welch/" + std::to_string(nperseg);
    const PowerSpectrum s = welch(x, rate, {.segment_samples = nperseg});
    expect_signal_near(s.frequency_hz, reference().get(base + "/f"), 1e-12, base + " f");
    expect_signal_near(s.density, reference().get(base + "/psd"), 1e-9, base + " psd");
  }
}

TEST(Spectrum, MeanMedianAndFinsm5MatchIndependentNumpyComputation) {
  const auto x = reference().get("bandpassed");
  const double rate = reference().params("signal").at("rate_hz");
  for (const std::size_t nperseg : {256U, 1000U}) {
    const auto expected = reference().get("indices/" + std::to_string(nperseg));
    const SpectralIndices got = spectral_indices(welch(x, rate, {.segment_samples = nperseg}), {20.0, 450.0});
    EXPECT_NEAR(got.mean_hz, expected[0], 1e-9 * expected[0]);
    EXPECT_DOUBLE_EQ(got.median_hz, expected[1]);
    EXPECT_NEAR(got.finsm5, expected[2], 1e-9 * expected[2]);
  }
}

TEST(Spectrum, IndicesOfAPureToneSitAtTheTone) {
  // Hand-derived: a 100 Hz sine sampled at 1000 Hz with nperseg 1000 puts all power in the 100 Hz bin
  // (and Hann leakage into 99/101 Hz symmetrically), so MNF = MDF = 100 Hz.
  std::vector<double> x(4000);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(2.0 * M_PI * 100.0 * static_cast<double>(i) / 1000.0);
  const auto idx = spectral_indices(welch(x, 1000.0, {.segment_samples = 1000}), {20.0, 450.0});
  EXPECT_NEAR(idx.mean_hz, 100.0, 1e-3);
  EXPECT_DOUBLE_EQ(idx.median_hz, 100.0);
  EXPECT_NEAR(idx.finsm5, std::pow(100.0, -6.0), 1e-3 * std::pow(100.0, -6.0));
  const auto windows = spectral_indices_per_window(x, 1000.0, 1000.0, 500.0, {.segment_samples = 1000});
  ASSERT_EQ(windows.size(), 7U);
  EXPECT_EQ(windows[1].start_index, 500U);
  EXPECT_NEAR(windows[3].indices.mean_hz, 100.0, 1e-3);
}

}  // namespace
}  // namespace glutescope::dsp
