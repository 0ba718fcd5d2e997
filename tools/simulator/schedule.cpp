#include "simulator/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "simulator/random.hpp"

namespace glutescope::sim {
namespace {

// Activation pattern of one muscle in a scenario: concentric level (%MVIC) and timing relative to the
// movement. Levels follow the ranges in the project's research notes (emg-and-scoring.md §3.1; e.g.
// double-leg bridge GMed 28, GMax 25 %MVIC, Ekstrom 2007; single-leg 40-55; clam GMed 38-67, GMax 34-53,
// gluteals > TFL, Selkowitz 2013); compensation patterns exaggerate ES / BF / TFL as the scenario names say.
struct MusclePattern {
  double level_pct = 0.0;  // concentric activation, %MVIC
  double onset_ms = 0.0;   // onset relative to movement onset (negative = before)
  double offset_ms = 0.0;  // offset relative to the end of the eccentric phase
};

constexpr std::size_t kMuscles = 5;  // gluteus_maximus .. tensor_fasciae_latae (Muscle values 0..4)

struct ScenarioPattern {
  std::array<MusclePattern, kMuscles> muscle{};  // indexed by Muscle value
  bool glute_after_es = false;  // late-glute: glute onset = ES onset + U(150, 300) ms per rep
  Pose start;                   // start pose (deg)
  Pose top;                     // full-range top pose (deg)
  double pelvis_jitter = 0.05;  // per-rep relative jitter of the pelvis excursion
};

// Phase factors of the activation: hold and eccentric levels relative to the concentric level
// (concentric > isometric hold > eccentric for the same load).
constexpr double kHoldFactor = 0.85;
constexpr double kEccentricFactor = 0.6;
// Clamshell, bottom (right) leg: its gluteals only stabilise.
constexpr double kClamBottomGluteFactor = 0.25;
// MVC trials: co-activation of the muscles that are not the target.
constexpr double kMvcCoactivation = 0.08;
constexpr double kMvcRampS = 0.5;

ScenarioPattern pattern_for(Exercise exercise, Scenario scenario) {
  ScenarioPattern p;
  auto set = [&p](Muscle m, double level, double onset, double offset) {
    p.muscle[static_cast<std::size_t>(m)] = {level, onset, offset};
  };
  using M = Muscle;
  if (exercise == Exercise::bridge) {
    // Hook-lying: hip 45 deg flexion; top: hips up until hip extension ~0 (thigh in line with the trunk).
    p.start = {0.0, 45.0, 45.0};
    p.top = {22.0, 20.0, 20.0};
    switch (scenario) {
      case Scenario::good:
      case Scenario::partial_reps:
        set(M::gluteus_maximus, 40, -60, -40);
        set(M::gluteus_medius, 28, -40, -30);
        set(M::erector_spinae_lumbar, 15, 60, 30);
        set(M::biceps_femoris, 20, 20, 0);
        set(M::tensor_fasciae_latae, 12, 40, 0);
        break;
      case Scenario::lumbar_dominant:
        // Lumbar extension lifts the hips: anterior pelvic tilt, hip stays flexed (Kang 2016, Ishida 2011).
        set(M::gluteus_maximus, 22, 20, -20);
        set(M::gluteus_medius, 18, 30, -20);
        set(M::erector_spinae_lumbar, 42, -60, 60);
        set(M::biceps_femoris, 25, 0, 0);
        set(M::tensor_fasciae_latae, 15, 40, 0);
        p.top = {13.0, 21.0, 21.0};
        break;
      case Scenario::late_glute:
        set(M::gluteus_maximus, 36, 0, -30);  // onset replaced by ES onset + 150..300 ms
        set(M::gluteus_medius, 26, 0, -30);
        set(M::erector_spinae_lumbar, 25, -60, 40);
        set(M::biceps_femoris, 22, -20, 0);
        set(M::tensor_fasciae_latae, 12, 40, 0);
        p.glute_after_es = true;
        p.top = {21.0, 20.0, 20.0};
        break;
      case Scenario::silent_glute:
        set(M::gluteus_maximus, 3, 0, -20);
        set(M::gluteus_medius, 3, 10, -20);
        set(M::erector_spinae_lumbar, 35, -40, 50);
        set(M::biceps_femoris, 35, -20, 0);
        set(M::tensor_fasciae_latae, 20, 30, 0);
        p.top = {15.0, 22.0, 22.0};
        break;
      case Scenario::hamstring_dominant:
        set(M::gluteus_maximus, 20, 40, -20);
        set(M::gluteus_medius, 16, 50, -20);
        set(M::erector_spinae_lumbar, 20, -20, 30);
        set(M::biceps_femoris, 48, -60, 20);
        set(M::tensor_fasciae_latae, 15, 40, 0);
        p.top = {18.0, 20.0, 20.0};
        break;
      case Scenario::pelvic_roll:
        break;  // rejected by validate()
    }
  } else {
    // Side-lying on the right side, hips 45 deg and knees 90 deg flexed; the top (left) knee opens.
    p.start = {0.0, 0.0, 0.0};
    p.top = {2.0, 35.0, 0.0};
    switch (scenario) {
      case Scenario::good:
      case Scenario::partial_reps:
        set(M::gluteus_medius, 40, -50, -30);
        set(M::gluteus_maximus, 35, -30, -30);
        set(M::tensor_fasciae_latae, 15, 30, 0);
        set(M::erector_spinae_lumbar, 8, 60, 20);
        set(M::biceps_femoris, 6, 60, 0);
        break;
      case Scenario::lumbar_dominant:
        set(M::gluteus_medius, 20, 20, -20);
        set(M::gluteus_maximus, 18, 30, -20);
        set(M::tensor_fasciae_latae, 20, 0, 0);
        set(M::erector_spinae_lumbar, 30, -50, 50);
        set(M::biceps_femoris, 8, 40, 0);
        p.top = {6.0, 32.0, 0.0};
        break;
      case Scenario::late_glute:
        set(M::gluteus_medius, 36, 0, -30);
        set(M::gluteus_maximus, 32, 0, -30);
        set(M::tensor_fasciae_latae, 18, -30, 0);
        set(M::erector_spinae_lumbar, 20, -50, 30);
        set(M::biceps_femoris, 6, 40, 0);
        p.glute_after_es = true;
        p.top = {3.0, 34.0, 0.0};
        break;
      case Scenario::silent_glute:
        set(M::gluteus_medius, 3, 0, -20);
        set(M::gluteus_maximus, 3, 10, -20);
        set(M::tensor_fasciae_latae, 35, -50, 20);
        set(M::erector_spinae_lumbar, 20, -30, 30);
        set(M::biceps_femoris, 8, 40, 0);
        p.top = {5.0, 25.0, 0.0};
        break;
      case Scenario::pelvic_roll:
        // The trunk rolls back to fake the opening: less gluteal work, more TFL and trunk.
        set(M::gluteus_medius, 22, -20, -20);
        set(M::gluteus_maximus, 20, 0, -20);
        set(M::tensor_fasciae_latae, 30, -30, 0);
        set(M::erector_spinae_lumbar, 25, -40, 30);
        set(M::biceps_femoris, 8, 40, 0);
        p.top = {15.0, 38.0, 0.0};
        p.pelvis_jitter = 0.2;  // 12-18 deg
        break;
      case Scenario::hamstring_dominant:
        break;  // rejected by validate()
    }
  }
  return p;
}

bool is_glute(Muscle m) { return m == Muscle::gluteus_maximus || m == Muscle::gluteus_medius; }

double jittered(RandomStream& rng, double nominal, double fraction) {
  return nominal * rng.uniform(1.0 - fraction, 1.0 + fraction);
}

Pose interpolate(const Pose& a, const Pose& b, double f) {
  return {a.pelvis_deg + f * (b.pelvis_deg - a.pelvis_deg),
          a.thigh_left_deg + f * (b.thigh_left_deg - a.thigh_left_deg),
          a.thigh_right_deg + f * (b.thigh_right_deg - a.thigh_right_deg)};
}

void push_knot(std::vector<ActivationKnot>& knots, double t, double level) {
  // Keep knots strictly increasing in time even for extreme jitter.
  if (!knots.empty() && t <= knots.back().time_s) t = knots.back().time_s + 1e-3;
  knots.push_back({t, level});
}

}  // namespace

Schedule make_schedule(const SimulatorSettings& settings, const Montage& montage) {
  const std::size_t channels = montage.emg.size();
  const ScenarioPattern pattern = pattern_for(settings.exercise, settings.scenario);
  RandomStream rng(settings.seed, stream_id::schedule);

  Schedule s;
  s.activation.resize(channels);
  double t = settings.initial_still_s;
  s.motion.push_back({0.0, pattern.start});

  auto marker = [&](double time, EventKind kind, Exercise exercise, Muscle muscle) {
    Event e;
    e.time_s = time;
    e.kind = kind;
    e.exercise = exercise;
    e.muscle = muscle;
    e.side = muscle == Muscle::other ? Side::unknown : Side::midline;  // MVC: both sides at once
    s.markers.push_back(e);
  };

  if (settings.mvc_trials) {
    for (std::size_t m = 0; m < kMuscles; ++m) {
      const auto muscle = static_cast<Muscle>(m);
      bool present = false;
      for (const auto& ch : montage.emg) present = present || ch.muscle == muscle;
      if (!present) continue;
      MvcTrialPlan trial;
      trial.muscle = muscle;
      trial.start_s = t;
      trial.plateau_start_s = t + kMvcRampS;
      trial.stop_s = t + settings.mvc_contraction_s;
      trial.plateau_end_s = trial.stop_s - kMvcRampS;
      for (std::size_t c = 0; c < channels; ++c) {
        const double level = montage.emg[c].muscle == muscle ? 1.0 : kMvcCoactivation;
        auto& knots = s.activation[c];
        push_knot(knots, trial.start_s, 0.0);
        push_knot(knots, trial.plateau_start_s, level);
        push_knot(knots, trial.plateau_end_s, level);
        push_knot(knots, trial.stop_s, 0.0);
      }
      marker(trial.start_s, EventKind::set_start, Exercise::mvc, muscle);
      marker(trial.stop_s, EventKind::set_stop, Exercise::mvc, muscle);
      s.mvc_trials.push_back(trial);
      t = trial.stop_s + settings.mvc_rest_s;
    }
  }

  s.set_start_s = t;
  marker(t, EventKind::set_start, settings.exercise, Muscle::other);
  t += settings.lead_in_s;

  const Tempo& tempo = settings.tempo;
  for (int r = 0; r < settings.reps; ++r) {
    RepPlan rep;
    rep.index = r;
    rep.start_s = t;
    rep.concentric_end_s = rep.start_s + jittered(rng, tempo.concentric_s, tempo.jitter_fraction);
    rep.hold_end_s = rep.concentric_end_s + jittered(rng, tempo.hold_s, tempo.jitter_fraction);
    rep.end_s = rep.hold_end_s + jittered(rng, tempo.eccentric_s, tempo.jitter_fraction);
    rep.rest_end_s = rep.end_s + jittered(rng, tempo.rest_s, tempo.jitter_fraction);
    rep.partial = settings.scenario == Scenario::partial_reps && (r + 1) % 3 == 0;
    rep.peak_fraction = rep.partial ? rng.uniform(0.40, 0.55) : 1.0;

    // Range of motion: pelvis and thighs vary independently by a few percent per rep; the two thighs of
    // a bridge differ by up to 1 deg.
    Pose top = pattern.top;
    top.pelvis_deg = pattern.start.pelvis_deg +
                     jittered(rng, pattern.top.pelvis_deg - pattern.start.pelvis_deg, pattern.pelvis_jitter);
    top.thigh_left_deg = pattern.start.thigh_left_deg +
                         jittered(rng, pattern.top.thigh_left_deg - pattern.start.thigh_left_deg, 0.05);
    if (settings.exercise == Exercise::bridge) {
      top.thigh_right_deg = top.thigh_left_deg + rng.uniform(-1.0, 1.0);
    }
    rep.start_pose = pattern.start;
    rep.peak_pose = interpolate(pattern.start, top, rep.peak_fraction);
    s.motion.push_back({rep.start_s, rep.start_pose});
    s.motion.push_back({rep.concentric_end_s, rep.peak_pose});
    s.motion.push_back({rep.hold_end_s, rep.peak_pose});
    s.motion.push_back({rep.end_s, rep.start_pose});

    // Muscle activity: draw per-muscle timing first so that bilateral channels share the onset of their
    // muscle within a few ms (one motor command), then per-channel level and ramps.
    std::array<double, kMuscles> muscle_onset{};
    std::array<double, kMuscles> muscle_offset{};
    for (std::size_t m = 0; m < kMuscles; ++m) {
      muscle_onset[m] = rep.start_s + (pattern.muscle[m].onset_ms + rng.uniform(-20.0, 20.0)) / 1000.0;
      muscle_offset[m] = rep.end_s + (pattern.muscle[m].offset_ms + rng.uniform(-30.0, 30.0)) / 1000.0;
    }
    if (pattern.glute_after_es) {
      const double es_onset = muscle_onset[static_cast<std::size_t>(Muscle::erector_spinae_lumbar)];
      const double delay_s = rng.uniform(0.150, 0.300);
      muscle_onset[static_cast<std::size_t>(Muscle::gluteus_maximus)] = es_onset + delay_s;
      muscle_onset[static_cast<std::size_t>(Muscle::gluteus_medius)] =
          es_onset + delay_s + rng.uniform(0.0, 0.03);
    }

    rep.onset_s.assign(channels, std::numeric_limits<double>::quiet_NaN());
    rep.offset_s.assign(channels, std::numeric_limits<double>::quiet_NaN());
    rep.level_mvic.assign(channels, 0.0);
    for (std::size_t c = 0; c < channels; ++c) {
      const EmgChannel& ch = montage.emg[c];
      const auto m = static_cast<std::size_t>(ch.muscle);
      // Draw every channel's numbers even when unused, so the sequence does not depend on the montage.
      const double level_jitter = rng.uniform(0.9, 1.1);
      const double side_jitter_s = rng.uniform(-0.005, 0.005);
      const double ramp_up_s = rng.uniform(0.050, 0.100);
      const double ramp_down_s = rng.uniform(0.080, 0.150);
      if (m >= kMuscles) continue;
      double level = pattern.muscle[m].level_pct / 100.0 * level_jitter;
      if (settings.exercise == Exercise::clamshell && ch.side == Side::right && is_glute(ch.muscle)) {
        level *= kClamBottomGluteFactor;
      }
      if (is_glute(ch.muscle)) level *= settings.glute_activation_scale;
      if (rep.partial) level *= 0.6;
      if (level <= 0.0) continue;
      const double on = muscle_onset[m] + side_jitter_s;
      const double off = muscle_offset[m] + side_jitter_s;
      auto& knots = s.activation[c];
      push_knot(knots, on, 0.0);
      push_knot(knots, on + ramp_up_s, level);
      push_knot(knots, rep.concentric_end_s - 0.05, level);
      push_knot(knots, rep.concentric_end_s + 0.05, level * kHoldFactor);
      push_knot(knots, rep.hold_end_s - 0.05, level * kHoldFactor);
      push_knot(knots, rep.hold_end_s + 0.05, level * kEccentricFactor);
      push_knot(knots, off - ramp_down_s, level * kEccentricFactor);
      push_knot(knots, off, 0.0);
      rep.onset_s[c] = knots[knots.size() - 8].time_s;
      rep.offset_s[c] = knots.back().time_s;
      rep.level_mvic[c] = level;
      // With a tonic background (render_emg: at least tonic_fraction x the level from the first rep on), a
      // later rep's activation leaves its background where the raised-cosine ramp crosses that fraction,
      // (1 - cos(pi u)) / 2 = f: that is the onset to detect, not the ramp's start under the background.
      if (r > 0 && settings.tonic_fraction > 0.0) {
        rep.onset_s[c] += ramp_up_s * std::acos(1.0 - 2.0 * settings.tonic_fraction) / std::numbers::pi;
      }
    }
    s.reps.push_back(std::move(rep));
    t = s.reps.back().rest_end_s;
  }
  s.set_stop_s = s.reps.back().end_s + settings.lead_in_s;
  marker(s.set_stop_s, EventKind::set_stop, settings.exercise, Muscle::other);
  s.duration_s = s.set_stop_s + settings.tail_s;

  if (settings.contaminants.motion_artefacts) {
    // One transient per movement onset (electrode-skin movement; De Luca et al. 2010, J Biomech 43:1573,
    // put movement artefact energy below ~20 Hz): damped oscillation 1-6 Hz, 30-250 µV peak, independent
    // sign and size per channel.
    RandomStream art(settings.seed, stream_id::motion_artefact);
    for (const RepPlan& rep : s.reps) {
      MotionArtefactPlan a;
      a.time_s = rep.start_s + art.uniform(0.0, 0.1);
      a.frequency_hz = art.uniform(1.0, 6.0);
      a.decay_s = art.uniform(0.08, 0.2);
      for (std::size_t c = 0; c < channels; ++c) {
        const double sign = art.uniform() < 0.5 ? -1.0 : 1.0;
        a.amplitude_uv.push_back(sign * art.uniform(30.0, 250.0));
      }
      s.motion_artefacts.push_back(std::move(a));
    }
  }

  if (settings.duration_limit_s > 0.0 && settings.duration_limit_s < s.duration_s) {
    const double limit = settings.duration_limit_s;
    s.truncated = true;
    s.duration_s = limit;
    std::erase_if(s.reps, [limit](const RepPlan& r) { return r.end_s > limit; });
    std::erase_if(s.mvc_trials, [limit](const MvcTrialPlan& m) { return m.stop_s > limit; });
    std::erase_if(s.markers, [limit](const Event& e) { return e.time_s >= limit; });
    std::erase_if(s.motion_artefacts, [limit](const MotionArtefactPlan& a) { return a.time_s >= limit; });
    if (s.set_stop_s >= limit) s.set_stop_s = -1.0;
    if (s.set_start_s >= limit) s.set_start_s = -1.0;
  }
  return s;
}

double activation_at(const std::vector<ActivationKnot>& knots, double t, std::size_t& cursor) noexcept {
  if (knots.empty() || t <= knots.front().time_s || t >= knots.back().time_s) return 0.0;
  if (cursor >= knots.size() || knots[cursor].time_s > t) cursor = 0;
  while (cursor + 1 < knots.size() && knots[cursor + 1].time_s <= t) ++cursor;
  const ActivationKnot& a = knots[cursor];
  const ActivationKnot& b = knots[cursor + 1];
  const double u = (t - a.time_s) / (b.time_s - a.time_s);
  return a.level + (b.level - a.level) * 0.5 * (1.0 - std::cos(std::numbers::pi * u));
}

PoseSample pose_at(const std::vector<PoseKnot>& knots, double t, std::size_t& cursor) noexcept {
  PoseSample out;
  if (knots.empty()) return out;
  if (t <= knots.front().time_s) {
    out.angle_deg = knots.front().pose;
    return out;
  }
  if (t >= knots.back().time_s) {
    out.angle_deg = knots.back().pose;
    return out;
  }
  if (cursor >= knots.size() || knots[cursor].time_s > t) cursor = 0;
  while (cursor + 1 < knots.size() && knots[cursor + 1].time_s <= t) ++cursor;
  const PoseKnot& a = knots[cursor];
  const PoseKnot& b = knots[cursor + 1];
  const double duration = b.time_s - a.time_s;
  const double u = (t - a.time_s) / duration;
  // Minimum-jerk profile s(u) = 10u^3 - 15u^4 + 6u^5 and its derivatives (Flash & Hogan 1985).
  const double u2 = u * u;
  const double u3 = u2 * u;
  const double shape = u3 * (10.0 - 15.0 * u + 6.0 * u2);
  const double shape_rate = 30.0 * u2 * (1.0 - 2.0 * u + u2) / duration;
  const double shape_accel = 60.0 * u * (1.0 - 3.0 * u + 2.0 * u2) / (duration * duration);
  auto blend = [&](double pa, double pb, double& angle, double& rate, double& accel) {
    angle = pa + (pb - pa) * shape;
    rate = (pb - pa) * shape_rate;
    accel = (pb - pa) * shape_accel;
  };
  blend(a.pose.pelvis_deg, b.pose.pelvis_deg, out.angle_deg.pelvis_deg, out.rate_dps.pelvis_deg,
        out.accel_dps2.pelvis_deg);
  blend(a.pose.thigh_left_deg, b.pose.thigh_left_deg, out.angle_deg.thigh_left_deg,
        out.rate_dps.thigh_left_deg, out.accel_dps2.thigh_left_deg);
  blend(a.pose.thigh_right_deg, b.pose.thigh_right_deg, out.angle_deg.thigh_right_deg,
        out.rate_dps.thigh_right_deg, out.accel_dps2.thigh_right_deg);
  return out;
}

}  // namespace glutescope::sim
