// Per-rep onset states of score_repetition (issue 14): a muscle already above threshold when the onset search
// window opens is "already active", neither an onset at the window edge nor a miss, and feeds neither the
// firing order nor the late-glute verdict. Signals are built by hand so the expected states and times follow
// from the construction (threshold = baseline mean 1 + 5 SD of 0.1 = 1.5; active level 10, rest level 1).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/onset_baseline.hpp"
#include "exercise/rep_scoring.hpp"

namespace ex = glutescope::exercise;
namespace dsp = glutescope::dsp;
using glutescope::Muscle;
using glutescope::Side;

namespace {

constexpr double kRate = 1000.0;    // Hz
constexpr std::size_t kN = 6000;    // 6 s of signal
constexpr double kMoveS = 2.0;      // the rep's movement onset (s); search window from 1.5 s
constexpr double kRestLevel = 1.0;  // onset-signal value at rest (= baseline mean)
constexpr double kActiveLevel = 10.0;

struct RepFixture {
  glutescope::Montage montage = glutescope::default_montage();
  ex::AnalysisSettings settings = ex::kDefaultAnalysisSettings;
  std::vector<ex::ChannelSignals> signals;
  std::vector<std::int32_t> counts;
  ex::Repetition rep;

  RepFixture() {
    signals.resize(montage.emg.size());
    for (ex::ChannelSignals& s : signals) {
      s.filtered_uv.assign(kN, 0.0);
      s.rms_uv.assign(kN, 5.0);
      s.smoothed_uv.assign(kN, 5.0);
      s.onset_signal.assign(kN, kRestLevel);
    }
    counts.assign(kN * montage.emg.size(), 0);
    rep.start_s = kMoveS;
    rep.concentric_end_s = 3.0;
    rep.hold_end_s = 3.5;
    rep.end_s = 4.5;
    rep.peak_s = 3.0;
  }
  // Onset signal of (muscle, both sides) at the active level over [from_s, to_s).
  void activate(Muscle m, double from_s, double to_s) {
    for (Side side : {Side::left, Side::right}) {
      const auto c = montage.find(m, side);
      ASSERT_TRUE(c.has_value());
      for (auto i = static_cast<std::size_t>(from_s * kRate); i < static_cast<std::size_t>(to_s * kRate); ++i)
        signals[*c].onset_signal[i] = kActiveLevel;
    }
  }
  ex::RepScore score() const {
    return score_with(std::vector<ex::RepOnsetBaseline>(
        montage.emg.size(), ex::RepOnsetBaseline{dsp::Baseline{kRestLevel, 0.1, 0, 500}}));
  }
  ex::RepScore score_with(std::vector<ex::RepOnsetBaseline> baselines) const {
    ex::RepScoringContext ctx;
    ctx.montage = &montage;
    ctx.settings = &settings;
    ctx.exercise = glutescope::Exercise::bridge;
    ctx.emg_rate_hz = kRate;
    ctx.first_sample = 0;
    ctx.end_sample = kN;
    ctx.signals = signals;
    ctx.emg_counts = counts;
    ctx.baseline = std::move(baselines);
    ctx.normalisation.kind = ex::NormalisationKind::peak_of_set;
    ctx.normalisation.reference_uv.assign(montage.emg.size(), 10.0);
    ctx.lead_off.assign(montage.emg.size(), {});
    ctx.imu_rate_hz = 100.0;
    ctx.imu_samples = 600;
    return ex::score_repetition(ctx, rep, ex::kNaN);
  }
  std::size_t channel(Muscle m, Side side) const { return *montage.find(m, side); }
};

TEST(OnsetState, AlreadyActiveAtWindowStartIsNeitherAnOnsetNorAMiss) {
  RepFixture f;
  f.activate(Muscle::erector_spinae_lumbar, 1.0, 4.0);  // active from before the window (1.5 s) on
  f.activate(Muscle::gluteus_maximus, 1.9, 4.0);        // onset 100 ms before the movement
  const ex::RepScore r = f.score();
  for (Side side : {Side::left, Side::right}) {
    const ex::ChannelRepScore& es = r.channels[f.channel(Muscle::erector_spinae_lumbar, side)];
    EXPECT_FALSE(es.onset_detected);
    EXPECT_TRUE(std::isnan(es.onset_rel_ms)) << es.onset_rel_ms;  // not -500 ms (the window edge)
    EXPECT_EQ(es.onset_state, ex::OnsetState::already_active);
    const ex::ChannelRepScore& gmax = r.channels[f.channel(Muscle::gluteus_maximus, side)];
    EXPECT_EQ(gmax.onset_state, ex::OnsetState::detected);
    EXPECT_NEAR(gmax.onset_rel_ms, -100.0, 1.0);
  }
  // The ES's activity before the window is no onset: it is not in the firing order, and the glute is not
  // "late" relative to it.
  for (std::size_t c : r.firing_order) EXPECT_NE(f.montage.emg[c].muscle, Muscle::erector_spinae_lumbar);
  EXPECT_NE(r.verdicts.late_glute.state, ex::VerdictState::yes);
  EXPECT_EQ(r.verdicts.late_glute.state, ex::VerdictState::not_available);
}

// The segmenter's movement onset lags a slow, smooth start, so a contraction can begin before the search
// window: it is traced back into the rest before the rep (RepOnsetBaseline::lookback_begin) to where it
// began; with no rest since lookback_begin it stays already_active.
TEST(OnsetState, ActivityRunningAtTheWindowStartIsTracedBackIntoTheRestBeforeTheRep) {
  RepFixture f;
  f.activate(Muscle::erector_spinae_lumbar, 1.2, 4.0);  // began 300 ms before the window (1.5 s)
  const auto es = f.channel(Muscle::erector_spinae_lumbar, Side::left);
  std::vector<ex::RepOnsetBaseline> baselines(f.montage.emg.size(),
                                              ex::RepOnsetBaseline{dsp::Baseline{kRestLevel, 0.1, 0, 500}});
  for (auto& b : baselines) b.lookback_begin = 500;  // the rest before the rep starts at 0.5 s
  ex::RepScore r = f.score_with(baselines);
  EXPECT_EQ(r.channels[es].onset_state, ex::OnsetState::detected);
  EXPECT_NEAR(r.channels[es].onset_s, 1.2, 1e-9);
  EXPECT_NEAR(r.channels[es].onset_rel_ms, -800.0, 1e-6);
  for (auto& b : baselines) b.lookback_begin = 1300;  // the rest began after the activity: never rested
  r = f.score_with(baselines);
  EXPECT_EQ(r.channels[es].onset_state, ex::OnsetState::already_active);
}

TEST(OnsetState, ActivityEndingBeforeTheMovementIsThePreviousRepsTailNotThisOnset) {
  RepFixture f;
  // Glute active at the window start (1.5 s) until 1.6 s (the previous rep's tail), at rest for 300 ms, then
  // a new onset at 1.9 s, 100 ms before the movement.
  f.activate(Muscle::gluteus_maximus, 1.0, 1.6);
  f.activate(Muscle::gluteus_maximus, 1.9, 4.0);
  const ex::RepScore r = f.score();
  const ex::ChannelRepScore& gmax = r.channels[f.channel(Muscle::gluteus_maximus, Side::left)];
  EXPECT_EQ(gmax.onset_state, ex::OnsetState::detected);
  EXPECT_NEAR(gmax.onset_rel_ms, -100.0, 1.0);
  // A channel at rest throughout has no onset: "none", not already active.
  const ex::ChannelRepScore& bf = r.channels[f.channel(Muscle::biceps_femoris, Side::left)];
  EXPECT_EQ(bf.onset_state, ex::OnsetState::not_detected);
  EXPECT_FALSE(bf.onset_detected);
}

// ---- Onset baselines that represent rest (exercise/onset_baseline.hpp) -----------------------------------
// A set of 4 reps at 1 kHz on a hand-built onset signal: still period [100, 600) at level 1, rests between
// reps at level 2, movement at level 50, every other sample at level 2. Rep k: search from w0 = 2000 + 3000k,
// movement 2500 + 3000k to hold end 3500 + 3000k, end 4000 + 3000k; rest before rep k >= 1 is
// [end of rep k-1 + 200 ms guard, w0) = 800 samples.
struct BaselineFixture {
  std::vector<double> x = std::vector<double>(15000, 2.0);
  std::vector<ex::RepSpan> reps;
  ex::OnsetSettings settings = ex::kDefaultAnalysisSettings.onset;
  BaselineFixture() {
    std::fill(x.begin() + 100, x.begin() + 600, 1.0);
    for (std::size_t k = 0; k < 4; ++k) {
      const std::size_t w0 = 2000 + 3000 * k;
      reps.push_back({w0, w0 + 500, w0 + 1500, w0 + 2000});
      std::fill(x.begin() + static_cast<std::ptrdiff_t>(w0 + 500),
                x.begin() + static_cast<std::ptrdiff_t>(w0 + 1500), 50.0);
    }
  }
  ex::SetOnsetBaseline plan(ex::Interval still = {100, 600}) const {
    return ex::plan_onset_baseline({x.data(), 1, x.size()}, 0, {0, x.size()}, still, reps, kRate, settings);
  }
};

TEST(OnsetBaseline, RestsBetweenRepsFirstWithLocalBaselinesAndTheContrast) {
  BaselineFixture f;
  const std::vector<ex::Interval> rests = ex::rests_before_reps(f.reps, {100, 600}, kRate, f.settings);
  ASSERT_EQ(rests.size(), 4U);
  EXPECT_EQ(rests[0].begin, 100U);
  EXPECT_EQ(rests[1].begin, 4000U + 200U);  // previous rep's end + rest_guard_ms
  EXPECT_EQ(rests[1].end, 5000U);           // this rep's search start
  const ex::SetOnsetBaseline b = f.plan();
  EXPECT_EQ(b.source, ex::BaselineSource::rests_between_reps);
  EXPECT_DOUBLE_EQ(b.set.mean, 2.0);  // the median of the rests, not the still period's 1.0
  EXPECT_DOUBLE_EQ(b.set.sd, 0.0);
  EXPECT_NEAR(b.contrast_db, 10.0 * std::log10(50.0 / 2.0), 1e-12);
  ASSERT_EQ(b.reps.size(), 4U);
  EXPECT_TRUE(b.reps[0].local);  // the still period, 500 ms >= local_baseline_min_ms
  EXPECT_DOUBLE_EQ(b.reps[0].stats.mean, 1.0);
  for (std::size_t k = 1; k < 4; ++k) {
    EXPECT_TRUE(b.reps[k].local) << k;  // 800 ms rests
    EXPECT_FALSE(b.reps[k].rest_active) << k;
    EXPECT_TRUE(b.reps[k].contrast_ok) << k;
  }
  // Rests shorter than local_baseline_min_ms use the set baseline.
  f.settings.local_baseline_min_ms = 900.0;
  EXPECT_FALSE(f.plan().reps[2].local);
}

TEST(OnsetBaseline, ARestAboveHalfTheActivePowerIsTonicAndItsRepContinuouslyActive) {
  BaselineFixture f;
  // Before rep 2 the muscle stays at 30 (above half of 50: within 3 dB of its activity).
  std::fill(f.x.begin() + 7200, f.x.begin() + 8000, 30.0);
  const ex::SetOnsetBaseline b = f.plan();
  EXPECT_TRUE(b.reps[2].rest_active);
  EXPECT_FALSE(b.reps[1].rest_active);
  // Every rest between reps tonic: they are no rest; the set's still period is.
  for (std::size_t k = 1; k < 4; ++k) {
    std::fill(f.x.begin() + static_cast<std::ptrdiff_t>(f.reps[k - 1].m1 + 200),
              f.x.begin() + static_cast<std::ptrdiff_t>(f.reps[k].w0), 30.0);
  }
  const ex::SetOnsetBaseline all = f.plan();
  EXPECT_EQ(all.source, ex::BaselineSource::initial_still_period);
  EXPECT_DOUBLE_EQ(all.set.mean, 1.0);
  // Without a still period either: the quietest window.
  EXPECT_EQ(f.plan({0, 0}).source, ex::BaselineSource::quietest_window);
}

TEST(OnsetBaseline, TheStillPeriodAfterTheLastRepIsPooledWithTheRestsBetweenReps) {
  BaselineFixture f;
  // A 850 ms guard leaves 150 ms between reps: 450 ms pooled, under baseline_ms (500 ms). Before the set's
  // final still period counted, the set baseline fell back to the much quieter initial still period (level
  // 1), whose threshold the rests between reps crossed (issue 14: early and spurious onsets on real data).
  f.settings.rest_guard_ms = 850.0;
  const std::size_t last_end = f.reps.back().m1;  // 13000
  // The last rep's tail inside the guard belongs to the rep, not to the rest after it.
  std::fill(f.x.begin() + static_cast<std::ptrdiff_t>(last_end),
            f.x.begin() + static_cast<std::ptrdiff_t>(last_end + 850), 50.0);
  std::fill(f.x.begin() + static_cast<std::ptrdiff_t>(last_end + 850), f.x.end(), 3.0);
  const ex::Interval after = ex::rest_after_reps(f.reps, {0, f.x.size()}, kRate, f.settings);
  EXPECT_EQ(after.begin, last_end + 850);
  EXPECT_EQ(after.end, f.x.size());
  const ex::SetOnsetBaseline b = f.plan();
  EXPECT_EQ(b.source, ex::BaselineSource::rests_between_reps);
  // 450 samples at 2 between the reps and 1150 at 3 after the last: the median is the final rest's level.
  EXPECT_DOUBLE_EQ(b.set.mean, 3.0);
  EXPECT_EQ(b.set.begin_index, f.reps[0].m1 + 850);
  EXPECT_EQ(b.set.end_index, f.x.size());
  // A set ending within the guard has no rest after its last rep.
  EXPECT_EQ(ex::rest_after_reps(f.reps, {0, last_end + 100}, kRate, f.settings).begin, last_end + 100);
  EXPECT_EQ(ex::rest_after_reps({}, {0, f.x.size()}, kRate, f.settings).begin, f.x.size());
}

TEST(OnsetBaseline, ABurstInTheRestDoesNotMoveTheRobustThreshold) {
  BaselineFixture f;
  std::mt19937 rng(5);
  std::normal_distribution<double> noise(0.0, 0.2);
  for (double& v : f.x) v += noise(rng);
  // A 100 ms twitch (level 40) in the 800 ms rest before rep 1.
  std::fill(f.x.begin() + 4500, f.x.begin() + 4600, 40.0);
  const ex::SetOnsetBaseline robust = f.plan();
  EXPECT_NEAR(robust.reps[1].stats.mean, 2.0, 0.05);
  // The upper-half MAD moves a little with 12.5 % of the rest in the twitch: the median goes to the 0.571
  // quantile of the noise (2.036), and the median of the deviations above it to the 0.857 quantile
  // (2.214): sd = 1.4826 x 0.178 = 0.26, against the noise's 0.2. The threshold stays near the noise.
  EXPECT_NEAR(robust.reps[1].stats.sd, 0.26, 0.04);
  EXPECT_LT(robust.reps[1].stats.mean + f.settings.k_sd * robust.reps[1].stats.sd, 4.0);  // twitch: 40
  f.settings.robust_baseline = false;
  EXPECT_GT(f.plan().reps[1].stats.sd, 10.0 * 0.2);  // mean and SD: inflated by the twitch
}

TEST(OnsetBaseline, ARestsStatisticsStartWhereThePreviousContractionHasDecayed) {
  BaselineFixture f;
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.2);
  for (double& v : f.x) v += noise(rng);
  // The rest before rep 1 is [4200, 5000); its first 250 ms still carry the previous rep's EMG, decaying
  // from 40 to 3 (the angle ended at 4000, the muscle later): 31 % of the rest, beyond the upper-half MAD's
  // 25 % breakdown point.
  for (std::size_t n = 4200; n < 4450; ++n) f.x[n] = 40.0 - 37.0 * static_cast<double>(n - 4200) / 250.0;
  const ex::SetOnsetBaseline b = f.plan();
  // The statistics start at the first sample at or below the rest's median: after the decay.
  EXPECT_GE(b.reps[1].stats.begin_index, 4450U);
  EXPECT_LE(b.reps[1].stats.begin_index, 4470U);
  EXPECT_NEAR(b.reps[1].stats.mean, 2.0, 0.05);
  EXPECT_NEAR(b.reps[1].stats.sd, 0.2, 0.04);  // the noise's SD: the decay is not rest
  EXPECT_TRUE(b.reps[1].local);
  // The trace-back still reaches back to where the segmenter's rest begins.
  EXPECT_EQ(b.reps[1].lookback_begin, 4200U);
}

