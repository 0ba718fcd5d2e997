// Port of the scipy.signal 1.10 design path (buttap, lp2*_zpk, bilinear_zpk, zpk2sos 'nearest',
// iirnotch). Step order and tie-breaking follow scipy so that section ordering and pole/zero pairing
// match; only floating-point rounding differs (~1e-15 relative).
#include "dsp/filter_design.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace glutescope::dsp {
namespace {

using Complex = std::complex<double>;
using Roots = std::vector<Complex>;

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

bool is_real(Complex c) { return c.imag() == 0.0; }  // np.isreal: exactly zero imaginary part

void check_rate(double rate_hz) {
  if (!std::isfinite(rate_hz) || rate_hz <= 0.0) {
    fail("rate_hz must be a finite positive sampling rate in Hz, got " + std::to_string(rate_hz));
  }
}

void check_frequency(const char* name, double value_hz, double rate_hz) {
  const double nyquist_hz = rate_hz / 2.0;
  if (!std::isfinite(value_hz) || value_hz <= 0.0 || value_hz >= nyquist_hz) {
    fail(std::string(name) + " must lie in (0, " + std::to_string(nyquist_hz) +
         ") Hz (below Nyquist for rate " + std::to_string(rate_hz) + " Hz), got " + std::to_string(value_hz));
  }
}

// scipy _cplxreal: conjugate pairs (one representative, positive imaginary part, sorted by real part)
// followed by the real roots (sorted), returned concatenated as scipy's zpk2sos does.
Roots cplxreal(Roots z) {
  if (z.empty()) return z;
  const double tol = 100.0 * std::numeric_limits<double>::epsilon();
  std::stable_sort(z.begin(), z.end(), [](Complex a, Complex b) {
    if (a.real() != b.real()) return a.real() < b.real();
    return std::abs(a.imag()) < std::abs(b.imag());
  });
  Roots real_roots, positive, negative;
  for (const Complex c : z) {
    if (std::abs(c.imag()) <= tol * std::abs(c)) {
      real_roots.emplace_back(c.real(), 0.0);
    } else if (c.imag() > 0) {
      positive.push_back(c);
    } else {
      negative.push_back(c);
    }
  }
  if (positive.size() != negative.size()) fail("internal: complex root without conjugate");
  // Runs of equal real part are ordered by |imag| (scipy sorts each run separately).
  const auto by_abs_imag = [](Complex a, Complex b) { return std::abs(a.imag()) < std::abs(b.imag()); };
  std::size_t start = 0;
  while (start < positive.size()) {
    std::size_t stop = start + 1;
    while (stop < positive.size() &&
           positive[stop].real() - positive[stop - 1].real() <= tol * std::abs(positive[stop - 1])) {
      ++stop;
    }
    if (stop - start > 1) {
      std::stable_sort(positive.begin() + static_cast<std::ptrdiff_t>(start),
                       positive.begin() + static_cast<std::ptrdiff_t>(stop), by_abs_imag);
      std::stable_sort(negative.begin() + static_cast<std::ptrdiff_t>(start),
                       negative.begin() + static_cast<std::ptrdiff_t>(stop), by_abs_imag);
    }
    start = stop;
  }
  Roots out;
  for (std::size_t i = 0; i < positive.size(); ++i)
    out.push_back((positive[i] + std::conj(negative[i])) / 2.0);
  out.insert(out.end(), real_roots.begin(), real_roots.end());
  return out;
}

// np.argmin(abs(1 - abs(p))): the pole closest to the unit circle, first on ties.
std::size_t index_worst(const Roots& p) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < p.size(); ++i) {
    if (std::abs(1.0 - std::abs(p[i])) < std::abs(1.0 - std::abs(p[best]))) best = i;
  }
  return best;
}

enum class Which { real, complex, any };

// scipy _nearest_real_complex_idx: the entry of `from` nearest to `to` of the requested kind.
std::size_t nearest_index(const Roots& from, Complex to, Which which) {
  std::vector<std::size_t> order(from.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::abs(from[a] - to) < std::abs(from[b] - to);
  });
  for (const std::size_t i : order) {
    if (which == Which::any || (which == Which::real) == is_real(from[i])) return i;
  }
  fail("internal: no root of the requested kind while pairing sections");
}

