// Power spectra and spectral fatigue indices (offline; functions allocate and throw on bad input).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace glutescope::dsp {

// scipy.signal.welch(x, fs, window='hann', nperseg=segment_samples, noverlap=segment_samples // 2,
// nfft=segment_samples, detrend='constant', return_onesided=True, scaling='density', average='mean').
// scipy's own defaults except that nperseg is explicit; like scipy, a signal shorter than
// segment_samples is analysed as one segment of its full length.
struct WelchSettings {
  std::size_t segment_samples = 256;  // scipy's default nperseg (128 ms at 2 kHz; 2 Hz bins at 512)
};
inline constexpr WelchSettings kDefaultWelch{};

struct PowerSpectrum {
  std::vector<double> frequency_hz;  // k * rate / nperseg, k = 0 .. nperseg/2
  std::vector<double> density;       // power spectral density, signal units^2 / Hz
};

// Throws std::invalid_argument for a rate <= 0, segment_samples < 2, fewer than 2 samples, or a
// non-finite sample.
[[nodiscard]] PowerSpectrum welch(std::span<const double> x, double rate_hz,
                                  const WelchSettings& settings = kDefaultWelch);

// Frequency band over which the indices are computed: 20-450 Hz, the band-pass of the research notes'
// default profile (emg-and-scoring.md §4-5); Dimitrov's own band is an open item (≈8-500 Hz).
struct SpectralBand {
  double low_hz = 20.0;
  double high_hz = 450.0;
};
inline constexpr SpectralBand kDefaultSpectralBand{};

struct SpectralIndices {
  double mean_hz = 0.0;    // MNF = sum f P / sum P over the band
  double median_hz = 0.0;  // MDF = first bin whose cumulative power exceeds half the band's (libemg)
  double finsm5 = 0.0;     // Dimitrov et al. 2006 MSSE 38(11):1971: M_-1 / M_5, M_k = sum f^k P df (Hz^-6)
};

// Indices of a spectrum over the band (bins with low_hz <= f <= high_hz). Throws if the band is empty,
// low_hz <= 0 (f^-1 needs f > 0), or the band holds no power.
[[nodiscard]] SpectralIndices spectral_indices(const PowerSpectrum& spectrum,
                                               const SpectralBand& band = kDefaultSpectralBand);

struct WindowedIndices {
  std::size_t start_index = 0;  // first sample of the window
  SpectralIndices indices;
};

// Welch spectrum and indices for each window of window_ms starting every hop_ms (windows that fit
// entirely in x). Throws for non-positive window_ms/hop_ms or a window longer than x.
[[nodiscard]] std::vector<WindowedIndices> spectral_indices_per_window(
    std::span<const double> x, double rate_hz, double window_ms, double hop_ms,
    const WelchSettings& welch_settings = kDefaultWelch, const SpectralBand& band = kDefaultSpectralBand);

}  // namespace glutescope::dsp
