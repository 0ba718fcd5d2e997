// Behaviour on incomplete or damaged input, on simulated sessions with known truth: missing channels,
// lead-off, data gaps, no movement, missing MVC trials; and %MVIC against the simulated activation.
#include <algorithm>
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "exercise/session_analysis.hpp"
#include "simulator/schedule.hpp"
#include "validation/validation.hpp"

namespace ex = glutescope::exercise;
namespace gv = glutescope::validation;
namespace sim = glutescope::sim;
using glutescope::EventKind;
using glutescope::Exercise;
using glutescope::Muscle;
using ::testing::HasSubstr;

namespace {

sim::SimulatedSession simulate(Exercise exercise, sim::Scenario scenario, bool mvc = true, int reps = 5) {
  sim::SimulatorSettings s;
  s.exercise = exercise;
  s.scenario = scenario;
  s.reps = reps;
  s.seed = 7;
  s.snr_db = 30.0;
  s.mvc_trials = mvc;
  return sim::simulate(s);
}

// Removes EMG channels (by muscle) from the montage and the count matrix.
void drop_muscles(ex::SessionData& d, std::initializer_list<Muscle> muscles) {
  const std::size_t channels = d.emg_channels();
  std::vector<std::size_t> keep;
  for (std::size_t c = 0; c < channels; ++c) {
    if (std::find(muscles.begin(), muscles.end(), d.montage.emg[c].muscle) == muscles.end())
      keep.push_back(c);
  }
  std::vector<std::int32_t> counts;
  for (std::size_t n = 0; n < d.emg_samples(); ++n) {
    for (std::size_t c : keep) counts.push_back(d.emg_counts[n * channels + c]);
  }
  std::vector<glutescope::EmgChannel> emg;
  std::vector<glutescope::EmgChannelInfo> info;
  for (std::size_t c : keep) {
    emg.push_back(d.montage.emg[c]);
    info.push_back(d.device.emg[c]);
  }
  d.montage.emg = emg;
  d.device.emg = info;
  d.emg_counts = counts;
}

const ex::SetAnalysis& exercise_set(const ex::SessionAnalysis& a) {
  EXPECT_EQ(a.sets.size(), 1u);
  return a.sets.front();
}

}  // namespace

TEST(ScoringBadInput, MissingHamstringAndTflChannelsAreNotAvailable) {
  const auto session = simulate(Exercise::bridge, sim::Scenario::hamstring_dominant);
  ex::SessionData d = gv::session_data_from_simulation(session);
  drop_muscles(d, {Muscle::biceps_femoris, Muscle::tensor_fasciae_latae});
  // The dropped channels' MVC trials remain as events; they match no channel and are ignored.
  const ex::SessionAnalysis a = ex::analyse_session(d);
  const ex::SetAnalysis& set = exercise_set(a);
  ASSERT_EQ(set.status, ex::SetStatus::ok);
  EXPECT_EQ(set.normalisation.kind, ex::NormalisationKind::mvic);
  ASSERT_EQ(set.reps.size(), 5u);
  for (const ex::RepScore& r : set.reps) {
    EXPECT_EQ(r.verdicts.hamstring_dominance.state, ex::VerdictState::not_available);
    EXPECT_THAT(r.verdicts.hamstring_dominance.reason, HasSubstr("no biceps_femoris electrode"));
    EXPECT_EQ(r.verdicts.tfl_substitution.state, ex::VerdictState::not_available);
    EXPECT_NE(r.verdicts.lumbar_dominant.state, ex::VerdictState::not_available);
    EXPECT_EQ(r.verdicts.glute_fired.state, ex::VerdictState::yes);
  }
  // With the channel present, the same scenario is flagged (the truth: BF 48 vs GMax 20 %MVIC).
  const ex::SessionAnalysis full = ex::analyse_session(gv::session_data_from_simulation(session));
  for (const ex::RepScore& r : exercise_set(full).reps)
    EXPECT_EQ(r.verdicts.hamstring_dominance.state, ex::VerdictState::yes);
}

