#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "exercise/rep_segmenter.hpp"

namespace glutescope::exercise {
namespace {

constexpr double kRateHz = 100.0;

// One synthetic repetition: linear ramps (trapezoid), optional dip in the middle of the hold (double peak).
struct RepSpec {
  double start_s, rise_s, hold_s, fall_s, amplitude_deg;
  double dip_fraction = 0.0;  // >0: the hold dips to this fraction of the amplitude and comes back
  bool counts = true;         // ground truth: a repetition
  bool partial = false;       // ground truth: partial
  [[nodiscard]] double concentric_end() const { return start_s + rise_s; }
  [[nodiscard]] double hold_end() const { return start_s + rise_s + hold_s; }
  [[nodiscard]] double end() const { return start_s + rise_s + hold_s + fall_s; }
};

double trapezoid(const RepSpec& r, double t) {
  if (t <= r.start_s || t >= r.end()) return 0.0;
  if (t < r.concentric_end()) return r.amplitude_deg * (t - r.start_s) / r.rise_s;
  if (t >= r.hold_end()) return r.amplitude_deg * (r.end() - t) / r.fall_s;
  if (r.dip_fraction > 0.0) {
    const double mid = 0.5 * (r.concentric_end() + r.hold_end());
    const double half_width_s = 0.4;
    const double u = std::abs(t - mid);
    if (u < half_width_s)
      return r.amplitude_deg * (r.dip_fraction + (1.0 - r.dip_fraction) * u / half_width_s);
  }
  return r.amplitude_deg;
}

struct Trace {
  std::vector<double> t_s, angle_deg, truth_deg;
};

Trace make_trace(const std::vector<RepSpec>& reps, double duration_s, double noise_deg, double offset_deg,
                 unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> gauss(0.0, noise_deg);
  Trace tr;
  const auto n = static_cast<std::size_t>(duration_s * kRateHz);
  for (std::size_t k = 0; k < n; ++k) {
    const double t = 10.0 + static_cast<double>(k) / kRateHz;  // the device clock does not start at 0
    double v = offset_deg;
    for (const auto& r : reps) v += trapezoid(r, t);
    tr.t_s.push_back(t);
    tr.truth_deg.push_back(v);
    tr.angle_deg.push_back(v + (noise_deg > 0.0 ? gauss(rng) : 0.0));
  }
  return tr;
}

// A set: 3 s still, then reps with varying tempo, holds, a partial rep, a double peak, a blip that is too
// short and a sub-threshold wiggle, rest gaps 1-2.5 s. Times are on the device clock (trace starts at 10 s).
std::vector<RepSpec> standard_set() {
  std::vector<RepSpec> reps;
  double t = 13.0;
  const auto add = [&](RepSpec r, double gap_s) {
    r.start_s = t;
    reps.push_back(r);
    t = r.end() + gap_s;
  };
  add({0, 2.0, 1.0, 2.0, 40.0}, 1.5);                   // first good rep: calibrates the reference
  add({0, 1.0, 0.0, 1.0, 42.0}, 1.0);                   // fast, no hold
  add({0, 2.5, 3.0, 2.5, 38.0}, 2.0);                   // slow with a long hold
  add({0, 1.2, 0.5, 1.2, 16.0, 0.0, true, true}, 1.5);  // partial: 40 % of the ROM
  add({0, 0.15, 0.0, 0.15, 30.0, 0.0, false}, 1.5);     // 0.3 s blip: too short
  add({0, 1.5, 3.0, 1.5, 40.0, 0.6}, 2.0);              // double peak in the hold: one rep
  add({0, 0.8, 0.3, 0.8, 41.0}, 1.0);                   // fast
  add({0, 1.0, 0.5, 1.0, 4.0, 0.0, false}, 1.5);        // 4 deg wiggle: below the enter level
  add({0, 3.0, 2.0, 3.0, 39.0}, 2.5);                   // slowest
  add({0, 0.6, 0.0, 0.6, 40.0}, 1.5);                   // fastest (1.2 s rep)
  return reps;
}

std::vector<RepSpec> counted(const std::vector<RepSpec>& reps) {
  std::vector<RepSpec> out;
  for (const auto& r : reps) {
    if (r.counts) out.push_back(r);
  }
  return out;
}

std::vector<Repetition> run_live(const Trace& tr,
                                 const RepSegmenterSettings& s = kDefaultRepSegmenterSettings) {
  RepSegmenter seg(s);
  std::vector<Repetition> reps;
  for (std::size_t k = 0; k < tr.t_s.size(); ++k) {
    if (auto r = seg.push(tr.angle_deg[k], tr.t_s[k])) reps.push_back(*r);
  }
  return reps;
}

void expect_boundaries(const std::vector<Repetition>& found, const std::vector<RepSpec>& truth, double tol_s,
                       const char* mode, double* worst_s) {
  ASSERT_EQ(found.size(), truth.size()) << mode;
  for (std::size_t i = 0; i < truth.size(); ++i) {
    const auto& f = found[i];
    const auto& g = truth[i];
    SCOPED_TRACE(std::string(mode) + " rep " + std::to_string(i));
    EXPECT_EQ(f.index, i);
    EXPECT_NEAR(f.start_s, g.start_s, tol_s);
    EXPECT_NEAR(f.end_s, g.end(), tol_s);
    *worst_s = std::max({*worst_s, std::abs(f.start_s - g.start_s), std::abs(f.end_s - g.end())});
    if (g.dip_fraction == 0.0) {  // a double peak's plateau boundaries are not defined by the ramps alone
      EXPECT_NEAR(f.concentric_end_s, g.concentric_end(), tol_s);
      EXPECT_NEAR(f.hold_end_s, g.hold_end(), tol_s);
      *worst_s = std::max({*worst_s, std::abs(f.concentric_end_s - g.concentric_end()),
                           std::abs(f.hold_end_s - g.hold_end())});
    }
    EXPECT_EQ(f.partial, g.partial);
    // The low-pass rounds the apex of the fastest triangle-shaped reps (zero-phase: twice), hence 2.5 deg.
    EXPECT_NEAR(f.rom_deg, g.amplitude_deg, 2.5);
    // Sample indices follow the times (trace starts at 10 s, 100 Hz).
    EXPECT_NEAR(static_cast<double>(f.start_sample), (f.start_s - 10.0) * kRateHz, 1.0);
    EXPECT_NEAR(static_cast<double>(f.end_sample), (f.end_s - 10.0) * kRateHz, 1.0);
    EXPECT_LE(f.start_sample, f.concentric_end_sample);
    EXPECT_LE(f.concentric_end_sample, f.hold_end_sample);
    EXPECT_LE(f.hold_end_sample, f.end_sample);
  }
}

TEST(RepSegmenter, LiveCountsAndBoundariesOnANoisySetWithPartialAndDoublePeaks) {
  const auto spec = standard_set();
  const Trace tr = make_trace(spec, spec.back().end() + 3.0 - 10.0, 0.5, 2.0, 11);
  const auto reps = run_live(tr);
  double worst_s = 0.0;
  expect_boundaries(reps, counted(spec), 0.1, "live", &worst_s);
  std::printf("live: %zu reps, worst boundary error %.0f ms\n", reps.size(), worst_s * 1000.0);
  EXPECT_NEAR(reps.front().reference_rom_deg, 40.0, 1.0) << "the first good rep sets the reference";
}

TEST(RepSegmenter, OfflineCountsAndBoundariesOnTheSameSet) {
  const auto spec = standard_set();
  const Trace tr = make_trace(spec, spec.back().end() + 3.0 - 10.0, 0.5, 2.0, 11);
  const auto reps = RepSegmenter::segment_set(tr.angle_deg, tr.t_s);
  double worst_s = 0.0;
  expect_boundaries(reps, counted(spec), 0.1, "offline", &worst_s);
  std::printf("offline: %zu reps, worst boundary error %.0f ms\n", reps.size(), worst_s * 1000.0);
  EXPECT_EQ(reps.size(), run_live(tr).size());
}

TEST(RepSegmenter, LiveAndOfflineAgreeOnManyRandomSets) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> rise(0.6, 3.0), hold(0.0, 3.0), amp(32.0, 45.0), gap(1.0, 3.0);
  double worst_live_s = 0.0, worst_offline_s = 0.0;
  for (int set = 0; set < 20; ++set) {
    std::vector<RepSpec> spec;
    double t = 13.0;
    for (int i = 0; i < 10; ++i) {
      const double r = rise(rng);
      RepSpec rep{t, r, hold(rng), r * 1.2, i == 0 ? 40.0 : amp(rng)};
      spec.push_back(rep);
      t = rep.end() + gap(rng);
    }
    const Trace tr = make_trace(spec, t + 2.0 - 10.0, 0.8, -3.0, static_cast<unsigned>(100 + set));
    const auto live = run_live(tr);
    const auto offline = RepSegmenter::segment_set(tr.angle_deg, tr.t_s);
    ASSERT_EQ(live.size(), 10u) << "set " << set;
    ASSERT_EQ(offline.size(), 10u) << "set " << set;
    for (std::size_t i = 0; i < 10; ++i) {
      EXPECT_NEAR(live[i].start_s, spec[i].start_s, 0.1) << set << "/" << i;
      EXPECT_NEAR(live[i].end_s, spec[i].end(), 0.1) << set << "/" << i;
      EXPECT_NEAR(offline[i].start_s, spec[i].start_s, 0.1) << set << "/" << i;
      EXPECT_NEAR(offline[i].end_s, spec[i].end(), 0.1) << set << "/" << i;
      worst_live_s = std::max({worst_live_s, std::abs(live[i].start_s - spec[i].start_s),
                               std::abs(live[i].end_s - spec[i].end())});
      worst_offline_s = std::max({worst_offline_s, std::abs(offline[i].start_s - spec[i].start_s),
                                  std::abs(offline[i].end_s - spec[i].end())});
    }
  }
  std::printf(
      "20 random sets (200 reps, noise 0.8 deg): worst start/end error live %.0f ms, offline %.0f ms\n",
      worst_live_s * 1000.0, worst_offline_s * 1000.0);
}

TEST(RepSegmenter, ChunkedFeedingGivesIdenticalResults) {
  const auto spec = standard_set();
  const Trace tr = make_trace(spec, spec.back().end() + 3.0 - 10.0, 0.5, 0.0, 3);
  std::vector<double> tilt(tr.t_s.size()), roll(tr.t_s.size());
  for (std::size_t k = 0; k < tilt.size(); ++k) {
    tilt[k] = 0.1 * tr.truth_deg[k];
    roll[k] = -0.05 * tr.truth_deg[k];
  }
  RepSegmenter whole;
  std::vector<Repetition> a;
  whole.push_block(tr.angle_deg, tr.t_s, a, tilt, roll);
  std::mt19937 rng(9);
  std::uniform_int_distribution<std::size_t> chunk(1, 300);
  RepSegmenter pieces;
  std::vector<Repetition> b;
  for (std::size_t i = 0; i < tr.t_s.size();) {
    const std::size_t n = std::min(chunk(rng), tr.t_s.size() - i);
    pieces.push_block(std::span(tr.angle_deg).subspan(i, n), std::span(tr.t_s).subspan(i, n), b,
                      std::span(tilt).subspan(i, n), std::span(roll).subspan(i, n));
    i += n;
  }
  ASSERT_EQ(a.size(), counted(spec).size());
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].start_sample, b[i].start_sample);
    EXPECT_EQ(a[i].concentric_end_sample, b[i].concentric_end_sample);
    EXPECT_EQ(a[i].hold_end_sample, b[i].hold_end_sample);
    EXPECT_EQ(a[i].end_sample, b[i].end_sample);
    EXPECT_EQ(a[i].start_s, b[i].start_s);
    EXPECT_EQ(a[i].end_s, b[i].end_s);
    EXPECT_EQ(a[i].peak_angle_deg, b[i].peak_angle_deg);
    EXPECT_EQ(a[i].partial, b[i].partial);
    EXPECT_EQ(a[i].max_pelvic_tilt_deviation_deg, b[i].max_pelvic_tilt_deviation_deg);
  }
}