Complex take(Roots& roots, std::size_t index) {
  const Complex value = roots[index];
  roots.erase(roots.begin() + static_cast<std::ptrdiff_t>(index));
  return value;
}

// numpy.poly of up to two roots, right-aligned in three slots as scipy _single_zpksos does.
void polynomial(const Roots& roots, double& c0, double& c1, double& c2) {
  if (roots.size() == 2) {
    const Complex s = -roots[0] - roots[1];
    const Complex p = roots[0] * roots[1];
    c0 = 1.0;
    c1 = s.real();
    c2 = p.real();
  } else if (roots.size() == 1) {
    c0 = 0.0;
    c1 = 1.0;
    c2 = -roots[0].real();
  } else {
    c0 = 0.0;
    c1 = 0.0;
    c2 = 1.0;
  }
}

Biquad section(const Roots& zeros, const Roots& poles) {
  Biquad s;
  polynomial(zeros, s.b0, s.b1, s.b2);
  polynomial(poles, s.a0, s.a1, s.a2);
  return s;
}

std::size_t count_real(const Roots& r) {
  return static_cast<std::size_t>(std::count_if(r.begin(), r.end(), is_real));
}

// scipy zpk2sos(z, p, k, pairing='nearest') for a digital filter.
SosCoefficients zpk2sos(Roots z, Roots p, double k) {
  if (z.empty() && p.empty()) return {Biquad{k, 0, 0, 1, 0, 0}};
  while (p.size() < z.size()) p.emplace_back(0.0, 0.0);
  while (z.size() < p.size()) z.emplace_back(0.0, 0.0);
  const std::size_t n_sections = (p.size() + 1) / 2;
  if (p.size() % 2 == 1) {
    p.emplace_back(0.0, 0.0);
    z.emplace_back(0.0, 0.0);
  }
  z = cplxreal(std::move(z));
  p = cplxreal(std::move(p));
  SosCoefficients sos(n_sections);
  for (std::size_t si = n_sections; si-- > 0;) {
    const Complex p1 = take(p, index_worst(p));
    if (is_real(p1) && count_real(p) == 0) {
      // Last real pole with no other real pole left: first-order section padded with a zero pole.
      const Complex z1 = take(z, nearest_index(z, p1, Which::real));
      sos[si] = section({z1, 0.0}, {p1, 0.0});
    } else if (p.size() + 1 == z.size() && !is_real(p1) && count_real(p) == 1 && count_real(z) == 1) {
      // Keep the single real zero for the single real pole: pair this complex pole with complex zeros.
      const Complex z1 = take(z, nearest_index(z, p1, Which::complex));
      sos[si] = section({z1, std::conj(z1)}, {p1, std::conj(p1)});
    } else {
      Complex p2;
      if (is_real(p1)) {
        Roots real_poles;
        std::vector<std::size_t> real_index;
        for (std::size_t i = 0; i < p.size(); ++i) {
          if (is_real(p[i])) {
            real_poles.push_back(p[i]);
            real_index.push_back(i);
          }
        }
        p2 = take(p, real_index[index_worst(real_poles)]);
      } else {
        p2 = std::conj(p1);
      }
      if (!z.empty()) {
        const Complex z1 = take(z, nearest_index(z, p1, Which::any));
        if (!is_real(z1)) {
          sos[si] = section({z1, std::conj(z1)}, {p1, p2});
        } else if (!z.empty()) {
          const Complex z2 = take(z, nearest_index(z, p1, Which::real));
          sos[si] = section({z1, z2}, {p1, p2});
        } else {
          sos[si] = section({z1}, {p1, p2});
        }
      } else {
        sos[si] = section({}, {p1, p2});
      }
    }
  }
  if (!sos.empty()) {  // always true here (p was non-empty); the check keeps -Wnull-dereference quiet
    Biquad& first = sos.front();
    first.b0 *= k;
    first.b1 *= k;
    first.b2 *= k;
  }
  return sos;
}

Complex product(const Roots& roots, Complex offset, double sign) {
  Complex acc{1.0, 0.0};
  for (const Complex r : roots) acc *= offset + sign * r;
  return acc;
}

}  // namespace