TEST(ScoringBadInput, LeadOffInvalidatesTheAffectedChannelFromThatRepOn) {
  sim::SimulatorSettings s;
  s.exercise = Exercise::bridge;
  s.reps = 5;
  s.seed = 11;
  s.mvc_trials = true;
  // Lead-off of GMax_L (channel 0) in the middle of the third rep.
  const auto probe = sim::simulate(s);
  const auto& rep2 = probe.truth.schedule.reps[2];
  s.contaminants.lead_off_channel = 0;
  s.contaminants.lead_off_time_s = 0.5 * (rep2.start_s + rep2.end_s);
  const auto session = sim::simulate(s);
  const ex::SessionAnalysis a = ex::analyse_session(gv::session_data_from_simulation(session));
  const ex::SetAnalysis& set = exercise_set(a);
  ASSERT_EQ(set.reps.size(), 5u);
  for (std::size_t k = 0; k < set.reps.size(); ++k) {
    const ex::RepScore& r = set.reps[k];
    if (k < 2) {
      EXPECT_TRUE(r.channels[0].valid) << k;
      EXPECT_EQ(r.verdicts.glute_fired.state, ex::VerdictState::yes) << k;
    } else {
      EXPECT_FALSE(r.channels[0].valid) << k;
      EXPECT_THAT(r.channels[0].invalid_reason, HasSubstr("GMax_L off"));
      EXPECT_EQ(r.verdicts.glute_fired.state, ex::VerdictState::invalid) << k;
      EXPECT_THAT(r.summary, HasSubstr("not scored"));
      EXPECT_TRUE(r.channels[1].valid);  // the other side is unaffected
      EXPECT_TRUE(std::isnan(r.channels[0].mean_pct));
    }
  }
}

TEST(ScoringBadInput, EmgGapInsideARepInvalidatesOnlyThatRep) {
  const auto session = simulate(Exercise::clamshell, sim::Scenario::good);
  ex::SessionData d = gv::session_data_from_simulation(session);
  const auto& rep1 = session.truth.schedule.reps[1];
  const double rate = d.device.emg_rate_hz;
  glutescope::Gap gap;
  gap.stream = glutescope::StreamKind::emg;
  gap.start_sample = static_cast<std::uint64_t>((rep1.start_s + 0.5) * rate);
  gap.count = static_cast<std::uint64_t>(0.2 * rate);
  d.gaps.push_back(gap);
  const ex::SessionAnalysis a = ex::analyse_session(d);
  const ex::SetAnalysis& set = exercise_set(a);
  ASSERT_EQ(set.reps.size(), 5u);
  for (std::size_t k = 0; k < set.reps.size(); ++k) {
    for (const auto& ch : set.reps[k].channels) {
      EXPECT_EQ(ch.valid, k != 1) << k;
      if (k == 1) {
        EXPECT_THAT(ch.invalid_reason, HasSubstr("EMG data lost"));
      }
    }
  }
}

TEST(ScoringBadInput, SetWithoutMovementSaysSo) {
  const auto session = simulate(Exercise::bridge, sim::Scenario::good);
  ex::SessionData d = gv::session_data_from_simulation(session);
  // Replace every IMU sample by the first one: the subject lies still throughout.
  for (ex::ImuStream& s : d.imu) {
    for (std::size_t n = 1; n < s.samples(); ++n) {
      for (int k = 0; k < 3; ++k) {
        s.accel[3 * n + k] = s.accel[k];
        s.gyro[3 * n + k] = s.gyro[k];
      }
    }
  }
  const ex::SessionAnalysis a = ex::analyse_session(d);
  const ex::SetAnalysis& set = exercise_set(a);
  EXPECT_EQ(set.status, ex::SetStatus::no_movement);
  EXPECT_THAT(set.status_message, HasSubstr("no repetition detected"));
  EXPECT_TRUE(set.reps.empty());
  EXPECT_EQ(a.reps, 0);
}

