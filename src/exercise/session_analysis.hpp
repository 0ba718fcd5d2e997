// Offline analysis of one session: EMG conditioning, MVC normalisation, IMU angles and repetition
// segmentation per exercise set, per-rep scores and verdicts, set and session summaries.
// Entry point: analyse_session(SessionData, AnalysisSettings). Pure computation on in-memory data.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include <span>

#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/motion_sources.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/onset_baseline.hpp"
#include "exercise/rep_scores.hpp"
#include "exercise/rep_scoring.hpp"
#include "exercise/session_data.hpp"
#include "exercise/set_summary.hpp"
#include "exercise/verdicts.hpp"

namespace glutescope::exercise {

enum class SetStatus : std::uint8_t {
  ok = 0,
  no_movement = 1,  // the driving angle never made a repetition
  no_imu = 2,       // the IMUs needed for the exercise's driving angle are missing
  unsupported = 3,  // exercise that cannot be scored (kept for old results; every exercise has a source now)
};
std::string_view to_string(SetStatus status) noexcept;

struct SetAnalysis {
  Exercise exercise = Exercise::other;
  std::string exercise_name;           // "bridge", "clamshell", or "other:NAME" (the set_start text NAME)
  double start_s = 0.0, stop_s = 0.0;  // set markers
  // What the repetitions were segmented from (motion_sources.hpp) and which sensor or channel, in words.
  MotionSource motion_source = MotionSource::none;
  std::string motion_detail;
  SetStatus status = SetStatus::ok;
  std::string status_message;
  Side working_side = Side::unknown;  // clamshell: the upper (moving) leg; bridge: midline (both)
  Normalisation normalisation;
  std::vector<RepScore> reps;
  // Per channel: where the onset baseline came from, its statistics and the rest-to-active contrast
  // (onset_baseline.hpp; the per-rep part is in each rep's onset_state). Empty for a set not scored.
  std::vector<SetOnsetBaseline> onset_baseline;
  SetSummary summary;
  // The driving angle and pelvic angles over the set at the IMU rate (for plots and validation).
  std::vector<double> angle_time_s, driving_angle_deg, pelvic_tilt_rel_deg, pelvic_roll_rel_deg;
};

struct SessionAnalysis {
  std::string software_version;
  AnalysisSettings settings;
  std::vector<MvcTrial> mvc_trials;
  std::vector<double> mvc_reference_uv;  // per channel, NaN without a trial
  std::vector<SetAnalysis> sets;         // exercise sets in time order (MVC trials are not sets here)
  std::array<VerdictCounts, kVerdictCount> verdicts{};  // all sets together
  int reps = 0;
  std::vector<std::string> warnings;  // e.g. no set markers, unpaired markers
  // Optional plot output (analyse_session's envelope_rate_hz > 0): block means of each channel's moving-RMS
  // envelope (µV), [rows x channels], at envelope_rate_hz (EMG rate / whole block length).
  double envelope_rate_hz = 0.0;
  std::vector<float> envelope_uv;
};

// Whether an IMU reports a gyroscope (full scale and scale both positive); the orientation filter and so the
// repetition segmentation need one.
[[nodiscard]] bool has_gyroscope(const ImuInfo& imu) noexcept;
// One line when the session's IMUs cannot drive live repetition segmentation ("no IMU ...", "IMUs without
// gyroscopes (accelerometer only) ..."); empty otherwise. Live analysis prints it; offline it is a warning
// for IMUs without gyroscopes, and every set records the motion source it was segmented from.
[[nodiscard]] std::string motion_source_note(const DeviceInfo& device);

// Throws std::invalid_argument for unusable data (no EMG channels, counts not a whole number of rows, rates
// not positive, IMU streams of different lengths) or invalid settings. A set that cannot be scored is not
// an error: it carries a status and a message.
// envelope_rate_hz > 0 also fills SessionAnalysis::envelope_uv (plots); 0 = not computed. threads > 1: the
// set statistics and scores of a channel group's channels run on that many threads at once (the results are
// the same with any number: each channel's are computed alone; condition_session_offline).
SessionAnalysis analyse_session(const SessionData& data,
                                const AnalysisSettings& settings = kDefaultAnalysisSettings,
                                double envelope_rate_hz = 0.0, std::size_t threads = 1);

nlohmann::json to_json(const SessionAnalysis& analysis, const Montage& montage);
// One rep as in to_json(SessionAnalysis) (the live web feed sends each scored rep in this form).
nlohmann::json to_json(const RepScore& rep, const Montage& montage);

}  // namespace glutescope::exercise