SosCoefficients butterworth_sos(FilterKind kind, int order, double low_hz, double high_hz, double rate_hz) {
  if (order < 1 || order > kMaxButterworthOrder) {
    fail("order must be in 1.." + std::to_string(kMaxButterworthOrder) + ", got " + std::to_string(order));
  }
  check_rate(rate_hz);
  const bool band = kind == FilterKind::bandpass || kind == FilterKind::bandstop;
  check_frequency(band ? "low_hz" : "cutoff_hz", low_hz, rate_hz);
  if (band) {
    check_frequency("high_hz", high_hz, rate_hz);
    if (!(low_hz < high_hz)) {
      fail("low_hz must be below high_hz, got " + std::to_string(low_hz) + " >= " + std::to_string(high_hz));
    }
  }
  constexpr double pi = std::numbers::pi;
  const auto n = static_cast<double>(order);

  // buttap: poles -exp(j*pi*m/(2N)), m = -N+1, -N+3, ..., N-1; no zeros; gain 1.
  Roots z, p;
  for (int m = -order + 1; m < order; m += 2) p.push_back(-std::exp(Complex(0.0, pi * m / (2.0 * n))));
  double k = 1.0;

  // Normalised edges Wn = 2 f / fs, prewarped with fs := 2 as scipy's iirfilter does.
  const double fs = 2.0;
  const auto warp = [&](double f_hz) { return 2.0 * fs * std::tan(pi * (2.0 * f_hz / rate_hz) / fs); };
  const double w_low = warp(low_hz);
  const auto degree = static_cast<std::size_t>(order);  // relative degree: no finite zeros yet

  switch (kind) {
    case FilterKind::lowpass:
      for (auto& r : p) r *= w_low;
      k *= std::pow(w_low, n);
      break;
    case FilterKind::highpass: {
      k *= (product(z, 0.0, -1.0) / product(p, 0.0, -1.0)).real();
      for (auto& r : p) r = w_low / r;
      z.assign(degree, Complex(0.0, 0.0));
      break;
    }
    case FilterKind::bandpass:
    case FilterKind::bandstop: {
      const double w_high = warp(high_hz);
      const double bw = w_high - w_low;
      const double wo = std::sqrt(w_low * w_high);
      Roots transformed;
      if (kind == FilterKind::bandpass) {
        for (const Complex r : p) {
          const Complex lp = r * (bw / 2.0);
          transformed.push_back(lp + std::sqrt(lp * lp - wo * wo));
        }
        for (const Complex r : p) {
          const Complex lp = r * (bw / 2.0);
          transformed.push_back(lp - std::sqrt(lp * lp - wo * wo));
        }
        z.assign(degree, Complex(0.0, 0.0));
        k *= std::pow(bw, n);
      } else {
        k *= (product(z, 0.0, -1.0) / product(p, 0.0, -1.0)).real();
        for (const Complex r : p) {
          const Complex hp = (bw / 2.0) / r;
          transformed.push_back(hp + std::sqrt(hp * hp - wo * wo));
        }
        for (const Complex r : p) {
          const Complex hp = (bw / 2.0) / r;
          transformed.push_back(hp - std::sqrt(hp * hp - wo * wo));
        }
        z.assign(degree, Complex(0.0, wo));
        z.insert(z.end(), degree, Complex(0.0, -wo));
      }
      p = std::move(transformed);
      break;
    }
  }

  // bilinear_zpk with fs = 2: z -> (2fs + z)/(2fs - z); zeros at infinity map to -1.
  const double fs2 = 2.0 * fs;
  const std::size_t relative_degree = p.size() - z.size();
  const double k_digital = k * (product(z, fs2, -1.0) / product(p, fs2, -1.0)).real();
  for (auto& r : z) r = (fs2 + r) / (fs2 - r);
  for (auto& r : p) r = (fs2 + r) / (fs2 - r);
  z.insert(z.end(), relative_degree, Complex(-1.0, 0.0));
  return zpk2sos(std::move(z), std::move(p), k_digital);
}

SosCoefficients butterworth_lowpass(int order, double cutoff_hz, double rate_hz) {
  return butterworth_sos(FilterKind::lowpass, order, cutoff_hz, 0.0, rate_hz);
}
SosCoefficients butterworth_highpass(int order, double cutoff_hz, double rate_hz) {
  return butterworth_sos(FilterKind::highpass, order, cutoff_hz, 0.0, rate_hz);
}
SosCoefficients butterworth_bandpass(int order, double low_hz, double high_hz, double rate_hz) {
  return butterworth_sos(FilterKind::bandpass, order, low_hz, high_hz, rate_hz);
}
SosCoefficients butterworth_bandstop(int order, double low_hz, double high_hz, double rate_hz) {
  return butterworth_sos(FilterKind::bandstop, order, low_hz, high_hz, rate_hz);
}

