// analyse_session conditions EMG with condition_session_offline (channel groups filtered together,
// interleaved, in time blocks; the centred moving RMS and the moving average of its peaks as streams, their
// consumers served as the values pass) for speed and memory only: the numbers must be exactly those computed
// from condition_channel's whole signals (one channel, the same blocked kernels), bit for bit, and
// condition_channel must be within rounding (kBlockedBound) of the chain composed from dsp's whole-vector
// functions (reference_chain below, each stage checked against scipy in tests/dsp).
// Compared for the default settings and for the optional stages (mains notch, no |TKEO| low-pass, other
// window lengths), with an EMG gap in the record: the onset signal on every sample; the peaks of the smoothed
// envelope and the means of the RMS envelope (neither materialised by the batch path), and copies of the
// filtered signal, on ranges at the record edges, overlapping, nested, empty and past the end; the
// plot envelope's block means.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "dsp/envelope.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/session_analysis.hpp"
#include "simulator/session.hpp"
#include "validation/validation.hpp"

namespace ex = glutescope::exercise;
namespace gv = glutescope::validation;
namespace sim = glutescope::sim;

namespace {

ex::SessionData simulated_session() {
  sim::SimulatorSettings s;
  s.exercise = glutescope::Exercise::bridge;
  s.reps = 3;
  s.seed = 5;
  s.snr_db = 20.0;
  s.mvc_trials = true;
  ex::SessionData d = gv::session_data_from_simulation(sim::simulate(s));
  glutescope::Gap gap;
  gap.stream = glutescope::StreamKind::emg;
  gap.start_sample = d.emg_samples() / 3;
  gap.count = 400;
  d.gaps.push_back(gap);
  return d;
}

// The channel's µV as analyse_session defines it: counts x scale, samples inside EMG gaps at zero.
std::vector<double> channel_uv(const ex::SessionData& d, std::size_t c) {
  const std::size_t channels = d.emg_channels();
  std::vector<double> uv(d.emg_samples());
  for (std::size_t n = 0; n < uv.size(); ++n)
    uv[n] = d.emg_counts[n * channels + c] * d.device.emg[c].microvolts_per_count;
  for (const glutescope::Gap& g : d.gaps) {
    if (g.stream != glutescope::StreamKind::emg) continue;
    for (std::uint64_t n = g.start_sample; n < g.start_sample + g.count && n < uv.size(); ++n) uv[n] = 0.0;
  }
  return uv;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

// The chain composed here from dsp's whole-vector functions, each checked against scipy in tests/dsp
// (sosfilt, sosfiltfilt, tkeo, moving_rms_centered) and the exercise module's moving average: an independent
// statement of what both conditioning entry points must compute.
ex::ChannelSignals reference_chain(std::vector<double> uv, glutescope::Muscle muscle, double rate,
                                   const ex::AnalysisSettings& s) {
  namespace dsp = glutescope::dsp;
  double mean = 0.0;
  for (double v : uv) mean += v;
  mean /= static_cast<double>(uv.size());
  for (double& v : uv) v -= mean;
  const ex::EmgConditioningDesign design = ex::design_emg_conditioning(muscle, rate, s);
  if (!design.notch.empty()) uv = dsp::sosfilt(design.notch, uv);
  ex::ChannelSignals out;
  out.filtered_uv = dsp::sosfiltfilt(design.bandpass, uv);
  out.rms_uv = dsp::moving_rms_centered(out.filtered_uv, dsp::MovingRmsSettings{s.emg.rms_window_ms}, rate);
  out.smoothed_uv = ex::moving_average_centered(out.rms_uv, dsp::window_samples(s.emg.peak_window_ms, rate));
  std::vector<double> psi = dsp::tkeo(out.filtered_uv);
  for (double& v : psi) v = std::abs(v);
  if (!design.onset_lowpass.empty()) psi = dsp::sosfiltfilt(design.onset_lowpass, psi);
  out.onset_signal = std::move(psi);
  return out;
}

std::vector<ex::Interval> peak_ranges(std::size_t n) {
  std::vector<ex::Interval> r = {{0, n},
                                 {0, 1},
                                 {0, 7},
                                 {n - 1, n},
                                 {n - 300, n + 50},
                                 {n / 2, n / 2},
                                 {n / 2 + 5, n / 2},
                                 {n + 10, n + 20},
                                 {1000, 1001},
                                 {n / 4, n / 2},
                                 {n / 3, n / 3 + 4000}};
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<std::size_t> at(0, n + 100), len(1, 20000);
  for (int k = 0; k < 40; ++k) {
    const std::size_t b = at(rng);
    r.push_back({b, b + len(rng)});
  }
  return r;
}

// Largest |a - b| over the record, relative to the largest |reference| (0 for a silent reference).
template <typename A, typename B>
double relative_error(const A& a, const B& b, std::size_t n) {
  double largest = 0.0, diff = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    largest = std::max(largest, std::abs(b[i]));
    diff = std::max(diff, std::abs(a[i] - b[i]));
  }
  return largest > 0.0 ? diff / largest : diff;
}

// Both conditioning entry points filter in time blocks (dsp::ZeroPhaseStream): the backward passes start a
// margin after each block from zero state, so they match the whole-vector chain to within rounding, not bit
// for bit. The bound: 1e-12 of the signal's largest magnitude, a thousand times under the 1e-9 scipy parity
// tests/dsp holds the whole-vector functions to, and far above the rounding-level differences a correct
// margin leaves (a margin too short by half leaves ~1e-9: tests/dsp/zero_phase_stream_test.cpp).
constexpr double kBlockedBound = 1e-12;

// rep_scoring's mean of the RMS envelope over [begin, end): clipped to the record, NaN when empty, summed in
// sample order and divided once.
double mean_over(const std::vector<double>& x, std::size_t begin, std::size_t end) {
  end = std::min(end, x.size());
  if (begin >= end) return std::nan("");
  double sum = 0.0;
  for (std::size_t i = begin; i < end; ++i) sum += x[i];
  return sum / static_cast<double>(end - begin);
}

void expect_identical(const ex::SessionData& d, const ex::AnalysisSettings& s, const char* what,
                      std::size_t threads = 1) {
  const std::size_t channels = d.emg_channels();
  const std::size_t samples = d.emg_samples();
  std::vector<int> visits(channels, 0);
  const std::vector<ex::Interval> ranges = peak_ranges(samples);
  // The same edge cases for the means and the windows (the windows past the end are clipped).
  const std::vector<ex::Interval> windows(ranges.begin() + 1, ranges.end());
  constexpr std::size_t kEnvelopeBlock = 37;
  const ex::ConditioningRequests requests{ranges, ranges, windows, kEnvelopeBlock};
  ex::condition_session_offline(
      d, s, requests,
      [&](std::size_t c, const ex::ChannelSignalsView& v) {
        ASSERT_LT(c, channels);
        ++visits[c];
        const ex::ChannelSignals ref =
            reference_chain(channel_uv(d, c), d.montage.emg[c].muscle, d.device.emg_rate_hz, s);
        const ex::ChannelSignals single =
            ex::condition_channel(channel_uv(d, c), d.montage.emg[c].muscle, d.device.emg_rate_hz, s);
        const std::string where = std::string(what) + ", channel " + d.montage.emg[c].label;
        ASSERT_EQ(v.onset_signal.size, samples);
        ASSERT_EQ(v.range_peaks_uv.size(), ranges.size());
        ASSERT_EQ(v.range_means_uv.size(), ranges.size());
        ASSERT_EQ(v.envelope_uv.size(), samples / kEnvelopeBlock);
        ASSERT_EQ(v.window_start.size(), windows.size() + 1);
        ASSERT_EQ(single.filtered_uv.size(), samples);
        // The batch path and condition_channel: the same blocks, the same kernels, bit for bit.
        std::size_t onset = 0;
        for (std::size_t n = 0; n < samples; ++n)
          onset += same_bits(v.onset_signal[n], single.onset_signal[n]) ? 0 : 1;
        EXPECT_EQ(onset, 0u) << where;
        for (std::size_t r = 0; r < ranges.size(); ++r) {
          const double expected = ex::peak_amplitude(single.smoothed_uv, ranges[r].begin, ranges[r].end);
          const double got = v.range_peaks_uv[r];
          EXPECT_TRUE(std::isnan(expected) ? std::isnan(got) : same_bits(got, expected))
              << where << ", peak over [" << ranges[r].begin << ", " << ranges[r].end << "): " << got
              << " vs " << expected;
          // Against the whole-vector chain's smoothed envelope, within the bound.
          const double whole = ex::peak_amplitude(ref.smoothed_uv, ranges[r].begin, ranges[r].end);
          if (std::isnan(whole)) {
            EXPECT_TRUE(std::isnan(got)) << where << ", range " << r;
          } else {
            EXPECT_LE(std::abs(got - whole), kBlockedBound * std::abs(whole)) << where << ", range " << r;
          }
          const double mean = mean_over(single.rms_uv, ranges[r].begin, ranges[r].end);
          const double got_mean = v.range_means_uv[r];
          EXPECT_TRUE(std::isnan(mean) ? std::isnan(got_mean) : same_bits(got_mean, mean))
              << where << ", mean over [" << ranges[r].begin << ", " << ranges[r].end << "): " << got_mean
              << " vs " << mean;
        }
        std::size_t envelope = 0;
        for (std::size_t r = 0; r < v.envelope_uv.size(); ++r)
          envelope += same_bits(v.envelope_uv[r],
                                mean_over(single.rms_uv, r * kEnvelopeBlock, (r + 1) * kEnvelopeBlock))
                          ? 0
                          : 1;
        EXPECT_EQ(envelope, 0u) << where;
        for (std::size_t k = 0; k < windows.size(); ++k) {
          const std::size_t b = std::min(windows[k].begin, samples), e = std::min(windows[k].end, samples);
          const std::span<const double> got = v.filtered_window(k);
          ASSERT_EQ(got.size(), b < e ? e - b : 0) << where << ", window " << k;
          std::size_t differ = 0;
          for (std::size_t i = 0; i < got.size(); ++i)
            differ += same_bits(got[i], single.filtered_uv[b + i]) ? 0 : 1;
          EXPECT_EQ(differ, 0u) << where << ", window " << k;
        }
        // condition_channel against the whole-vector dsp chain.
        EXPECT_LE(relative_error(single.filtered_uv, ref.filtered_uv, samples), kBlockedBound)
            << where << ": filtered";
        EXPECT_LE(relative_error(single.onset_signal, ref.onset_signal, samples), kBlockedBound)
            << where << ": onset";
        EXPECT_LE(relative_error(single.rms_uv, ref.rms_uv, samples), kBlockedBound) << where << ": RMS";
        EXPECT_LE(relative_error(single.smoothed_uv, ref.smoothed_uv, samples), kBlockedBound)
            << where << ": smoothed";
      },
      threads);
  for (std::size_t c = 0; c < channels; ++c) EXPECT_EQ(visits[c], 1) << what << ", channel " << c;
}

}  // namespace

