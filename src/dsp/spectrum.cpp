#include "dsp/spectrum.hpp"

#include <cmath>
#include <complex>
#include <numbers>
#include <stdexcept>
#include <string>

#include <unsupported/Eigen/FFT>  // Eigen 3.4 (Debian libeigen3-dev), kissfft back end: any length

#include "dsp/envelope.hpp"

namespace glutescope::dsp {

PowerSpectrum welch(std::span<const double> x, double rate_hz, const WelchSettings& settings) {
  if (!std::isfinite(rate_hz) || rate_hz <= 0.0) {
    throw std::invalid_argument("rate_hz must be a finite positive sampling rate in Hz, got " +
                                std::to_string(rate_hz));
  }
  if (settings.segment_samples < 2) {
    throw std::invalid_argument("segment_samples must be at least 2, got " +
                                std::to_string(settings.segment_samples));
  }
  if (x.size() < 2)
    throw std::invalid_argument("welch needs at least 2 samples, got " + std::to_string(x.size()));
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i])) {
      throw std::invalid_argument("non-finite sample at index " + std::to_string(i) +
                                  ": spectra need finite input");
    }
  }
  const std::size_t nperseg = std::min(settings.segment_samples, x.size());
  const std::size_t noverlap = nperseg / 2;
  const std::size_t step = nperseg - noverlap;
  const std::size_t segments = (x.size() - noverlap) / step;

  // Periodic Hann (scipy get_window('hann', N), fftbins=True).
  std::vector<double> window(nperseg);
  double window_power = 0.0;
  for (std::size_t i = 0; i < nperseg; ++i) {
    window[i] =
        0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(nperseg));
    window_power += window[i] * window[i];
  }
  const double scale = 1.0 / (rate_hz * window_power);
  const std::size_t bins = nperseg / 2 + 1;

  PowerSpectrum spectrum;
  spectrum.frequency_hz.resize(bins);
  spectrum.density.assign(bins, 0.0);
  for (std::size_t k = 0; k < bins; ++k) {
    spectrum.frequency_hz[k] = static_cast<double>(k) * rate_hz / static_cast<double>(nperseg);
  }
  Eigen::FFT<double> fft;
  std::vector<double> segment(nperseg);
  std::vector<std::complex<double>> transform;
  for (std::size_t s = 0; s < segments; ++s) {
    const double* start = x.data() + s * step;
    double mean = 0.0;
    for (std::size_t i = 0; i < nperseg; ++i) mean += start[i];
    mean /= static_cast<double>(nperseg);
    for (std::size_t i = 0; i < nperseg; ++i)
      segment[i] = (start[i] - mean) * window[i];  // 'constant' detrend
    fft.fwd(transform, segment);
    for (std::size_t k = 0; k < bins; ++k) spectrum.density[k] += std::norm(transform[k]) * scale;
  }
  for (std::size_t k = 0; k < bins; ++k) {
    double v = spectrum.density[k] / static_cast<double>(segments);
    // One-sided: double every bin except DC and (for even nperseg) Nyquist.
    const bool nyquist = nperseg % 2 == 0 && k == bins - 1;
    if (k != 0 && !nyquist) v *= 2.0;
    spectrum.density[k] = v;
  }
  return spectrum;
}

SpectralIndices spectral_indices(const PowerSpectrum& spectrum, const SpectralBand& band) {
  if (!(band.low_hz > 0.0) || !(band.high_hz > band.low_hz)) {
    throw std::invalid_argument("spectral band must satisfy 0 < low_hz < high_hz, got [" +
                                std::to_string(band.low_hz) + ", " + std::to_string(band.high_hz) + "] Hz");
  }
  double power = 0.0, first_moment = 0.0, moment_minus1 = 0.0, moment5 = 0.0;
  std::size_t first = spectrum.frequency_hz.size(), last = 0;
  for (std::size_t k = 0; k < spectrum.frequency_hz.size(); ++k) {
    const double f = spectrum.frequency_hz[k];
    if (f < band.low_hz || f > band.high_hz) continue;
    const double p = spectrum.density[k];
    first = std::min(first, k);
    last = k;
    power += p;
    first_moment += f * p;
    moment_minus1 += p / f;
    moment5 += p * f * f * f * f * f;
  }
  if (first > last) throw std::invalid_argument("no spectral bin lies inside the band");
  if (!(power > 0.0)) throw std::invalid_argument("the spectrum holds no power inside the band");
  SpectralIndices out;
  out.mean_hz = first_moment / power;
  out.finsm5 = moment_minus1 / moment5;
  double cumulative = 0.0;
  out.median_hz = spectrum.frequency_hz[last];
  for (std::size_t k = first; k <= last; ++k) {
    cumulative += spectrum.density[k];
    if (cumulative > power / 2.0) {
      out.median_hz = spectrum.frequency_hz[k];
      break;
    }
  }
  return out;
}

std::vector<WindowedIndices> spectral_indices_per_window(std::span<const double> x, double rate_hz,
                                                         double window_ms, double hop_ms,
                                                         const WelchSettings& welch_settings,
                                                         const SpectralBand& band) {
  const std::size_t window = window_samples(window_ms, rate_hz);
  const std::size_t hop = window_samples(hop_ms, rate_hz);
  if (window > x.size()) {
    throw std::invalid_argument("window_ms = " + std::to_string(window_ms) + " is longer than the signal (" +
                                std::to_string(x.size()) + " samples)");
  }
  std::vector<WindowedIndices> out;
  for (std::size_t start = 0; start + window <= x.size(); start += hop) {
    const PowerSpectrum spectrum = welch(x.subspan(start, window), rate_hz, welch_settings);
    out.push_back({start, spectral_indices(spectrum, band)});
  }
  return out;
}

}  // namespace glutescope::dsp
