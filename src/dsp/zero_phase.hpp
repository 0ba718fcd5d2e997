// Offline zero-phase (forward-backward) filtering equal to scipy.signal.sosfiltfilt with its defaults
// (padtype='odd', padlen = 3 * (2*len(sos) + 1 - min(#(b2 == 0), #(a2 == 0))), initial conditions
// sosfilt_zi scaled by the first sample of each pass). Whole vectors in, whole vectors out: these
// functions allocate and are meant for offline analysis, not for the live path.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "dsp/filter_design.hpp"

namespace glutescope::dsp {

// scipy.signal.sosfilt_zi: steady-state state for a unit step, [section][2] flattened (2 per section).
[[nodiscard]] std::vector<double> sosfilt_zi(const SosCoefficients& sos);

// scipy's default sosfiltfilt padding length (see above). The input must be longer than this.
[[nodiscard]] std::size_t sosfiltfilt_padlen(const SosCoefficients& sos);

// Zero-phase filtering of one channel. Throws std::invalid_argument if x is not longer than
// sosfiltfilt_padlen(sos) or contains a non-finite sample (offline input must be finite: split the
// recording at invalid stretches first).
[[nodiscard]] std::vector<double> sosfiltfilt(const SosCoefficients& sos, std::span<const double> x);

// Zero-phase filtering of an interleaved block [samples x channels]; each channel independently,
// vectorised across channels. Same preconditions per channel.
[[nodiscard]] std::vector<double> sosfiltfilt_interleaved(const SosCoefficients& sos,
                                                          std::span<const double> x, std::size_t channels);
// The same into a caller-owned buffer (y.size() == x.size(); y may be x itself: in-place), so that batch
// analysis can reuse one buffer per channel group instead of allocating and zeroing a result per call.
// Bit-identical to the returning overload. Throws std::invalid_argument as above or on a size mismatch.
void sosfiltfilt_interleaved(const SosCoefficients& sos, std::span<const double> x, std::size_t channels,
                             std::span<double> y);

// Causal one-pass filtering of a whole vector from zero state, equal to scipy.signal.sosfilt(sos, x).
[[nodiscard]] std::vector<double> sosfilt(const SosCoefficients& sos, std::span<const double> x);

}  // namespace glutescope::dsp
