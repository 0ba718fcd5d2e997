// The shared analysis core's public pieces: rate-adapted conditioning (band-pass top, notch harmonics, the
// note in the results), the streaming conditioner (block boundaries never change a value; same numbers as
// dsp's whole-vector causal functions), the motion-source line, and settings rejected at load naming the key.
#include <cstring>
#include <random>
#include <stdexcept>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dsp/envelope.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/session_analysis.hpp"
#include "pipeline/analysis_settings.hpp"

namespace ex = glutescope::exercise;
namespace dsp = glutescope::dsp;
using glutescope::Muscle;
using testing::HasSubstr;

namespace {

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

std::vector<double> noise(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> g(0.0, 50.0);
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = 300.0 + g(rng) * (i % 2000 < 700 ? 4.0 : 1.0);
  return x;
}

TEST(RateAdaptedConditioning, BandPassTopAtMost045OfTheRateAndNotchHarmonicsBelowIt) {
  ex::AnalysisSettings s;
  s.emg.mains_hz = 50.0;
  EXPECT_DOUBLE_EQ(ex::effective_bandpass_high_hz(2000.0, s), 450.0);
  EXPECT_DOUBLE_EQ(ex::effective_bandpass_high_hz(1000.0, s), 450.0);
  EXPECT_DOUBLE_EQ(ex::effective_bandpass_high_hz(250.0, s), 112.5);  // OpenBCI Cyton
  EXPECT_DOUBLE_EQ(ex::effective_bandpass_high_hz(125.0, s), 56.25);  // Cyton + Daisy, per channel
  EXPECT_EQ(ex::notch_harmonics(2000.0, s), 8);                       // 100, 150, .., 450 Hz
  EXPECT_EQ(ex::notch_harmonics(250.0, s), 1);                        // 100 Hz only
  EXPECT_EQ(ex::notch_harmonics(125.0, s), 0);
  EXPECT_TRUE(ex::rate_adaptation_notes(2000.0, s).empty());
  const auto notes = ex::rate_adaptation_notes(250.0, s);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_THAT(notes[0], HasSubstr("emg.bandpass_high_hz = 450 Hz to 112.5 Hz"));
  EXPECT_THAT(notes[1], HasSubstr("1 of 8 harmonics"));
  // Every design at those rates is a valid, stable filter (the designers throw otherwise).
  for (double rate : {125.0, 250.0, 1000.0, 2000.0}) {
    const ex::EmgConditioningDesign d = ex::design_emg_conditioning(Muscle::erector_spinae_lumbar, rate, s);
    EXPECT_NO_THROW(dsp::SosFilter{d.bandpass}) << rate;
    if (!d.notch.empty()) {
      EXPECT_NO_THROW(dsp::SosFilter{d.notch}) << rate;
    }
  }
}

TEST(StreamConditioner, RandomBlockSizesGiveBitIdenticalSignals) {
  ex::AnalysisSettings s;
  s.emg.mains_hz = 50.0;
  const double rate = 2000.0;
  const std::size_t n = 20000;
  const std::vector<double> a = noise(n, 1), b = noise(n, 2);
  auto make = [&] {
    return ex::EmgStreamConditioner({ex::design_emg_conditioning(Muscle::gluteus_maximus, rate, s),
                                     ex::design_emg_conditioning(Muscle::erector_spinae_lumbar, rate, s)},
                                    n);
  };
  ex::EmgStreamConditioner one = make(), blocks = make();
  for (std::size_t i = 0; i < n; ++i) one.push(std::vector<double>{a[i], b[i]});
  std::mt19937 rng(9);
  std::uniform_int_distribution<std::size_t> size(1, 500);
  for (std::size_t i = 0; i < n;) {
    const std::size_t m = std::min(n - i, size(rng));
    for (std::size_t k = 0; k < m; ++k) blocks.push(std::vector<double>{a[i + k], b[i + k]});
    i += m;
  }
  for (std::size_t c = 0; c < 2; ++c) {
    const auto f1 = one.filtered(c, 0, n), f2 = blocks.filtered(c, 0, n);
    const auto o1 = one.onset_signal(c, 0, n), o2 = blocks.onset_signal(c, 0, n);
    ASSERT_EQ(f1.size(), n);
    ASSERT_EQ(o1.size(), n - 1);
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(same_bits(f1[i], f2[i])) << c << " " << i;
    for (std::size_t i = 0; i + 1 < n; ++i) ASSERT_TRUE(same_bits(o1[i], o2[i])) << c << " " << i;
  }
  // The same numbers as dsp's whole-vector causal filters (scipy.signal.sosfilt) on x - x[0].
  const ex::EmgConditioningDesign d = ex::design_emg_conditioning(Muscle::gluteus_maximus, rate, s);
  std::vector<double> x(a);
  for (double& v : x) v -= a[0];
  const std::vector<double> filtered = dsp::sosfilt(d.bandpass, dsp::sosfilt(d.notch, x));
  std::vector<double> psi = dsp::tkeo(filtered);
  for (double& v : psi) v = std::abs(v);
  const auto f = one.filtered(0, 0, n);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_NEAR(f[i], filtered[i], 1e-9 * (1.0 + std::abs(filtered[i]))) << i;
  // TKEO of sample 0 differs at the edge (dsp::tkeo copies its neighbour; streaming has no sample -1); the
  // low-pass carries that for a few ms, so compare after 100 ms.
  const std::vector<double> onset = dsp::sosfilt(d.onset_lowpass, psi);
  const auto o = one.onset_signal(0, 0, n);
  for (std::size_t i = 200; i + 1 < n; ++i)
    ASSERT_NEAR(o[i], onset[i], 1e-6 * (1.0 + std::abs(onset[i]))) << i;
  // A long jump of the sample counter (device attached mid-stream) costs bounded work and keeps indices.
  ex::EmgStreamConditioner jump = make();
  jump.push_gap(std::size_t{1} << 40);
  EXPECT_EQ(jump.end(), std::size_t{1} << 40);
}

TEST(MotionSource, SessionsWithoutGyroscopesSaySoInOneLine) {
  glutescope::DeviceInfo d;
  EXPECT_THAT(ex::motion_source_note(d), HasSubstr("no IMU"));
  d.imu.resize(2);
  EXPECT_EQ(ex::motion_source_note(d), "");
  for (auto& imu : d.imu) imu.gyro_range_dps = 0.0;
  const std::string note = ex::motion_source_note(d);
  EXPECT_THAT(note, HasSubstr("accelerometer only"));
  EXPECT_LE(note.size(), 200u);
  EXPECT_EQ(note.find('\n'), std::string::npos);
}

std::string config_error(const std::string& toml) {
  try {
    (void)glutescope::pipeline::parse_analysis_settings(toml, "t.toml");
  } catch (const glutescope::pipeline::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SettingsThatCannotWork, RejectedAtLoadNamingTheKey) {
  EXPECT_EQ(config_error(""), "");
  EXPECT_THAT(config_error("[onset]\nbaseline_ms = 10000\n"), HasSubstr("onset.baseline_ms = 10000 ms"));
  EXPECT_THAT(config_error("[fatigue]\nwindow_ms = 5000\n[motion.segmenter]\nmax_rep_s = 4\n"),
              HasSubstr("fatigue.window_ms"));
  EXPECT_THAT(config_error("[live]\nhistory_s = 10\n[motion.segmenter]\nmax_rep_s = 20\n"),
              HasSubstr("live.history_s = 10 s"));
  // The obsolete live.filter_lead_in_s still loads (ignored), within its old range.
  EXPECT_EQ(config_error("[live]\nfilter_lead_in_s = 1.0\n"), "");
  EXPECT_THAT(config_error("[live]\nfilter_lead_in_s = 99\n"), HasSubstr("live.filter_lead_in_s"));
}

}  // namespace

namespace {

// A bridge rep on the built-in montage with hand-set µV amplitudes and onsets: the verdict step worked by
// hand (docs/SCORING.md thresholds: glute fired >= 10 %MVIC, lumbar dominant ES/glute >= 1, late glute
// > 100 ms after ES).
struct BridgeRep {
  glutescope::Montage montage = glutescope::default_montage();
  ex::AnalysisSettings settings;
  ex::VerdictContext context() const {
    ex::VerdictContext c;
    c.montage = &montage;
    c.settings = &settings;
    c.exercise = glutescope::Exercise::bridge;
    c.normalisation.kind = ex::NormalisationKind::mvic;
    c.normalisation.reference_uv.assign(montage.emg.size(), 200.0);  // every channel: MVC 200 µV
    c.have_pelvis = true;
    return c;
  }
  ex::RepScore rep(double glute_uv, double es_uv, double glute_onset_s, double es_onset_s) const {
    ex::RepScore r;
    r.channels.resize(montage.emg.size());
    r.pelvic_roll_max_deg = 2.0;
    r.pelvic_tilt_min_deg = -1.0;
    for (std::size_t c = 0; c < montage.emg.size(); ++c) {
      ex::ChannelRepScore& cs = r.channels[c];
      const bool glute = montage.emg[c].muscle == Muscle::gluteus_maximus;
      const bool es = montage.emg[c].muscle == Muscle::erector_spinae_lumbar;
      cs.mean_pct = cs.mean_concentric_pct = cs.mean_hold_pct = cs.peak_pct = glute ? glute_uv
                                                                              : es  ? es_uv
                                                                                    : 10.0;
      cs.onset_detected = glute || es;
      cs.onset_s = glute ? glute_onset_s : es ? es_onset_s : glutescope::exercise::kNaN;
    }
    return r;
  }
};

TEST(Verdicts, GoodBridgeRepWorkedByHand) {
  const BridgeRep b;
  ex::RepScore r = b.rep(/*glute*/ 80.0, /*es*/ 30.0, 1.00, 1.05);  // 40 %MVIC vs 15 %MVIC; glute first
  ex::decide_verdicts(b.context(), r);
  EXPECT_EQ(r.verdicts.glute_fired.state, ex::VerdictState::yes);
  EXPECT_DOUBLE_EQ(r.verdicts.glute_fired.value, 40.0);
  EXPECT_EQ(r.verdicts.lumbar_dominant.state, ex::VerdictState::no);
  EXPECT_EQ(r.verdicts.late_glute.state, ex::VerdictState::no);
  EXPECT_NEAR(r.verdicts.late_glute.value, -50.0, 1e-9);  // ms, glute 50 ms before ES
  EXPECT_EQ(r.verdicts.pelvic_compensation.state, ex::VerdictState::no);
  EXPECT_EQ(r.verdicts.tfl_substitution.state, ex::VerdictState::not_available);
  EXPECT_NEAR(r.gmax_to_es.ratio_of_means, 40.0 / 15.0, 1e-12);
  ASSERT_FALSE(r.firing_order.empty());
  EXPECT_EQ(b.montage.emg[r.firing_order.front()].muscle, Muscle::gluteus_maximus);
}

TEST(Verdicts, LumbarDominantLateGluteAndInvalidChannels) {
  const BridgeRep b;
  ex::RepScore r = b.rep(30.0, 60.0, 1.25, 1.00);  // ES twice the glute, glute 250 ms late
  ex::decide_verdicts(b.context(), r);
  EXPECT_EQ(r.verdicts.lumbar_dominant.state, ex::VerdictState::yes);
  EXPECT_EQ(r.verdicts.late_glute.state, ex::VerdictState::yes);
  EXPECT_NEAR(r.verdicts.late_glute.value, 250.0, 1e-9);

  ex::RepScore off = b.rep(80.0, 30.0, 1.0, 1.0);
  const auto es = b.montage.find(Muscle::erector_spinae_lumbar, glutescope::Side::left);
  ASSERT_TRUE(es.has_value());
  off.channels[*es].valid = false;
  off.channels[*es].invalid_reason = "electrode ES_L off";
  ex::decide_verdicts(b.context(), off);
  EXPECT_EQ(off.verdicts.lumbar_dominant.state, ex::VerdictState::invalid);
  EXPECT_EQ(off.verdicts.lumbar_dominant.reason, "electrode ES_L off");
  EXPECT_EQ(off.verdicts.glute_fired.state, ex::VerdictState::yes);  // does not need the ES channel

  ex::VerdictContext no_mvc = b.context();
  no_mvc.normalisation.kind = ex::NormalisationKind::peak_of_set;
  ex::RepScore fallback = b.rep(80.0, 30.0, 1.0, 1.05);
  ex::decide_verdicts(no_mvc, fallback);
  EXPECT_EQ(fallback.verdicts.glute_fired.state, ex::VerdictState::not_available);
  EXPECT_EQ(fallback.verdicts.late_glute.state, ex::VerdictState::no);  // onsets need no normalisation
}

TEST(SetSummary, MediansCountsAndRatiosOverValidReps) {
  const BridgeRep b;
  std::vector<ex::RepScore> reps;
  for (double glute : {60.0, 80.0, 100.0}) {
    reps.push_back(b.rep(glute, 40.0, 1.0, 1.05));
    ex::decide_verdicts(b.context(), reps.back());
  }
  reps[2].valid = false;  // e.g. IMU data lost: left out of the medians, still counted as a rep
  const ex::SetSummary sum = ex::summarise_set(b.montage, reps, true);
  EXPECT_EQ(sum.reps, 3);
  EXPECT_EQ(sum.valid_reps, 2);
  const auto gmax = b.montage.find(Muscle::gluteus_maximus, glutescope::Side::left);
  ASSERT_TRUE(gmax.has_value());
  EXPECT_DOUBLE_EQ(sum.median_mean_pct[*gmax], 35.0);  // median of 30 and 40 %MVIC
  EXPECT_EQ(sum.verdicts[0].yes, 3);                   // glute_fired decided before the rep was invalidated
  EXPECT_NEAR(sum.gmax_to_es.ratio_of_means, 35.0 / 20.0, 1e-12);
  EXPECT_DOUBLE_EQ(sum.gmax_symmetry_pct, 0.0);
  EXPECT_TRUE(std::isnan(ex::summarise_set(b.montage, reps, false).gmax_to_es.ratio_of_means));
}

}  // namespace
