#include "dsp/zero_phase_stream.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstring>
#include <stdexcept>
#include <string>

#include "dsp/non_finite.hpp"
#include "dsp/zero_phase.hpp"

namespace glutescope::dsp {

double largest_pole_radius(const SosCoefficients& sos) {
  validate_sos(sos);
  double largest = 0.0;
  for (const Biquad& s : sos) {
    // Poles of one section: roots of z^2 + (a1/a0) z + (a2/a0).
    const std::complex<double> a1(s.a1 / s.a0, 0.0), a2(s.a2 / s.a0, 0.0);
    const std::complex<double> root = std::sqrt(a1 * a1 - 4.0 * a2);
    largest = std::max({largest, std::abs((-a1 + root) / 2.0), std::abs((-a1 - root) / 2.0)});
  }
  return largest;
}

std::size_t zero_phase_margin(const SosCoefficients& sos, double tolerance) {
  if (!(tolerance > 0.0 && tolerance < 1.0)) {
    throw std::invalid_argument("zero-phase margin tolerance must lie in (0, 1), got " +
                                std::to_string(tolerance));
  }
  const double radius = largest_pole_radius(sos);
  if (radius <= 0.0) return 1;  // FIR cascade: no memory beyond its taps
  if (radius >= 1.0) return kMaxZeroPhaseMargin;
  const double rows = std::ceil(std::log(tolerance) / std::log(radius));
  if (!(rows < static_cast<double>(kMaxZeroPhaseMargin))) return kMaxZeroPhaseMargin;
  return std::max<std::size_t>(1, static_cast<std::size_t>(rows));
}

ZeroPhaseStream::ZeroPhaseStream(const SosCoefficients& sos, std::size_t lanes, std::size_t block_rows,
                                 std::size_t margin_rows)
    : taps_(detail::make_taps(sos)),
      zi_(sosfilt_zi(sos)),
      lanes_(lanes),
      block_(block_rows),
      margin_(std::max<std::size_t>(1, margin_rows)),
      pad_(sosfiltfilt_padlen(sos)) {
  if (lanes == 0) throw std::invalid_argument("zero-phase stream needs at least one lane");
  if (block_rows == 0) throw std::invalid_argument("zero-phase stream needs blocks of at least one row");
  const std::size_t sections = taps_.sections();
  head_.reserve((pad_ + 1) * lanes_);
  last_in_.assign((pad_ + 1) * lanes_, 0.0);
  fwd_.assign((block_ + margin_) * lanes_, 0.0);
  back_.assign((block_ + margin_) * lanes_, 0.0);
  z1_.assign(sections * lanes_, 0.0);
  z2_.assign(sections * lanes_, 0.0);
  bz1_.assign(sections * lanes_, 0.0);
  bz2_.assign(sections * lanes_, 0.0);
}

void ZeroPhaseStream::set_state(std::vector<double>& z1, std::vector<double>& z2, const double* row) const {
  for (std::size_t s = 0; s < taps_.sections(); ++s) {
    for (std::size_t c = 0; c < lanes_; ++c) {
      z1[s * lanes_ + c] = zi_[2 * s] * row[c];
      z2[s * lanes_ + c] = zi_[2 * s + 1] * row[c];
    }
  }
}

void ZeroPhaseStream::push(std::span<const double> rows, const Emit& emit) {
  if (finished_) throw std::logic_error("zero-phase stream: push after finish");
  if (rows.size() % lanes_ != 0) {
    throw std::invalid_argument("zero-phase stream: " + std::to_string(rows.size()) +
                                " values are not whole rows of " + std::to_string(lanes_) + " lanes");
  }
  const std::size_t k = rows.size() / lanes_;
  if (detail::any_non_finite(rows.data(), rows.size())) {
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!std::isfinite(rows[i])) {
        throw std::invalid_argument("non-finite sample at index " + std::to_string(rows_in_ + i / lanes_) +
                                    " of channel " + std::to_string(i % lanes_) +
                                    ": offline filtering needs finite input (split at invalid stretches)");
      }
    }
  }
  // The newest pad + 1 input rows (the odd extension at the end reflects them).
  const std::size_t keep = pad_ + 1;
  if (k >= keep) {
    std::memcpy(last_in_.data(), rows.data() + (k - keep) * lanes_, keep * lanes_ * sizeof(double));
    last_rows_ = keep;
  } else {
    const std::size_t drop = last_rows_ + k > keep ? last_rows_ + k - keep : 0;
    std::memmove(last_in_.data(), last_in_.data() + drop * lanes_,
                 (last_rows_ - drop) * lanes_ * sizeof(double));
    last_rows_ -= drop;
    std::memcpy(last_in_.data() + last_rows_ * lanes_, rows.data(), k * lanes_ * sizeof(double));
    last_rows_ += k;
  }
  rows_in_ += k;
  if (started_) {
    forward(rows.data(), k, emit);
    return;
  }
  // The forward pass starts from the odd extension of the first pad + 1 rows: hold them until they are here.
  const std::size_t take = std::min(k, keep - head_.size() / lanes_);
  head_.insert(head_.end(), rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(take * lanes_));
  if (head_.size() / lanes_ < keep) return;
  start(emit);
  forward(rows.data() + take * lanes_, k - take, emit);
}