Biquad iir_notch(double notch_hz, double quality, double rate_hz) {
  check_rate(rate_hz);
  check_frequency("notch_hz", notch_hz, rate_hz);
  if (!std::isfinite(quality) || quality <= 0.0) {
    fail("quality (Q) must be a finite positive number, got " + std::to_string(quality));
  }
  // scipy _design_notch_peak_filter, ftype='notch': gain at the -3 dB edges gb = 1/sqrt(2).
  const double w0 = 2.0 * notch_hz / rate_hz;
  const double bw = w0 / quality * std::numbers::pi;
  const double w0_rad = w0 * std::numbers::pi;
  const double gb = 1.0 / std::sqrt(2.0);
  const double beta = (std::sqrt(1.0 - gb * gb) / gb) * std::tan(bw / 2.0);
  const double gain = 1.0 / (1.0 + beta);
  return Biquad{gain, gain * (-2.0 * std::cos(w0_rad)), gain,
                1.0,  -2.0 * gain * std::cos(w0_rad),   2.0 * gain - 1.0};
}

SosCoefficients mains_notch_sos(const MainsNotchSettings& settings, double rate_hz) {
  check_rate(rate_hz);
  if (settings.harmonics < 0 || settings.harmonics > 20) {
    fail("harmonics must be in 0..20, got " + std::to_string(settings.harmonics));
  }
  SosCoefficients sos;
  for (int h = 1; h <= settings.harmonics + 1; ++h) {
    const double f_hz = settings.mains_hz * h;
    if (f_hz >= rate_hz / 2.0) {
      fail("mains notch harmonic " + std::to_string(h) + " at " + std::to_string(f_hz) +
           " Hz is not below Nyquist (" + std::to_string(rate_hz / 2.0) + " Hz): reduce harmonics");
    }
    sos.push_back(iir_notch(f_hz, settings.quality, rate_hz));
  }
  return sos;
}

SosCoefficients concatenate(const SosCoefficients& first, const SosCoefficients& second) {
  SosCoefficients out = first;
  out.insert(out.end(), second.begin(), second.end());
  return out;
}

void validate_sos(const SosCoefficients& sos) {
  if (sos.empty()) fail("sos must contain at least one second-order section");
  for (std::size_t i = 0; i < sos.size(); ++i) {
    const Biquad& s = sos[i];
    for (const double c : {s.b0, s.b1, s.b2, s.a0, s.a1, s.a2}) {
      if (!std::isfinite(c)) fail("sos section " + std::to_string(i) + " has a non-finite coefficient");
    }
    if (s.a0 != 1.0)
      fail("sos section " + std::to_string(i) + " must have a0 == 1 (scipy's normalised form)");
  }
}

std::size_t settling_samples(const SosCoefficients& sos, double tolerance) {
  validate_sos(sos);
  if (!(tolerance > 0.0 && tolerance < 1.0)) fail("tolerance must be in (0, 1)");
  std::size_t slowest = 0;
  for (const Biquad& s : sos) {
    // Poles of z^2 + a1 z + a2.
    const double disc = s.a1 * s.a1 - 4.0 * s.a2;
    double radius = 0.0;
    if (disc < 0.0) {
      radius = std::sqrt(s.a2);
    } else {
      const double root = std::sqrt(disc);
      radius = std::max(std::abs((-s.a1 + root) / 2.0), std::abs((-s.a1 - root) / 2.0));
    }
    if (radius >= 1.0) fail("sos is not stable: a pole lies on or outside the unit circle");
    if (radius > 0.0) {
      const auto samples = static_cast<std::size_t>(std::ceil(std::log(tolerance) / std::log(radius)));
      slowest = std::max(slowest, samples);
    }
  }
  // The cascade's response decays like its slowest pole; one extra sample per section covers the
  // delay through the other sections.
  return slowest + sos.size();
}

}  // namespace glutescope::dsp
