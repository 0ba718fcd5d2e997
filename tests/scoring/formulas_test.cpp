// Each scoring formula against a value computed by hand (docs/SCORING.md).
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "exercise/normalisation.hpp"
#include "exercise/rep_scores.hpp"

namespace ex = glutescope::exercise;
using glutescope::Montage;
using glutescope::Muscle;
using glutescope::Side;

TEST(ScoringFormulas, PercentOfReference) {
  EXPECT_DOUBLE_EQ(ex::percent_of_reference(30.0, 120.0), 25.0);
  EXPECT_TRUE(std::isnan(ex::percent_of_reference(30.0, 0.0)));
  EXPECT_TRUE(std::isnan(ex::percent_of_reference(NAN, 10.0)));
}

TEST(ScoringFormulas, SymmetryIndexRobinson1987) {
  // R = 60, L = 40: 100 * 20 / 50 = 40 %.
  EXPECT_DOUBLE_EQ(ex::symmetry_index_pct(40.0, 60.0), 40.0);
  EXPECT_DOUBLE_EQ(ex::symmetry_index_pct(60.0, 40.0), -40.0);
  EXPECT_DOUBLE_EQ(ex::symmetry_index_pct(50.0, 50.0), 0.0);
  EXPECT_TRUE(std::isnan(ex::symmetry_index_pct(0.0, 0.0)));
}

TEST(ScoringFormulas, TrendPercentPerRep) {
  // y = 100 - 2 i: fitted first value 100, slope -2 -> -2 % per rep.
  const std::vector<double> y{100, 98, 96, 94, 92};
  EXPECT_NEAR(ex::trend_pct_per_rep(y), -2.0, 1e-12);
  // Non-finite reps are skipped: the fit uses i = 0, 2, 3 of y = 50 + 5 i -> 10 % per rep.
  const std::vector<double> z{50, NAN, 60, 65};
  EXPECT_NEAR(ex::trend_pct_per_rep(z), 10.0, 1e-12);
  EXPECT_TRUE(std::isnan(ex::trend_pct_per_rep(std::vector<double>{1.0, 2.0})));
}

TEST(ScoringFormulas, RatioOfMeansVersusMeanOfRatios) {
  const std::vector<double> glute{40, 20}, es{10, 20};
  // ratio of means = 60 / 30 = 2; mean of ratios = (4 + 1) / 2 = 2.5.
  EXPECT_DOUBLE_EQ(ex::ratio_of_means(glute, es), 2.0);
  EXPECT_DOUBLE_EQ(ex::mean_of_ratios(glute, es), 2.5);
  const ex::SideRatios r = ex::side_ratios({40.0, 20.0}, {10.0, NAN});
  EXPECT_DOUBLE_EQ(r.per_side[0], 4.0);
  EXPECT_TRUE(std::isnan(r.per_side[1]));
  EXPECT_DOUBLE_EQ(r.ratio_of_means, 4.0);
}

