// IIR filter design: Butterworth low/high/band-pass/band-stop as second-order sections, and the
// second-order IIR notch, reproducing scipy.signal (1.10) so that coefficients designed here equal
// scipy.signal.butter(..., output='sos') and scipy.signal.iirnotch within 1e-9 (tests/dsp/reference).
// Pure maths, configuration time only: every function may allocate and throws std::invalid_argument.
#pragma once

#include <cstddef>
#include <vector>

namespace glutescope::dsp {

// One second-order section in scipy's row layout [b0 b1 b2 a0 a1 a2]; designed sections have a0 == 1.
struct Biquad {
  double b0 = 1.0, b1 = 0.0, b2 = 0.0;
  double a0 = 1.0, a1 = 0.0, a2 = 0.0;
};

// A cascade of sections, applied first to last (scipy's sos row order).
using SosCoefficients = std::vector<Biquad>;

enum class FilterKind { lowpass, highpass, bandpass, bandstop };

inline constexpr int kMaxButterworthOrder = 10;

// Butterworth design exactly as scipy.signal.butter(order, Wn, btype, output='sos', fs=rate_hz):
// analog prototype poles -exp(j*pi*m/(2N)), frequency transform (lp2lp/lp2hp/lp2bp/lp2bs_zpk) at the
// prewarped edges 2*fs*tan(pi*Wn/fs) with fs normalised to 2, bilinear_zpk, then zpk2sos with
// pairing='nearest'. For band types `order` is scipy's N (the result has order 2N, N sections).
// low_hz is the cut-off for low/high-pass (high_hz ignored); band types use [low_hz, high_hz].
// Throws std::invalid_argument: order outside 1..10, rate_hz <= 0 or not finite, a cut-off <= 0 or
// >= rate_hz/2 (Nyquist), or low_hz >= high_hz for band types.
[[nodiscard]] SosCoefficients butterworth_sos(FilterKind kind, int order, double low_hz, double high_hz,
                                              double rate_hz);
[[nodiscard]] SosCoefficients butterworth_lowpass(int order, double cutoff_hz, double rate_hz);
[[nodiscard]] SosCoefficients butterworth_highpass(int order, double cutoff_hz, double rate_hz);
[[nodiscard]] SosCoefficients butterworth_bandpass(int order, double low_hz, double high_hz, double rate_hz);
[[nodiscard]] SosCoefficients butterworth_bandstop(int order, double low_hz, double high_hz, double rate_hz);

// scipy.signal.iirnotch(w0=notch_hz, Q=quality, fs=rate_hz): -3 dB bandwidth notch_hz/quality.
// Throws if notch_hz is not in (0, rate_hz/2) or quality <= 0.
[[nodiscard]] Biquad iir_notch(double notch_hz, double quality, double rate_hz);

// Mains interference notch: one iirnotch section at the mains frequency and at each of the next
// `harmonics` multiples (50, 100, 150, 200 Hz for 50 Hz and harmonics = 3), each with the same Q.
struct MainsNotchSettings {
  double mains_hz = 50.0;  // 50 (Europe) or 60 (Americas) Hz; any value in (0, Nyquist) is accepted
  double quality = 20.0;   // Q = f0 / bandwidth; 20 as in libemg's install_common_filters (3 Hz at 60 Hz)
  int harmonics = 0;       // extra multiples above the fundamental, 0..20; each must lie below Nyquist
};
inline constexpr MainsNotchSettings kDefaultMainsNotch{};
// Throws if a notched frequency reaches Nyquist, harmonics is outside 0..20, or quality <= 0.
[[nodiscard]] SosCoefficients mains_notch_sos(const MainsNotchSettings& settings, double rate_hz);

// Band-pass settings used by the live and offline chains (libemg's default: order 4, 20-450 Hz).
struct BandPassSettings {
  int order = 4;           // scipy's N: the band-pass has 2N poles in N sections
  double low_hz = 20.0;    // high-pass edge (Hz)
  double high_hz = 450.0;  // low-pass edge (Hz); must be below rate/2
};
inline constexpr BandPassSettings kDefaultBandPass{};

// Sections of `first` followed by the sections of `second` (the cascade first -> second).
[[nodiscard]] SosCoefficients concatenate(const SosCoefficients& first, const SosCoefficients& second);

// Number of samples after which the response of the cascade has decayed to about `tolerance` of
// its initial scale: ceil(log(tolerance) / log(r_max)) for the largest pole radius r_max, plus one
// sample per section (the settling time used by the NaN policy's valid mask). Throws if a pole is on or
// outside the unit circle or tolerance is not in (0, 1).
[[nodiscard]] std::size_t settling_samples(const SosCoefficients& sos, double tolerance = 1e-6);

// Throws std::invalid_argument if the cascade is empty, a coefficient is not finite or a0 != 1.
void validate_sos(const SosCoefficients& sos);

}  // namespace glutescope::dsp