TEST(ScoringBatchConditioning, BatchBitIdenticalToSingleChannelAndBothWithinRoundingOfTheDspChain) {
  const ex::SessionData d = simulated_session();
  // Long enough for several time blocks of every zero-phase stage (dsp::ZeroPhaseStream; the band-pass's
  // block and margin are under 10 000 rows at 2 kHz).
  ASSERT_GT(d.emg_samples(), 40000u);
  // More channels share the plain band-pass than fit one group, and the lumbar ES channels have their own
  // filter: several groups of different widths are exercised.
  std::size_t plain = 0;
  for (const auto& ch : d.montage.emg)
    plain += ch.muscle != glutescope::Muscle::erector_spinae_lumbar ? 1 : 0;
  ASSERT_GT(plain, ex::kConditioningGroupChannels);
  ASSERT_LT(plain, d.emg_channels());

  expect_identical(d, ex::kDefaultAnalysisSettings, "defaults");
  // Visits on three threads (uneven over a group's four channels), the filtered rows consumed on a thread of
  // their own: the same numbers.
  expect_identical(d, ex::kDefaultAnalysisSettings, "defaults, 3 threads", 3);
  ex::AnalysisSettings notch = ex::kDefaultAnalysisSettings;
  notch.emg.mains_hz = 50.0;
  expect_identical(d, notch, "50 Hz notch");
  ex::AnalysisSettings other = ex::kDefaultAnalysisSettings;
  other.onset.smoothing_cutoff_hz = 0.0;
  other.emg.rms_window_ms = 25.0;
  other.emg.peak_window_ms = 301.0;
  expect_identical(d, other, "no TKEO low-pass, 25 ms RMS, 301 ms peak window");
}

