// Configuration errors: std::invalid_argument naming the parameter and the allowed range.
#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/onset.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/spectrum.hpp"
#include "dsp/zero_phase.hpp"

namespace glutescope::dsp {
namespace {

template <typename F>
void expect_invalid(F&& f, const std::string& fragment) {
  try {
    f();
    FAIL() << "expected std::invalid_argument mentioning '" << fragment << "'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(BadInput, FilterDesignRejectsBadOrderCutoffAndRate) {
  expect_invalid([] { (void)butterworth_lowpass(0, 10.0, 1000.0); }, "order must be in 1..10");
  expect_invalid([] { (void)butterworth_lowpass(11, 10.0, 1000.0); }, "order must be in 1..10");
  expect_invalid([] { (void)butterworth_lowpass(2, 500.0, 1000.0); }, "cutoff_hz must lie in (0, 500");
  expect_invalid([] { (void)butterworth_highpass(2, 0.0, 1000.0); }, "cutoff_hz");
  expect_invalid([] { (void)butterworth_bandpass(2, 20.0, 600.0, 1000.0); }, "high_hz must lie in");
  expect_invalid([] { (void)butterworth_bandpass(2, 300.0, 200.0, 1000.0); }, "low_hz must be below high_hz");
  expect_invalid([] { (void)butterworth_bandstop(2, kNaN, 200.0, 1000.0); }, "low_hz");
  expect_invalid([] { (void)butterworth_lowpass(2, 10.0, 0.0); }, "rate_hz");
  expect_invalid([] { (void)iir_notch(50.0, 0.0, 1000.0); }, "quality");
  expect_invalid([] { (void)iir_notch(500.0, 30.0, 1000.0); }, "notch_hz");
  expect_invalid([] { (void)mains_notch_sos({.mains_hz = 60.0, .quality = 20.0, .harmonics = 8}, 1000.0); },
                 "below Nyquist");
}

TEST(BadInput, FiltersRejectBadCoefficientsAndZeroChannels) {
  expect_invalid([] { SosFilter f(SosCoefficients{}); }, "at least one");
  expect_invalid([] { SosFilter f({Biquad{1, 0, 0, 1, kNaN, 0}}); }, "non-finite");
  expect_invalid([] { SosFilter f({Biquad{1, 0, 0, 1, 0, 1.5}}); }, "not stable");
  expect_invalid([] { SosFilter f(butterworth_lowpass(2, 10.0, 1000.0), 0); }, "channels");
}

TEST(BadInput, WindowsMustBeAtLeastOneSample) {
  expect_invalid([] { MovingRms r({.window_ms = 0.0}, 2000.0); }, "window_ms");
  expect_invalid([] { MovingRms r({.window_ms = 0.1}, 2000.0); }, "shorter than one sample");
  expect_invalid(
      [] { (void)find_baseline(std::vector<double>(100, 0.0), 1000.0, {.search_window_ms = 0.0}); },
      "window_ms");
  expect_invalid(
      [] { (void)find_baseline(std::vector<double>(100, 0.0), 1000.0, {.search_window_ms = 500.0}); },
      "longer than the signal");
}

TEST(BadInput, OfflineFunctionsRejectNonFiniteSamples) {
  std::vector<double> x(500, 1.0);
  x[123] = kNaN;
  const auto sos = butterworth_lowpass(2, 10.0, 1000.0);
  expect_invalid([&] { (void)sosfiltfilt(sos, x); }, "non-finite sample at index 123");
  expect_invalid([&] { (void)welch(x, 1000.0); }, "non-finite");
  expect_invalid([&] { (void)detect_hodges_bui(x, 1000.0); }, "non-finite");
  expect_invalid([&] { (void)sosfiltfilt(sos, std::vector<double>(5, 1.0)); }, "padlen");
  expect_invalid([&] { (void)detect_hodges_bui(std::vector<double>(5000, 1.0), 1000.0, {.k_sd = -1.0}); },
                 "k_sd");
  expect_invalid([&] { (void)detect_bonato(std::vector<double>(5000, 1.0), 1000.0, {.min_pairs_above = 9}); },
                 "min_pairs_above");
}

}  // namespace
}  // namespace glutescope::dsp
