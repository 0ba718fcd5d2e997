// Amplitude envelopes of (band-passed) EMG: moving RMS, linear envelope (full-wave rectification then
// Butterworth low-pass) and the Teager-Kaiser energy operator (TKEO). Causal stateful versions for the
// live path (noexcept, allocation-free process*), zero-phase whole-vector versions for offline use.
//
// Threading: objects are single-threaded (one caller); free functions are pure.
// NaN policy: as SosFilter (sos_filter.hpp): a non-finite input gives a NaN output, resets that
// channel, and the following samples are flagged invalid until the channel's window/filter has
// refilled; the first samples after construction or reset() are flagged likewise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::dsp {

struct MovingRmsSettings {
  double window_ms = 50.0;  // Boren et al. 2011 IJSPT ("50 millisecond time reference"); 25-100 ms in use
};
inline constexpr MovingRmsSettings kDefaultMovingRms{};

// Window length in samples: round(window_ms * rate_hz / 1000). Throws std::invalid_argument if
// window_ms or rate_hz is not finite and positive or the window rounds to zero samples.
[[nodiscard]] std::size_t window_samples(double window_ms, double rate_hz);

// Causal moving RMS over the last N samples: y[n] = sqrt(sum_{k=0}^{N-1} x[n-k]^2 / N), samples
// before the start (or before a reset) counting as zero; the first N-1 outputs are flagged invalid.
// The running sum is recomputed exactly every N samples so rounding cannot drift over a session.
class MovingRms {
 public:
  MovingRms(const MovingRmsSettings& settings, double rate_hz, std::size_t channels = 1);

  [[nodiscard]] std::size_t window() const noexcept { return window_; }
  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }

  // One sample of a single-channel stream (channels() == 1; for many channels use one object per
  // channel or process_interleaved, since the ring position is shared by all channels).
  double process(double x) noexcept;
  // Interleaved block [samples x channels]; in and out may alias. valid as in SosFilter.
  void process_interleaved(std::span<const double> in, std::span<double> out,
                           std::span<std::uint8_t> valid = {}) noexcept;
  void reset() noexcept;
  [[nodiscard]] std::uint64_t resets(std::size_t channel) const noexcept { return resets_[channel]; }

 private:
  void advance() noexcept;
  double step(std::size_t channel, double x, std::uint8_t& valid) noexcept;

  std::size_t window_ = 1;
  std::size_t channels_ = 1;
  std::size_t position_ = 0;          // ring row written next
  std::size_t channels_filling_ = 0;  // channels whose window is not yet full of real samples
  std::vector<double> squares_;       // ring [window][channel]
  std::vector<double> sums_;          // running sum of the ring per channel
  std::vector<std::size_t> fill_;     // per channel: samples since start/reset, saturating at window
  std::vector<std::uint64_t> resets_;
};

// Offline centred moving RMS: sqrt(np.convolve(x**2, ones(N)/N, mode='same')), i.e. zero outside the
// record; output i covers samples [i + (N-1)//2 - N + 1, i + (N-1)//2] (centred for odd N).
[[nodiscard]] std::vector<double> moving_rms_centered(std::span<const double> x,
                                                      const MovingRmsSettings& settings, double rate_hz);

struct LinearEnvelopeSettings {
  int order = 2;           // Butterworth order of the low-pass (pyemgpipeline: N = 2 with filtfilt)
  double cutoff_hz = 6.0;  // pyemgpipeline default 6 Hz (docstring range 1-10 Hz); NeuroKit2 uses 8 Hz
};
inline constexpr LinearEnvelopeSettings kDefaultLinearEnvelope{};

// Causal linear envelope: |x| then a Butterworth low-pass (SosFilter, same NaN policy).
class LinearEnvelope {
 public:
  LinearEnvelope(const LinearEnvelopeSettings& settings, double rate_hz, std::size_t channels = 1);
  double process(std::size_t channel, double x) noexcept;
  double process(double x) noexcept { return process(0, x); }
  void process_interleaved(std::span<const double> in, std::span<double> out,
                           std::span<std::uint8_t> valid = {}) noexcept;
  void reset() noexcept { lowpass_.reset(); }
  [[nodiscard]] const SosFilter& lowpass() const noexcept { return lowpass_; }

 private:
  SosFilter lowpass_;
};

// Offline linear envelope: sosfiltfilt(butter(order, cutoff_hz, 'low', output='sos'), |x|).
[[nodiscard]] std::vector<double> linear_envelope_zero_phase(std::span<const double> x,
                                                             const LinearEnvelopeSettings& settings,
                                                             double rate_hz);

// Teager-Kaiser energy operator psi[n] = x[n]^2 - x[n-1] x[n+1] (Kaiser 1990; Li, Zhou & Aruin 2007
// for EMG onset). Offline: edges copied from their neighbours as NeuroKit2 does (psi[0] = psi[1],
// psi[N-1] = psi[N-2]); needs at least 3 samples (throws otherwise).
[[nodiscard]] std::vector<double> tkeo(std::span<const double> x);

// Causal TKEO: the output at step n is psi[n-1] (one sample of delay, since psi needs x[n]); samples
// before the start count as zero and the first two outputs are flagged invalid.
class Tkeo {
 public:
  explicit Tkeo(std::size_t channels = 1);
  double process(std::size_t channel, double x) noexcept;
  double process(double x) noexcept { return process(0, x); }
  void process_interleaved(std::span<const double> in, std::span<double> out,
                           std::span<std::uint8_t> valid = {}) noexcept;
  void reset() noexcept;
  [[nodiscard]] std::uint64_t resets(std::size_t channel) const noexcept { return resets_[channel]; }

 private:
  std::size_t channels_;
  std::vector<double> previous_, before_previous_;  // x[n-1], x[n-2] per channel
  std::vector<std::uint8_t> seen_;                  // samples seen since start/reset, saturating at 2
  std::vector<std::uint64_t> resets_;
};

}  // namespace glutescope::dsp