TEST(ScoringBatchConditioning, TooShortRecordIsTheSameClearError) {
  ex::SessionData d = simulated_session();
  d.emg_counts.resize(10 * d.emg_channels());
  try {
    ex::condition_session_offline(d, ex::kDefaultAnalysisSettings, ex::ConditioningRequests{},
                                  [](std::size_t, const ex::ChannelSignalsView&) {});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "EMG record of 10 samples is too short to filter");
  }
  EXPECT_THROW((void)ex::condition_channel(std::vector<double>(10, 1.0), d.montage.emg[0].muscle,
                                           d.device.emg_rate_hz, ex::kDefaultAnalysisSettings),
               std::invalid_argument);
}

// With threads, a group's channels are visited at once; an exception from a visit still comes out of
// condition_session_offline, the lowest channel's when several throw, after every visit has ended.
TEST(ScoringBatchConditioning, ThreadedVisitsRethrowTheLowestChannelsException) {
  const ex::SessionData d = simulated_session();
  for (const std::size_t threads : {std::size_t{1}, std::size_t{2}, std::size_t{4}}) {
    std::vector<int> visited(d.emg_channels(), 0);
    try {
      ex::condition_session_offline(
          d, ex::kDefaultAnalysisSettings, ex::ConditioningRequests{},
          [&](std::size_t c, const ex::ChannelSignalsView&) {
            ++visited[c];
            if (c == 1 || c == 2) throw std::runtime_error("channel " + std::to_string(c));
          },
          threads);
      FAIL() << threads << " threads: expected the visit's exception";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "channel 1") << threads << " threads";
    }
    EXPECT_EQ(visited[1], 1) << threads << " threads";
    // Channel 0 is visited before channel 1 in the first group whatever the threads.
    EXPECT_EQ(visited[0], 1) << threads << " threads";
  }
}

// analyse_session with the statistics and scores of a group's channels on several threads: the same
// analysis, field for field (its JSON), as on one.
TEST(ScoringBatchConditioning, AnalysisOnSeveralThreadsEqualsOneThread) {
  const ex::SessionData d = simulated_session();
  const auto one = ex::to_json(ex::analyse_session(d, ex::kDefaultAnalysisSettings, 25.0, 1), d.montage);
  ASSERT_FALSE(one.at("sets").empty());
  for (const std::size_t threads : {std::size_t{2}, std::size_t{4}}) {
    const auto many =
        ex::to_json(ex::analyse_session(d, ex::kDefaultAnalysisSettings, 25.0, threads), d.montage);
    EXPECT_EQ(many.dump(), one.dump()) << threads << " threads";
  }
}