TEST(OnsetState, TonicRestGivesContinuouslyActiveAndACrossingBelowTheActivityIsNotQuiet) {
  RepFixture f;
  const auto gmax = f.channel(Muscle::gluteus_maximus, Side::left);
  f.activate(Muscle::gluteus_maximus, 1.9, 4.0);
  std::vector<ex::RepOnsetBaseline> baselines(f.montage.emg.size(),
                                              ex::RepOnsetBaseline{dsp::Baseline{kRestLevel, 0.1, 0, 500}});
  baselines[gmax].rest_active = true;
  ex::RepScore r = f.score_with(baselines);
  EXPECT_EQ(r.channels[gmax].onset_state, ex::OnsetState::continuously_active);
  EXPECT_TRUE(std::isnan(r.channels[gmax].onset_rel_ms));
  baselines[gmax].rest_active = false;
  baselines[gmax].contrast_ok = false;
  r = f.score_with(baselines);
  EXPECT_EQ(r.channels[gmax].onset_state, ex::OnsetState::baseline_not_quiet);
  EXPECT_FALSE(r.channels[gmax].onset_detected);
}

// Issue 14, defect (c): one onset threshold default for dsp's detectors and the product's onset settings.
TEST(OnsetThreshold, OneDefaultSharedByDspAndExercise) {
  EXPECT_EQ(dsp::kDefaultOnsetThresholdSd, 5.0);  // docs/SCORING.md "Settings": k = 5 SD
  EXPECT_EQ(dsp::kDefaultHodgesBui.k_sd, dsp::kDefaultOnsetThresholdSd);
  EXPECT_EQ(dsp::kDefaultSolnik.k_sd, dsp::kDefaultOnsetThresholdSd);
  EXPECT_EQ(ex::kDefaultAnalysisSettings.onset.k_sd, dsp::kDefaultOnsetThresholdSd);
}

}  // namespace
