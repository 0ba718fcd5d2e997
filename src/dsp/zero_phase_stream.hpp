// Zero-phase (forward-backward) SOS filtering of a record that arrives in pieces, in time blocks, so that a
// long record is filtered without holding it whole (docs/PERFORMANCE.md "Time blocks with zero-phase
// filters").
//
// The result is sosfiltfilt_interleaved's (scipy.signal.sosfiltfilt's: odd padding of padlen rows at both
// ends, sosfilt_zi initial conditions) with one difference:
//   - the forward pass carries its state from piece to piece: the same operations in the same order as one
//     pass over the whole record (dsp's kernels round every row the same whatever the run length), so it is
//     bit-identical;
//   - the backward pass of a block of rows [b, b + block) starts `margin` rows after the block's end from
//     zero state instead of from the exact state there, which depends on the whole rest of the record. What
//     the zero start leaves out decays like |p|^m after m rows, p the cascade's largest pole
//     (zero_phase_margin picks the margin at which that factor is below a tolerance);
//   - the rows within block + margin of the record's end are filtered backward from the true end exactly as
//     sosfiltfilt_interleaved does, so a record of at most block + margin rows gives its result bit for bit.
// Rows are interleaved [rows x lanes]; lanes never mix.
#pragma once

#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::dsp {

// The cascade's largest pole radius (roots of z^2 + a1 z + a2 of each normalised section). Throws
// std::invalid_argument (validate_sos) for an invalid cascade.
[[nodiscard]] double largest_pole_radius(const SosCoefficients& sos);

// Rows after which |p|^m < tolerance for the largest pole radius p: ceil(ln tolerance / ln p), at least 1.
// kZeroPhaseMarginTolerance (1e-17) puts the zero start's error under double rounding of the output
// (docs/PERFORMANCE.md: the measured error reaches rounding level where |p|^m < 1e-16). Capped at
// kMaxZeroPhaseMargin rows (a pole this close to the unit circle makes every block a whole-record pass).
inline constexpr double kZeroPhaseMarginTolerance = 1e-17;
inline constexpr std::size_t kMaxZeroPhaseMargin = std::size_t{1} << 24;
[[nodiscard]] std::size_t zero_phase_margin(const SosCoefficients& sos,
                                            double tolerance = kZeroPhaseMarginTolerance);

class ZeroPhaseStream {
 public:
  // Receives final output rows in order, without gaps: `rows` holds rows [first_row, first_row + k) of the
  // record ([k x lanes]); valid only during the call.
  using Emit = std::function<void(std::size_t first_row, std::span<const double> rows)>;

  // block_rows and margin_rows are at least 1; the stream holds 2 x (block + margin) rows. Throws
  // std::invalid_argument for an invalid cascade, lanes 0 or block 0.
  ZeroPhaseStream(const SosCoefficients& sos, std::size_t lanes, std::size_t block_rows,
                  std::size_t margin_rows);

  [[nodiscard]] std::size_t lanes() const noexcept { return lanes_; }
  [[nodiscard]] std::size_t rows_in() const noexcept { return rows_in_; }
  [[nodiscard]] std::size_t rows_out() const noexcept { return rows_out_; }

  // Appends whole rows (rows.size() a multiple of lanes()). Throws std::invalid_argument for a partial row or
  // a non-finite sample (naming its row and lane), and std::logic_error after finish().
  void push(std::span<const double> rows, const Emit& emit);
  // The record ends: emits every row not yet emitted. Throws std::invalid_argument when the record has no
  // more than sosfiltfilt_padlen rows (sosfiltfilt's own limit), and std::logic_error when called twice.
  void finish(const Emit& emit);

 private:
  void start(const Emit& emit);
  void forward(const double* in, std::size_t rows, const Emit& emit);
  void flush_block(const Emit& emit);
  void set_state(std::vector<double>& z1, std::vector<double>& z2, const double* row) const;

  detail::SosTaps taps_;
  std::vector<double> zi_;
  std::size_t lanes_ = 1, block_ = 1, margin_ = 1, pad_ = 0;
  std::size_t rows_in_ = 0, rows_out_ = 0;
  bool started_ = false, finished_ = false;
  std::vector<double> head_;     // the first pad + 1 input rows, until the forward pass starts
  std::vector<double> last_in_;  // the newest min(rows_in, pad + 1) input rows (the right padding's source)
  std::size_t last_rows_ = 0;
  std::vector<double> fwd_;  // forward output of rows [rows_out, rows_out + fwd_rows_), (block + margin) rows
  std::size_t fwd_rows_ = 0;
  std::vector<double> back_;       // backward pass scratch, (block + margin) rows
  std::vector<double> z1_, z2_;    // forward state [section][lane]
  std::vector<double> bz1_, bz2_;  // backward state
};

}  // namespace glutescope::dsp
