// The session timeline: when each rep's phases happen, how far the body moves, and when and how strongly
// each muscle is active. Pure data drawn from the seed; the EMG and IMU models render it into samples.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "simulator/settings.hpp"

namespace glutescope::sim {

// Cosine-interpolated activation knots of one EMG channel: a(t) in fraction of MVIC (1.0 = the RMS of a
// maximal voluntary isometric contraction), raised-cosine between consecutive knots, 0 outside them.
struct ActivationKnot {
  double time_s = 0.0;
  double level = 0.0;  // fraction of MVIC
};

// Body configuration: three sagittal/long-axis angles (deg) whose meaning depends on the exercise.
//  bridge:    pelvis = pelvic tilt (rotation of the sacrum about the medio-lateral axis, + = hips rising /
//             posterior tilt); thigh_left/right = thigh inclination above the mat (+ = knee above hip).
//  clamshell: pelvis = pelvic roll about the body's long axis (+ = rolling back, following the knee);
//             thigh_left = rotation of the top (left) thigh about the hip-ankle axis (+ = knee opening),
//             thigh_right = rotation of the bottom (right) thigh (stays 0).
struct Pose {
  double pelvis_deg = 0.0;
  double thigh_left_deg = 0.0;
  double thigh_right_deg = 0.0;
};

// Minimum-jerk transitions between consecutive pose knots (Flash & Hogan 1985); constant outside.
struct PoseKnot {
  double time_s = 0.0;
  Pose pose;
};

struct PoseSample {
  Pose angle_deg;
  Pose rate_dps;      // first time derivative, deg/s
  Pose accel_dps2;    // second time derivative, deg/s^2
};

struct RepPlan {
  int index = 0;                  // 0-based
  double start_s = 0.0;           // movement onset (concentric start)
  double concentric_end_s = 0.0;  // top reached
  double hold_end_s = 0.0;        // lowering begins
  double end_s = 0.0;             // back at the start pose
  double rest_end_s = 0.0;        // next rep may start
  bool partial = false;
  double peak_fraction = 1.0;     // fraction of the full range reached
  Pose start_pose;
  Pose peak_pose;
  std::vector<double> onset_s;     // per EMG channel: activation leaves 0 (start of the onset ramp)
  std::vector<double> offset_s;    // per EMG channel: activation back at 0 (end of the offset ramp)
  std::vector<double> level_mvic;  // per EMG channel: concentric activation level, fraction of MVIC
};

struct MvcTrialPlan {
  Muscle muscle = Muscle::other;
  double start_s = 0.0;          // set-start marker, contraction ramp begins
  double plateau_start_s = 0.0;  // 100 % MVIC reached
  double plateau_end_s = 0.0;
  double stop_s = 0.0;           // contraction over, set-stop marker
};

struct MotionArtefactPlan {
  double time_s = 0.0;      // onset of the transient
  std::vector<double> amplitude_uv;  // per channel, signed peak amplitude
  double frequency_hz = 3.0;         // oscillation frequency of the damped transient
  double decay_s = 0.12;             // exponential decay time constant
};

struct Schedule {
  double duration_s = 0.0;       // session length (after any duration limit)
  bool truncated = false;        // the duration limit cut the session short
  double set_start_s = 0.0;
  double set_stop_s = 0.0;       // < 0 when the limit cut the set before its stop marker
  std::vector<RepPlan> reps;     // complete reps only
  std::vector<MvcTrialPlan> mvc_trials;
  std::vector<Event> markers;    // set start/stop markers (MVC trials and the exercise set), time order
  std::vector<std::vector<ActivationKnot>> activation;  // per EMG channel
  std::vector<PoseKnot> motion;
  std::vector<MotionArtefactPlan> motion_artefacts;  // empty unless the contaminant is on
};

// Draws the timeline for `settings` (validated) and `montage` from the seed.
Schedule make_schedule(const SimulatorSettings& settings, const Montage& montage);

// Activation of one channel at t; `cursor` remembers the knot position for monotonic sweeps (start at 0).
double activation_at(const std::vector<ActivationKnot>& knots, double t, std::size_t& cursor) noexcept;

// Pose, its rate and acceleration at t; `cursor` as above.
PoseSample pose_at(const std::vector<PoseKnot>& knots, double t, std::size_t& cursor) noexcept;

}  // namespace glutescope::sim