TEST(RepSegmenter, PelvicDeviationsAreTheLargestMagnitudeDuringEachRep) {
  const std::vector<RepSpec> spec = {{13.0, 1.5, 1.0, 1.5, 40.0}, {19.0, 1.5, 1.0, 1.5, 40.0}};
  const Trace tr = make_trace(spec, 15.0, 0.0, 0.0, 1);
  std::vector<double> tilt(tr.t_s.size(), 0.0), roll(tr.t_s.size(), 0.0);
  for (std::size_t k = 0; k < tilt.size(); ++k) {
    const double t = tr.t_s[k];
    if (t > 20.0 && t < 21.0) tilt[k] = 7.0 * std::sin(std::numbers::pi * (t - 20.0));  // rep 2 only
    if (t > 14.0 && t < 15.0) roll[k] = -4.0;                                           // rep 1 only
  }
  RepSegmenter seg;
  std::vector<Repetition> reps;
  seg.push_block(tr.angle_deg, tr.t_s, reps, tilt, roll);
  ASSERT_EQ(reps.size(), 2u);
  EXPECT_NEAR(reps[0].max_pelvic_tilt_deviation_deg, 0.0, 1e-12);
  EXPECT_NEAR(reps[0].max_pelvic_roll_deviation_deg, 4.0, 1e-12);
  EXPECT_NEAR(reps[1].max_pelvic_tilt_deviation_deg, 7.0, 0.01);
  EXPECT_NEAR(reps[1].max_pelvic_roll_deviation_deg, 0.0, 1e-12);
  // Without pelvic inputs the deviations are NaN (unknown), not zero.
  const auto bare = run_live(tr);
  ASSERT_EQ(bare.size(), 2u);
  EXPECT_TRUE(std::isnan(bare[0].max_pelvic_tilt_deviation_deg));
}

