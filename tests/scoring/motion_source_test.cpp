// Issue 13: repetitions from every motion source (6-axis IMU, accelerometer only, angle channel, repetition
// events, EMG without motion) against the simulator's truth, and what each source cannot support.
#include <cmath>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "exercise/session_analysis.hpp"
#include "validation/validation.hpp"

namespace ex = glutescope::exercise;
namespace val = glutescope::validation;
namespace sim = glutescope::sim;
using ex::MotionSource;
using glutescope::Exercise;

namespace {

val::ValidationReport source_grid() {
  val::ValidationSettings vs;
  vs.seeds = {201};
  vs.snr_db = {20.0};
  vs.contaminants = {false};
  vs.conditions = {val::Condition::standard};
  vs.motion_sources = {MotionSource::imu, MotionSource::accelerometer, MotionSource::angle,
                       MotionSource::events, MotionSource::emg};
  vs.reps = 5;
  vs.jobs = 2;
  return val::run_validation(vs);
}

sim::SimulatedSession simulate(Exercise exercise, sim::Scenario scenario) {
  sim::SimulatorSettings ss;
  ss.exercise = exercise;
  ss.scenario = scenario;
  ss.seed = 211;
  ss.snr_db = 25.0;
  ss.reps = 5;
  return sim::simulate(ss);
}

const ex::SetAnalysis& only_set(const ex::SessionAnalysis& a) {
  EXPECT_EQ(a.sets.size(), 1u);
  return a.sets.front();
}

}  // namespace

TEST(MotionSources, EachSourceFindsTheTrueRepsAndTheVerdictsItCanSupport) {
  const val::ValidationReport report = source_grid();
  ASSERT_EQ(report.runs.size(), 12u * 5u);  // scenarios x sources
  for (MotionSource m : report.settings.motion_sources) {
    SCOPED_TRACE(std::string(ex::to_string(m)));
    const val::Aggregate a = val::aggregate_if(report.runs, 0.0, 1e9, -1, -1, "", -1, static_cast<int>(m));
    // errors also counts a run whose set was segmented from another source than the one left in the session.
    EXPECT_EQ(a.errors, 0);
    EXPECT_GE(a.rep_f1, 0.98);
    for (int scenario = 0; scenario <= 6; ++scenario) {
      const auto sc = static_cast<sim::Scenario>(scenario);
      // Without a pelvic sensor the pelvic verdict is not available; without movement onset (EMG) the timing
      // verdict is not either: those scenarios are checked in the tests below, not scored here.
      const bool no_pelvis = m == MotionSource::events || m == MotionSource::emg;
      if ((no_pelvis && sc == sim::Scenario::pelvic_roll) ||
          (m == MotionSource::emg && sc == sim::Scenario::late_glute))
        continue;
      const val::Aggregate s =
          val::aggregate_if(report.runs, 0.0, 1e9, -1, scenario, "", -1, static_cast<int>(m));
      if (s.runs == 0) continue;
      EXPECT_GE(s.verdict_accuracy, 0.95) << sim::to_string(sc);
    }
  }
  // The angle sources follow the true driving angle (accelerometer: inclination from gravity alone).
  const auto rmse = [&](MotionSource m) {
    return val::aggregate_if(report.runs, 0.0, 1e9, 0, -1, "", -1, static_cast<int>(m)).angle_rmse_deg;
  };
  EXPECT_LT(rmse(MotionSource::imu), 1.0);
  EXPECT_LT(rmse(MotionSource::accelerometer), 1.5);
  EXPECT_LT(rmse(MotionSource::angle), 1.5);  // bridge: hip extension channel = truth + 0.5 deg noise
}

TEST(MotionSources, EmgOnlyIsLabelledAndHasNoMovementTiming) {
  const sim::SimulatedSession session = simulate(Exercise::bridge, sim::Scenario::late_glute);
  const ex::SessionAnalysis a =
      ex::analyse_session(val::session_data_with_motion(session, MotionSource::emg, 1));
  const ex::SetAnalysis& set = only_set(a);
  EXPECT_EQ(set.motion_source, MotionSource::emg);
  EXPECT_NE(set.motion_detail.find("GMax"), std::string::npos) << set.motion_detail;
  ASSERT_EQ(set.reps.size(), session.truth.schedule.reps.size());
  for (const ex::RepScore& rep : set.reps) {
    EXPECT_EQ(rep.verdicts.late_glute.state, ex::VerdictState::not_available);
    EXPECT_NE(rep.verdicts.late_glute.reason.find("EMG without motion"), std::string::npos);
    for (const ex::ChannelRepScore& cs : rep.channels) EXPECT_TRUE(std::isnan(cs.onset_rel_ms));
  }
  const nlohmann::json j = ex::to_json(a, session.montage);
  EXPECT_EQ(j["sets"][0]["motion_source"], "emg");
}

TEST(MotionSources, AnAngleChannelDrivesAnOtherExerciseWithoutGluteVerdicts) {
  // A bridge recorded as "other:hip_extension" with only a hip-extension goniometer: the reps are found from
  // the channel named by the exercise, and the glute verdicts (bridge and clamshell only) are not available.
  const sim::SimulatedSession session = simulate(Exercise::bridge, sim::Scenario::good);
  ex::SessionData d = val::session_data_with_motion(session, MotionSource::angle, 2);
  for (glutescope::Event& e : d.events) {
    if (e.exercise == Exercise::bridge) e.exercise = Exercise::other, e.text = "hip_extension";
  }
  const ex::SessionAnalysis a = ex::analyse_session(d);
  const ex::SetAnalysis& set = only_set(a);
  EXPECT_EQ(set.exercise_name, "other:hip_extension");
  EXPECT_EQ(set.motion_source, MotionSource::angle);
  EXPECT_EQ(set.reps.size(), session.truth.schedule.reps.size());
  for (std::size_t k = 0; k < set.reps.size() && k < session.truth.schedule.reps.size(); ++k) {
    const auto& truth = session.truth.schedule.reps[k];
    EXPECT_LT(std::abs(set.reps[k].end_s - truth.end_s), 1.0) << k;
    EXPECT_EQ(set.reps[k].verdicts.glute_fired.state, ex::VerdictState::not_available);
    EXPECT_FALSE(set.reps[k].firing_order.empty()) << "onsets and firing order are still scored";
  }
  // A flexion channel of the same joint is used negated; an unrelated joint is not used.
  for (glutescope::AngleChannel& c : d.angles) {
    if (c.joint == glutescope::Joint::hip) {
      c.motion = glutescope::JointMotion::flexion;
      for (double& v : c.deg) v = -v;
    }
  }
  EXPECT_EQ(only_set(ex::analyse_session(d)).reps.size(), session.truth.schedule.reps.size());
  for (glutescope::AngleChannel& c : d.angles) c.joint = glutescope::Joint::knee;
  EXPECT_EQ(only_set(ex::analyse_session(d)).motion_source, MotionSource::emg);
  // Without motion, the channels whose montage role is "target" make the bursts (else every channel).
  d.montage.emg[0].role = "target";
  const ex::SessionAnalysis by_role = ex::analyse_session(d);
  EXPECT_EQ(only_set(by_role).motion_detail, "bursts of " + d.montage.emg[0].label);
  EXPECT_EQ(ex::to_json(by_role, d.montage)["channel_roles"][d.montage.emg[0].label], "target");
}