TEST(ScoringFormulas, MedianFinite) {
  EXPECT_DOUBLE_EQ(ex::median_finite(std::vector<double>{3, NAN, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(ex::median_finite(std::vector<double>{4, 1, 2, 3}), 2.5);
  EXPECT_TRUE(std::isnan(ex::median_finite(std::vector<double>{NAN})));
}

TEST(ScoringVerdicts, RatioAndLateOnsetThresholds) {
  EXPECT_EQ(ex::ratio_verdict(30.0, 30.0, 1.0).state, ex::VerdictState::yes);  // at threshold: yes
  EXPECT_EQ(ex::ratio_verdict(29.0, 30.0, 1.0).state, ex::VerdictState::no);
  EXPECT_EQ(ex::ratio_verdict(29.0, 0.0, 1.0).state, ex::VerdictState::not_available);
  const ex::Verdict late = ex::late_onset_verdict(1.250, 1.100, 100.0);
  EXPECT_EQ(late.state, ex::VerdictState::yes);
  EXPECT_NEAR(late.value, 150.0, 1e-9);
  EXPECT_EQ(ex::late_onset_verdict(1.150, 1.100, 100.0).state, ex::VerdictState::no);
  EXPECT_EQ(ex::late_onset_verdict(NAN, 1.1, 100.0).state, ex::VerdictState::not_available);
  EXPECT_EQ(ex::late_onset_verdict(1.2, NAN, 100.0).state, ex::VerdictState::no);
}

TEST(ScoringVerdicts, PlainLanguageLine) {
  ex::RepScore rep;
  rep.verdicts.glute_fired.state = ex::VerdictState::yes;
  rep.verdicts.lumbar_dominant.state = ex::VerdictState::no;
  rep.verdicts.late_glute.state = ex::VerdictState::no;
  rep.verdicts.late_glute.value = -80.0;
  EXPECT_EQ(ex::plain_language_summary(rep), "glutes fired first, back quiet");
  rep.verdicts.lumbar_dominant.state = ex::VerdictState::yes;
  EXPECT_EQ(ex::plain_language_summary(rep), "back did the work");
  rep.verdicts.glute_fired.state = ex::VerdictState::no;
  EXPECT_EQ(ex::plain_language_summary(rep), "glutes did not fire, back did the work");
  rep.partial = true;
  rep.verdicts.pelvic_compensation.state = ex::VerdictState::yes;
  EXPECT_EQ(ex::plain_language_summary(rep),
            "glutes did not fire, back did the work; pelvis rolled (partial rep)");
}

TEST(Normalisation, MovingAverageAndPeak) {
  const std::vector<double> x{0, 0, 3, 3, 3, 0, 0};
  const auto m = ex::moving_average_centered(x, 3);
  // Centred window of 3: m[1] = (0+0+3)/3 = 1, m[3] = 3, edges average only the samples inside.
  EXPECT_DOUBLE_EQ(m[1], 1.0);
  EXPECT_DOUBLE_EQ(m[3], 3.0);
  EXPECT_DOUBLE_EQ(m[0], 0.0);
  EXPECT_DOUBLE_EQ(ex::peak_amplitude(m, 0, 7), 3.0);
  EXPECT_DOUBLE_EQ(ex::peak_amplitude(m, 0, 2), 1.0);
}

namespace {
Montage two_channel_montage() {
  Montage m;
  m.emg = {{"GMax_L", Muscle::gluteus_maximus, Side::left, "", 1.0, 1.0},
           {"ES_L", Muscle::erector_spinae_lumbar, Side::left, "", 1.0, 1.0}};
  return m;
}
}  // namespace

TEST(Normalisation, MvcReferencePerMuscleAndCommonFallback) {
  const Montage m = two_channel_montage();
  // Smoothed envelopes: the GMax trial peaks at 200 in [0, 4); ES's trial peaks at 100 in [4, 8); the set
  // [8, 12) peaks at 50 (GMax) and 80 (ES).
  const std::vector<std::vector<double>> env{{10, 200, 150, 10, 30, 40, 30, 10, 20, 50, 40, 10},
                                             {5, 20, 20, 5, 60, 100, 90, 5, 30, 80, 70, 5}};
  const std::vector<ex::MvcTrial> trials{{Muscle::gluteus_maximus, Side::midline, 0, 4},
                                         {Muscle::erector_spinae_lumbar, Side::midline, 4, 8}};
  const auto ref = ex::mvc_references(m, env, trials);
  EXPECT_DOUBLE_EQ(ref[0], 200.0);
  EXPECT_DOUBLE_EQ(ref[1], 100.0);
  const ex::Normalisation n = ex::choose_normalisation(m, ref, env, 8, 12);
  EXPECT_EQ(n.kind, ex::NormalisationKind::mvic);
  EXPECT_DOUBLE_EQ(n.reference_uv[0], 200.0);

  // Only GMax has a trial: both channels fall back to the set's peak, and the note names ES_L.
  const std::vector<ex::MvcTrial> one{{Muscle::gluteus_maximus, Side::midline, 0, 4}};
  const auto ref1 = ex::mvc_references(m, env, one);
  EXPECT_TRUE(std::isnan(ref1[1]));
  const ex::Normalisation f = ex::choose_normalisation(m, ref1, env, 8, 12);
  EXPECT_EQ(f.kind, ex::NormalisationKind::peak_of_set);
  EXPECT_DOUBLE_EQ(f.reference_uv[0], 50.0);
  EXPECT_DOUBLE_EQ(f.reference_uv[1], 80.0);
  EXPECT_NE(f.note.find("ES_L"), std::string::npos);
}

TEST(Normalisation, SidedTrialAppliesToItsSideOnly) {
  Montage m;
  m.emg = {{"GMed_L", Muscle::gluteus_medius, Side::left, "", 1, 1},
           {"GMed_R", Muscle::gluteus_medius, Side::right, "", 1, 1}};
  const std::vector<std::vector<double>> env{{1, 9, 1, 1}, {1, 7, 1, 1}};
  const std::vector<ex::MvcTrial> trials{{Muscle::gluteus_medius, Side::right, 0, 4}};
  const auto ref = ex::mvc_references(m, env, trials);
  EXPECT_TRUE(std::isnan(ref[0]));
  EXPECT_DOUBLE_EQ(ref[1], 7.0);
}