TEST(RepSegmenter, TooLongExcursionsAreDiscardedAndTheNextRepsCount) {
  const std::vector<RepSpec> spec = {
      {13.0, 1.0, 18.0, 1.0, 40.0, 0.0, false}, {36.0, 1.5, 1.0, 1.5, 40.0}, {42.0, 1.5, 1.0, 1.5, 40.0}};
  RepSegmenterSettings s;
  s.rom_reference_deg = 40.0;  // explicit clinician target
  const Trace tr = make_trace(spec, 40.0, 0.3, 0.0, 2);
  const auto reps = run_live(tr, s);
  double worst_s = 0.0;
  expect_boundaries(reps, counted(spec), 0.1, "live", &worst_s);
  const auto offline = RepSegmenter::segment_set(tr.angle_deg, tr.t_s, s);
  expect_boundaries(offline, counted(spec), 0.1, "offline", &worst_s);
}

TEST(RepSegmenter, LostSamplesHoldTheLastValue) {
  const std::vector<RepSpec> spec = {{13.0, 1.5, 1.0, 1.5, 40.0}, {19.0, 1.5, 1.0, 1.5, 40.0}};
  Trace tr = make_trace(spec, 15.0, 0.0, 0.0, 1);
  for (std::size_t k = 450; k < 455; ++k) tr.angle_deg[k] = NAN;  // inside rep 1's hold
  const auto live = run_live(tr);
  const auto offline = RepSegmenter::segment_set(tr.angle_deg, tr.t_s);
  EXPECT_EQ(live.size(), 2u);
  EXPECT_EQ(offline.size(), 2u);
}

