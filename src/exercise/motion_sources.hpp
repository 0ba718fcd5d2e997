// The motion sources a set's repetitions can be segmented from, best first (docs/MOTION.md "Motion sources"):
//   imu            6-axis IMUs: orientation filter -> segment inclination -> driving angle (today's path)
//   accelerometer  IMUs without a gyroscope: inclination from the low-passed accelerometer (gravity)
//   angle          an angle channel (goniometer, motion-capture export) of the exercise's joint and motion
//   events         repetition events (rep_start / rep_end) inside the set
//   emg            last resort: bursts of the exercise's target muscles ("segmented from EMG without motion")
// session_analysis.cpp chooses one per set and records it with the results. Pure computation, no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/rep_segmenter.hpp"
#include "exercise/session_data.hpp"

namespace glutescope::exercise {

// Values are stored in analysis output (JSON, HDF5 attribute text): append only.
enum class MotionSource : std::uint8_t {
  none = 0,
  imu = 1,
  accelerometer = 2,
  angle = 3,
  events = 4,
  emg = 5
};
std::string_view to_string(MotionSource source) noexcept;
// The words a user reads ("6-axis IMU", ..., "EMG without motion").
std::string_view describe(MotionSource source) noexcept;

// Gravity direction (unit vector, sensor frame) of every sample of an IMU without a gyroscope: each axis
// low-passed zero-phase (2nd-order Butterworth at cutoff_hz, run forward and backward) and normalised; NaN
// vectors where the low-passed magnitude is below 0.1 g. Empty when the stream is too short to filter.
[[nodiscard]] std::vector<std::array<double, 3>> accelerometer_gravity(const ImuStream& stream,
                                                                       const ImuInfo& info, double cutoff_hz);

// The driving angle of an exercise in an angle channel: which channel and the sign that makes the
// exercise's movement positive.
struct AngleChoice {
  std::size_t channel = 0;
  double sign = 1.0;
};
// bridge: hip extension (or flexion, negated), else pelvic tilt; clamshell: hip abduction of the side that
// moves most (chosen by the caller from the candidates); other:NAME with NAME = <joint>_<motion> (e.g.
// knee_extension): that joint's channel of that motion, or of the opposite one (extension <-> flexion)
// negated. Every candidate, best first; empty when none fits.
[[nodiscard]] std::vector<AngleChoice> angle_candidates(const std::vector<AngleChannel>& angles,
                                                        Exercise exercise, std::string_view exercise_name);

// Repetitions from rep_start / rep_end events inside [start_s, stop_s] (each start paired with the next end;
// an unpaired start or end is skipped). Phases are unknown: concentric = first half, hold empty, eccentric =
// second half; ROM NaN.
[[nodiscard]] std::vector<Repetition> event_repetitions(const std::vector<Event>& events, double start_s,
                                                        double stop_s);

// EMG-only activation track over a set: the moving-RMS envelopes of the target channels, each divided by its
// 95th percentile over the set, averaged, as percent, in blocks at about 100 Hz. The segmenter runs on it as
// on an angle (its levels are fractions of the range either way).
struct ActivationTrack {
  double rate_hz = 0.0;
  std::vector<double> time_s, pct;
};
[[nodiscard]] ActivationTrack emg_activation(const SessionData& data, const AnalysisSettings& settings,
                                             std::span<const std::size_t> channels, double start_s,
                                             double stop_s);
// Repetitions as bursts of an activation track: runs above rest + exit_fraction x (reference - rest) that
// reach rest + enter_fraction x (reference - rest), where rest is the track's 10th percentile and reference
// its 95th; dips shorter than refractory_s are bridged; bursts shorter than min_rep_s or longer than
// max_rep_s are dropped. Phases unknown (as event_repetitions); ROM NaN.
[[nodiscard]] std::vector<Repetition> burst_repetitions(const ActivationTrack& track,
                                                        const RepSegmenterSettings& settings);
// The side (left or right) whose `muscle` channel has the larger RMS about its mean (raw µV) over
// [start_s, stop_s]: a clamshell's upper leg when no thigh sensor says which leg moves. unknown without both.
[[nodiscard]] Side more_active_side(const SessionData& data, Muscle muscle, double start_s, double stop_s);
// The channels whose bursts make the repetitions when nothing else moves: gluteus maximus (bridge), gluteus
// medius (clamshell); other exercises: the channels whose montage role is "target", else every channel.
[[nodiscard]] std::vector<std::size_t> target_channels(const Montage& montage, Exercise exercise,
                                                       const AnalysisSettings& settings);

}  // namespace glutescope::exercise