void ZeroPhaseStream::start(const Emit& emit) {
  // Left odd extension left[i] = 2 x[0] - x[pad - i], run forward from zi * left[0]; its outputs are not
  // part of the result (sosfiltfilt_interleaved discards them too).
  std::vector<double> left(std::max<std::size_t>(pad_, 1) * lanes_);
  for (std::size_t i = 0; i < pad_; ++i) {
    for (std::size_t c = 0; c < lanes_; ++c)
      left[i * lanes_ + c] = 2.0 * head_[c] - head_[(pad_ - i) * lanes_ + c];
  }
  set_state(z1_, z2_, left.data());
  const auto stride = static_cast<std::ptrdiff_t>(lanes_);
  detail::sos_kernel(taps_, z1_.data(), z2_.data(), left.data(), left.data(), pad_, lanes_, stride);
  started_ = true;
  std::vector<double> held;
  held.swap(head_);
  forward(held.data(), held.size() / lanes_, emit);
}

void ZeroPhaseStream::forward(const double* in, std::size_t rows, const Emit& emit) {
  const std::size_t capacity = block_ + margin_;
  const auto stride = static_cast<std::ptrdiff_t>(lanes_);
  while (rows > 0) {
    const std::size_t take = std::min(rows, capacity - fwd_rows_);
    detail::sos_kernel(taps_, z1_.data(), z2_.data(), in, fwd_.data() + fwd_rows_ * lanes_, take, lanes_,
                       stride);
    fwd_rows_ += take;
    in += take * lanes_;
    rows -= take;
    if (fwd_rows_ == capacity) flush_block(emit);
  }
}

void ZeroPhaseStream::flush_block(const Emit& emit) {
  // Backward over [block + margin) rows from zero state; the first `block` rows are final.
  // (Out of place, from the forward rows into the scratch: the forward rows of the margin stay for the next
  // block.)
  const std::size_t rows = block_ + margin_;
  std::fill(bz1_.begin(), bz1_.end(), 0.0);
  std::fill(bz2_.begin(), bz2_.end(), 0.0);
  const std::size_t last = (rows - 1) * lanes_;
  detail::sos_kernel(taps_, bz1_.data(), bz2_.data(), fwd_.data() + last, back_.data() + last, rows, lanes_,
                     -static_cast<std::ptrdiff_t>(lanes_));
  emit(rows_out_, std::span<const double>(back_.data(), block_ * lanes_));
  rows_out_ += block_;
  std::memmove(fwd_.data(), fwd_.data() + block_ * lanes_, margin_ * lanes_ * sizeof(double));
  fwd_rows_ = margin_;
}

void ZeroPhaseStream::finish(const Emit& emit) {
  if (finished_) throw std::logic_error("zero-phase stream: finish called twice");
  finished_ = true;
  if (!started_) {
    throw std::invalid_argument("zero-phase filtering needs more than padlen = " + std::to_string(pad_) +
                                " samples per channel, got " + std::to_string(rows_in_));
  }
  // Right odd extension right[i] = 2 x[n-1] - x[n-2-i] (last_in_ holds x[n-1-pad .. n-1]), forward from the
  // carried state; backward from zi * its last output, through the padding and then every row not yet
  // emitted: exactly sosfiltfilt_interleaved's end of the record.
  const double* x_last = last_in_.data() + pad_ * lanes_;
  std::vector<double> right(std::max<std::size_t>(pad_, 1) * lanes_);
  for (std::size_t i = 0; i < pad_; ++i) {
    for (std::size_t c = 0; c < lanes_; ++c)
      right[i * lanes_ + c] = 2.0 * x_last[c] - last_in_[(pad_ - 1 - i) * lanes_ + c];
  }
  const auto stride = static_cast<std::ptrdiff_t>(lanes_);
  detail::sos_kernel(taps_, z1_.data(), z2_.data(), right.data(), right.data(), pad_, lanes_, stride);
  double* right_last = right.data() + (pad_ - 1) * lanes_;
  set_state(bz1_, bz2_, right_last);
  detail::sos_kernel(taps_, bz1_.data(), bz2_.data(), right_last, right_last, pad_, lanes_, -stride);
  if (fwd_rows_ > 0) {
    double* last = fwd_.data() + (fwd_rows_ - 1) * lanes_;
    detail::sos_kernel(taps_, bz1_.data(), bz2_.data(), last, last, fwd_rows_, lanes_, -stride);
    emit(rows_out_, std::span<const double>(fwd_.data(), fwd_rows_ * lanes_));
    rows_out_ += fwd_rows_;
    fwd_rows_ = 0;
  }
}

}  // namespace glutescope::dsp