TEST(RepSegmenter, LowpassMatchesScipyButterworth) {
  // Step response of the 4 Hz / 100 Hz filter vs scipy.signal.butter(2, 4, fs=100) + lfilter.
  const std::string cmd =
      std::string(GLUTESCOPE_SYSTEM_PYTHON) +
      " -c \"from scipy import signal; import numpy as np; b,a=signal.butter(2,4,fs=100);"
      " y=signal.lfilter(b,a,np.ones(40)); w,gd=signal.group_delay((b,a),w=[1e-6],fs=100);"
      " print(' '.join(repr(v) for v in list(y)+[gd[0]]))\"";
  FILE* pipe = popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::vector<double> ref;
  double v = 0.0;
  while (std::fscanf(pipe, "%lf", &v) == 1) ref.push_back(v);
  ASSERT_EQ(pclose(pipe), 0);
  ASSERT_EQ(ref.size(), 41u);
  const dsp::SosCoefficients sos = detail::segmenter_lowpass(4.0, 100.0);
  ASSERT_EQ(sos.size(), 1u);
  dsp::SosFilter lp(sos);
  for (std::size_t k = 0; k < 40; ++k) EXPECT_NEAR(lp.process(1.0), ref[k], 1e-12) << k;
  EXPECT_NEAR(detail::dc_group_delay_samples(sos.front()), ref[40], 1e-4);
}

TEST(RepSegmenter, BadSettingsAreRejected) {
  RepSegmenterSettings s;
  s.exit_fraction = 0.5;  // above enter: no hysteresis
  EXPECT_THROW({ RepSegmenter r(s); }, std::invalid_argument);
  s = RepSegmenterSettings{};
  s.lowpass_cutoff_hz = 60.0;
  EXPECT_THROW({ RepSegmenter r(s); }, std::invalid_argument);
  s = RepSegmenterSettings{};
  s.max_rep_s = 0.5;
  EXPECT_THROW({ RepSegmenter r(s); }, std::invalid_argument);
  const std::vector<double> a(10, 0.0), t(9, 0.0);
  EXPECT_THROW(RepSegmenter::segment_set(a, t), std::invalid_argument);
}

}  // namespace
}  // namespace glutescope::exercise