TEST(ScoringBadInput, WithoutMvcTrialsAmplitudeVerdictsAreNotAvailable) {
  const auto session = simulate(Exercise::bridge, sim::Scenario::lumbar_dominant, /*mvc=*/false);
  const ex::SessionAnalysis a = ex::analyse_session(gv::session_data_from_simulation(session));
  const ex::SetAnalysis& set = exercise_set(a);
  EXPECT_EQ(set.normalisation.kind, ex::NormalisationKind::peak_of_set);
  EXPECT_THAT(set.normalisation.note, HasSubstr("CEDE approach 4"));
  for (const ex::RepScore& r : set.reps) {
    EXPECT_EQ(r.verdicts.lumbar_dominant.state, ex::VerdictState::not_available);
    EXPECT_THAT(r.verdicts.lumbar_dominant.reason, HasSubstr("needs MVC"));
    EXPECT_EQ(r.verdicts.glute_fired.state, ex::VerdictState::not_available);
    EXPECT_TRUE(std::isnan(r.gmax_to_es.ratio_of_means));
    EXPECT_NE(r.verdicts.late_glute.state, ex::VerdictState::not_available);  // timing needs no MVC
    // Peak-of-set: no rep's peak exceeds 100 % of the set's peak.
    for (const auto& ch : r.channels) EXPECT_LE(ch.peak_pct, 100.0 + 1e-9);
  }
}

TEST(ScoringBadInput, OneMissingMvcTrialFallsBackForAllChannels) {
  const auto session = simulate(Exercise::bridge, sim::Scenario::good);
  ex::SessionData d = gv::session_data_from_simulation(session);
  std::erase_if(d.events, [](const glutescope::Event& e) {
    return e.exercise == Exercise::mvc && e.muscle == Muscle::tensor_fasciae_latae;
  });
  const ex::SessionAnalysis a = ex::analyse_session(d);
  const ex::SetAnalysis& set = exercise_set(a);
  EXPECT_EQ(set.normalisation.kind, ex::NormalisationKind::peak_of_set);
  EXPECT_THAT(set.normalisation.note, HasSubstr("TFL_L"));
}

TEST(ScoringAmplitude, PercentMvicMatchesSimulatedActivation) {
  const auto session = simulate(Exercise::bridge, sim::Scenario::good);
  const ex::SessionAnalysis a = ex::analyse_session(gv::session_data_from_simulation(session));
  const ex::SetAnalysis& set = exercise_set(a);
  const auto& truth = session.truth.schedule;
  ASSERT_EQ(set.reps.size(), truth.reps.size());
  for (std::size_t k = 0; k < set.reps.size(); ++k) {
    const ex::RepScore& r = set.reps[k];
    for (std::size_t c = 0; c < r.channels.size(); ++c) {
      // Truth: mean activation (fraction of MVIC RMS) over the detected concentric + hold window.
      std::size_t cursor = 0;
      double sum = 0.0;
      int n = 0;
      for (double t = r.start_s; t < r.hold_end_s; t += 0.001, ++n)
        sum += sim::activation_at(truth.activation[c], t, cursor);
      const double expected_pct = 100.0 * sum / n;
      EXPECT_NEAR(r.channels[c].mean_pct, expected_pct, 0.12 * expected_pct + 1.0)
          << "rep " << k << " channel " << c;
    }
  }
}

TEST(ScoringBadInput, InconsistentDataIsAClearError) {
  ex::SessionData d;
  EXPECT_THROW((void)ex::analyse_session(d), std::invalid_argument);
  d.montage = glutescope::default_montage();
  d.device.emg_rate_hz = 2000.0;
  d.emg_counts.assign(8 * 100 + 3, 0);
  try {
    (void)ex::analyse_session(d);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_THAT(e.what(), HasSubstr("whole number of rows"));
  }
}
