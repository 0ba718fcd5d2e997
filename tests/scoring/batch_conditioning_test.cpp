// analyse_session conditions EMG with condition_session_offline (channel groups filtered together,
// interleaved and in place; centred moving RMS / average from prefix-sum rings) for speed only: the numbers
// must be exactly those of the chain composed from dsp's whole-vector functions (reference_chain below, each
// stage checked against scipy in tests/dsp), and so must condition_channel's (one channel, same kernel).
// Compared bit for bit, on every channel and sample, for the default settings and for the optional stages
// (mains notch, no |TKEO| low-pass, other window lengths), with an EMG gap in the record; the peaks of the
// smoothed envelope (never materialised by the batch path) against peak_amplitude over condition_channel's
// smoothed envelope, on ranges at the record edges, overlapping, nested, empty and past the end.
#include <cmath>
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <gtest/gtest.h>

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

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

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

void expect_identical(const ex::SessionData& d, const ex::AnalysisSettings& s, const char* what) {
  const std::size_t channels = d.emg_channels();
  const std::size_t samples = d.emg_samples();
  std::vector<int> visits(channels, 0);
  const std::vector<ex::Interval> ranges = peak_ranges(samples);
  ex::condition_session_offline(d, s, ranges, [&](std::size_t c, const ex::ChannelSignalsView& v) {
    ASSERT_LT(c, channels);
    ++visits[c];
    const ex::ChannelSignals ref =
        reference_chain(channel_uv(d, c), d.montage.emg[c].muscle, d.device.emg_rate_hz, s);
    const ex::ChannelSignals single =
        ex::condition_channel(channel_uv(d, c), d.montage.emg[c].muscle, d.device.emg_rate_hz, s);
    ASSERT_EQ(v.filtered_uv.size, samples);
    ASSERT_EQ(v.onset_signal.size, samples);
    ASSERT_EQ(v.rms_uv.size(), samples);
    ASSERT_EQ(v.range_peaks_uv.size(), ranges.size());
    std::size_t filtered = 0, onset = 0, rms = 0, peaks = 0;
    for (std::size_t n = 0; n < samples; ++n) {
      filtered += same_bits(v.filtered_uv[n], ref.filtered_uv[n]) ? 0 : 1;
      onset += same_bits(v.onset_signal[n], ref.onset_signal[n]) ? 0 : 1;
      rms += same_bits(v.rms_uv[n], ref.rms_uv[n]) ? 0 : 1;
      filtered += same_bits(single.filtered_uv[n], ref.filtered_uv[n]) ? 0 : 1;
      onset += same_bits(single.onset_signal[n], ref.onset_signal[n]) ? 0 : 1;
      rms +=
          same_bits(single.rms_uv[n], ref.rms_uv[n]) && same_bits(single.smoothed_uv[n], ref.smoothed_uv[n])
              ? 0
              : 1;
    }
    for (std::size_t r = 0; r < ranges.size(); ++r) {
      const double expected = ex::peak_amplitude(ref.smoothed_uv, ranges[r].begin, ranges[r].end);
      const double got = v.range_peaks_uv[r];
      const bool ok = std::isnan(expected) ? std::isnan(got) : same_bits(got, expected);
      peaks += ok ? 0 : 1;
      EXPECT_TRUE(ok) << what << ", channel " << c << ", range [" << ranges[r].begin << ", " << ranges[r].end
                      << "): " << got << " vs " << expected;
    }
    EXPECT_EQ(filtered, 0u) << what << ", channel " << d.montage.emg[c].label;
    EXPECT_EQ(onset, 0u) << what << ", channel " << d.montage.emg[c].label;
    EXPECT_EQ(rms, 0u) << what << ", channel " << d.montage.emg[c].label;
    EXPECT_EQ(peaks, 0u) << what << ", channel " << d.montage.emg[c].label;
  });
  for (std::size_t c = 0; c < channels; ++c) EXPECT_EQ(visits[c], 1) << what << ", channel " << c;
}

}  // namespace

TEST(ScoringBatchConditioning, BatchAndSingleChannelBitIdenticalToTheDspChain) {
  const ex::SessionData d = simulated_session();
  // More channels share the plain band-pass than fit one group, and the lumbar ES channels have their own
  // filter: several groups of different widths are exercised.
  std::size_t plain = 0;
  for (const auto& ch : d.montage.emg)
    plain += ch.muscle != glutescope::Muscle::erector_spinae_lumbar ? 1 : 0;
  ASSERT_GT(plain, ex::kConditioningGroupChannels);
  ASSERT_LT(plain, d.emg_channels());

  expect_identical(d, ex::kDefaultAnalysisSettings, "defaults");
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
    ex::condition_session_offline(d, ex::kDefaultAnalysisSettings, {},
                                  [](std::size_t, const ex::ChannelSignalsView&) {});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "EMG record of 10 samples is too short to filter");
  }
  EXPECT_THROW((void)ex::condition_channel(std::vector<double>(10, 1.0), d.montage.emg[0].muscle,
                                           d.device.emg_rate_hz, ex::kDefaultAnalysisSettings),
               std::invalid_argument);
}
