// dsp::ZeroPhaseStream: zero-phase filtering in time blocks against the whole-record
// sosfiltfilt_interleaved (itself checked against scipy.signal.sosfiltfilt in reference_test.cpp).
//   - a record that fits one block and margin: bit for bit, however it is cut into pieces;
//   - a long record: within rounding when the margin comes from the largest pole (zero_phase_margin), and
//     measurably worse with half that margin (the bound has teeth); the rows filtered from the true end are
//     bit-identical; pushing in random pieces changes no bit;
//   - each row is emitted once, in order;
//   - pole radii and margins against scipy (roots of the sections' denominators, computed with numpy);
//   - bad input: a record not longer than padlen, a non-finite sample, a partial row, misuse.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

#include "dsp/filter_design.hpp"
#include "dsp/zero_phase.hpp"
#include "dsp/zero_phase_stream.hpp"

namespace dsp = glutescope::dsp;

namespace {

constexpr double kRate = 2000.0;

// EMG-like interleaved record: white noise with bursts of ten times the amplitude and a slow drift per lane.
std::vector<double> emg_like(std::size_t rows, std::size_t lanes, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::vector<double> x(rows * lanes);
  for (std::size_t i = 0; i < rows; ++i) {
    const bool burst = (i / 3000) % 3 == 1;
    for (std::size_t c = 0; c < lanes; ++c) {
      const double drift =
          5.0 * std::sin(2.0 * M_PI * 0.3 * static_cast<double>(i) / kRate + static_cast<double>(c));
      x[i * lanes + c] = (burst ? 10.0 : 1.0) * (1.0 + static_cast<double>(c)) * noise(rng) + drift;
    }
  }
  return x;
}

struct Streamed {
  std::vector<double> y;
  std::vector<std::size_t> firsts;  // first row of every emit, in call order
  bool in_order = true;
};

// Streams x through a ZeroPhaseStream in pieces of the given row counts (cycled), collecting what it emits.
Streamed stream(const dsp::SosCoefficients& sos, const std::vector<double>& x, std::size_t lanes,
                std::size_t block, std::size_t margin, const std::vector<std::size_t>& pieces) {
  dsp::ZeroPhaseStream z(sos, lanes, block, margin);
  Streamed out;
  out.y.assign(x.size(), std::nan(""));
  std::size_t next = 0;
  const dsp::ZeroPhaseStream::Emit emit = [&](std::size_t first, std::span<const double> rows) {
    out.in_order = out.in_order && first == next && rows.size() % lanes == 0;
    out.firsts.push_back(first);
    std::copy(rows.begin(), rows.end(), out.y.begin() + static_cast<std::ptrdiff_t>(first * lanes));
    next = first + rows.size() / lanes;
  };
  const std::size_t n = x.size() / lanes;
  std::size_t at = 0, k = 0;
  while (at < n) {
    const std::size_t take = std::min(pieces[k++ % pieces.size()], n - at);
    z.push(std::span<const double>(x.data() + at * lanes, take * lanes), emit);
    at += take;
  }
  z.finish(emit);
  out.in_order = out.in_order && next == n;
  EXPECT_EQ(z.rows_in(), n);
  EXPECT_EQ(z.rows_out(), n);
  return out;
}

double relative_error(const std::vector<double>& a, const std::vector<double>& b) {
  double largest = 0.0, diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    largest = std::max(largest, std::abs(b[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  return diff / largest;
}

std::size_t differing_bits(const std::vector<double>& a, const std::vector<double>& b, std::size_t from) {
  std::size_t count = 0;
  for (std::size_t i = from; i < a.size(); ++i)
    count += std::bit_cast<std::uint64_t>(a[i]) != std::bit_cast<std::uint64_t>(b[i]) ? 1 : 0;
  return count;
}

const dsp::SosCoefficients& bandpass() {
  static const dsp::SosCoefficients sos = dsp::butterworth_bandpass(4, 20.0, 450.0, kRate);
  return sos;
}

}  // namespace

TEST(ZeroPhaseStream, PoleRadiiAndMarginsMatchScipy) {
  // numpy.roots of each section's [1, a1, a2] for scipy.signal.butter(..., output='sos', fs=2000):
  // band-pass 20-450 Hz order 4: 0.9775139416632331; low-pass 50 Hz order 2: 0.8948757716385594;
  // high-pass 30 Hz order 4: 0.9646120547904456. ceil(ln 1e-17 / ln r): 1722, 353, 1087.
  EXPECT_NEAR(dsp::largest_pole_radius(bandpass()), 0.9775139416632331, 1e-12);
  EXPECT_NEAR(dsp::largest_pole_radius(dsp::butterworth_lowpass(2, 50.0, kRate)), 0.8948757716385594, 1e-12);
  EXPECT_NEAR(dsp::largest_pole_radius(dsp::butterworth_highpass(4, 30.0, kRate)), 0.9646120547904456, 1e-12);
  EXPECT_EQ(dsp::zero_phase_margin(bandpass()), 1722u);
  EXPECT_EQ(dsp::zero_phase_margin(dsp::butterworth_lowpass(2, 50.0, kRate)), 353u);
  EXPECT_EQ(dsp::zero_phase_margin(dsp::butterworth_highpass(4, 30.0, kRate)), 1087u);
  EXPECT_EQ(dsp::zero_phase_margin(bandpass(), 1e-16), 1620u);
  // An FIR section has no pole: one row is enough; a bad tolerance is refused.
  EXPECT_EQ(dsp::zero_phase_margin({dsp::Biquad{0.5, 0.5, 0.0, 1.0, 0.0, 0.0}}), 1u);
  EXPECT_THROW((void)dsp::zero_phase_margin(bandpass(), 0.0), std::invalid_argument);
  EXPECT_THROW((void)dsp::zero_phase_margin(bandpass(), 1.0), std::invalid_argument);
}

TEST(ZeroPhaseStream, RecordWithinOneBlockAndMarginIsBitIdenticalInAnyPieces) {
  const std::size_t lanes = 4, rows = 5000;
  const std::vector<double> x = emg_like(rows, lanes, 1);
  const std::vector<double> whole = dsp::sosfiltfilt_interleaved(bandpass(), x, lanes);
  for (const std::vector<std::size_t>& pieces :
       {std::vector<std::size_t>{rows}, std::vector<std::size_t>{1}, std::vector<std::size_t>{7, 100, 3, 52},
        std::vector<std::size_t>{51, 1, 1}}) {
    const Streamed s = stream(bandpass(), x, lanes, 4096, 1722, pieces);
    EXPECT_TRUE(s.in_order);
    EXPECT_EQ(s.firsts, std::vector<std::size_t>{0});  // all from the true end, in one emit
    EXPECT_EQ(differing_bits(s.y, whole, 0), 0u) << "first piece " << pieces.front();
  }
}

TEST(ZeroPhaseStream, LongRecordWithinRoundingAndItsEndBitIdentical) {
  for (const std::size_t lanes : {std::size_t{1}, std::size_t{4}, std::size_t{5}}) {
    const std::size_t rows = 120000;
    const std::vector<double> x = emg_like(rows, lanes, 2 + static_cast<unsigned>(lanes));
    const std::vector<double> whole = dsp::sosfiltfilt_interleaved(bandpass(), x, lanes);
    const std::size_t margin = dsp::zero_phase_margin(bandpass());
    const Streamed s = stream(bandpass(), x, lanes, 4 * margin, margin, {4096});
    ASSERT_TRUE(s.in_order);
    ASSERT_GT(s.firsts.size(), 10u);  // many blocks
    const double err = relative_error(s.y, whole);
    EXPECT_LE(err, 1e-13) << lanes << " lanes";
    EXPECT_GT(err, 0.0) << lanes << " lanes: the zero starts should leave rounding-level differences";
    // The last emit is filtered backward from the true end: the same operations as the whole-record pass.
    EXPECT_EQ(differing_bits(s.y, whole, s.firsts.back() * lanes), 0u) << lanes << " lanes";

    // Half the margin leaves the zero start's error far above rounding (|p|^861 ~ 3e-9): the bound above
    // would catch a margin rule that is too short.
    const Streamed short_margin = stream(bandpass(), x, lanes, 4 * margin, margin / 2, {4096});
    EXPECT_GT(relative_error(short_margin.y, whole), 1e-11) << lanes << " lanes";
  }
}

TEST(ZeroPhaseStream, PieceSizesChangeNoBit) {
  const std::size_t lanes = 4, rows = 60000;
  const std::vector<double> x = emg_like(rows, lanes, 9);
  const Streamed one = stream(bandpass(), x, lanes, 4096, 1722, {rows});
  std::mt19937_64 rng(4);
  std::uniform_int_distribution<std::size_t> size(1, 9000);
  std::vector<std::size_t> pieces(50);
  for (std::size_t& p : pieces) p = size(rng);
  const Streamed random = stream(bandpass(), x, lanes, 4096, 1722, pieces);
  EXPECT_TRUE(random.in_order);
  EXPECT_EQ(random.firsts, one.firsts);
  EXPECT_EQ(differing_bits(random.y, one.y, 0), 0u);
}

TEST(ZeroPhaseStream, BadInputIsRefusedWithOneClearError) {
  const dsp::ZeroPhaseStream::Emit ignore = [](std::size_t, std::span<const double>) {};
  const std::size_t pad = dsp::sosfiltfilt_padlen(bandpass());
  {  // not longer than padlen: sosfiltfilt's limit, at finish
    dsp::ZeroPhaseStream z(bandpass(), 2, 100, 10);
    z.push(std::vector<double>(2 * pad, 1.0), ignore);
    try {
      z.finish(ignore);
      FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("more than padlen"), std::string::npos) << e.what();
    }
    EXPECT_THROW(z.finish(ignore), std::logic_error);
    EXPECT_THROW(z.push(std::vector<double>(2, 1.0), ignore), std::logic_error);
  }
  {  // one row more is enough, and equals the whole-record result
    const std::vector<double> x = emg_like(pad + 1, 2, 3);
    const Streamed s = stream(bandpass(), x, 2, 100, 10, {1});
    EXPECT_EQ(differing_bits(s.y, dsp::sosfiltfilt_interleaved(bandpass(), x, 2), 0), 0u);
  }
  {  // a non-finite sample names its row and lane
    dsp::ZeroPhaseStream z(bandpass(), 3, 100, 10);
    std::vector<double> x(std::size_t{3} * 300, 0.5);
    z.push(x, ignore);
    x[std::size_t{3} * 17 + 2] = std::nan("");
    try {
      z.push(x, ignore);
      FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("index 317 of channel 2"), std::string::npos) << e.what();
    }
  }
  {  // a partial row
    dsp::ZeroPhaseStream z(bandpass(), 3, 100, 10);
    EXPECT_THROW(z.push(std::vector<double>(4, 0.0), ignore), std::invalid_argument);
  }
  EXPECT_THROW(dsp::ZeroPhaseStream(bandpass(), 0, 100, 10), std::invalid_argument);
  EXPECT_THROW(dsp::ZeroPhaseStream(bandpass(), 1, 0, 10), std::invalid_argument);
}
