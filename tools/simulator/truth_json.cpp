#include "simulator/truth_json.hpp"

#include <cmath>

namespace glutescope::sim {
namespace {

using nlohmann::json;

json number_or_null(double value) { return std::isnan(value) ? json(nullptr) : json(value); }

json vec3(const Eigen::Vector3d& v) { return json::array({v.x(), v.y(), v.z()}); }

}  // namespace

json settings_to_json(const SimulatorSettings& s) {
  const Contaminants& c = s.contaminants;
  json contaminants = {
      {"mains_hz", static_cast<int>(c.mains)},
      {"mains_amplitude_uv", c.mains_amplitude_uv},
      {"baseline_wander", c.baseline_wander},
      {"ecg", c.ecg},
      {"ecg_r_amplitude_uv", c.ecg_r_amplitude_uv},
      {"motion_artefacts", c.motion_artefacts},
      {"lead_off_channel", c.lead_off_channel ? json(*c.lead_off_channel) : json(nullptr)},
      {"lead_off_time_s", c.lead_off_channel ? json(c.lead_off_time_s) : json(nullptr)},
  };
  return {
      {"exercise", to_string(s.exercise)},
      {"scenario", to_string(s.scenario)},
      {"reps", s.reps},
      {"seed", s.seed},
      {"emg_rate_hz", s.emg_rate_hz},
      {"imu_rate_hz", s.imu_rate_hz},
      {"snr_db", s.snr_db},
      {"contaminants", contaminants},
      {"tempo",
       {{"concentric_s", s.tempo.concentric_s},
        {"hold_s", s.tempo.hold_s},
        {"eccentric_s", s.tempo.eccentric_s},
        {"rest_s", s.tempo.rest_s},
        {"jitter_fraction", s.tempo.jitter_fraction}}},
      {"initial_still_s", s.initial_still_s},
      {"lead_in_s", s.lead_in_s},
      {"tail_s", s.tail_s},
      {"mvc_trials", s.mvc_trials},
      {"mvc_contraction_s", s.mvc_contraction_s},
      {"mvc_rest_s", s.mvc_rest_s},
      {"gyro_bias_dps", s.gyro_bias_dps},
      {"accel_noise_g", s.accel_noise_g},
      {"gyro_noise_dps", s.gyro_noise_dps},
      {"emg_samples_per_frame", s.emg_samples_per_frame},
      {"imu_samples_per_frame", s.imu_samples_per_frame},
      {"duration_limit_s", s.duration_limit_s},
      {"device_id", s.device_id},
  };
}

json truth_to_json(const SimulatedSession& session) {
  const SessionTruth& t = session.truth;
  const Schedule& sch = t.schedule;
  const Montage& m = session.montage;

  json channels = json::array();
  for (std::size_t c = 0; c < m.emg.size(); ++c) {
    const EmgChannel& ch = m.emg[c];
    const EmgChannelTruth& ct = t.emg_channels[c];
    channels.push_back({{"index", c},
                        {"label", ch.label},
                        {"muscle", to_string(ch.muscle)},
                        {"side", to_string(ch.side)},
                        {"microvolts_per_count", ch.microvolts_per_count},
                        {"mvic_rms_uv", ct.mvic_rms_uv},
                        {"spectrum_low_hz", ct.spectrum_low_hz},
                        {"spectrum_high_hz", ct.spectrum_high_hz},
                        {"active_power_uv2", ct.active_power_uv2},
                        {"noise_rms_uv", ct.noise_rms_uv},
                        {"clipped_samples", ct.clipped_samples}});
  }

  json reps = json::array();
  for (const RepPlan& r : sch.reps) {
    json muscles = json::array();
    for (std::size_t c = 0; c < m.emg.size(); ++c) {
      muscles.push_back({{"channel", c},
                         {"label", m.emg[c].label},
                         {"onset_s", number_or_null(r.onset_s[c])},
                         {"offset_s", number_or_null(r.offset_s[c])},
                         {"level_mvic_pct", 100.0 * r.level_mvic[c]}});
    }
    reps.push_back({{"index", r.index},
                    {"start_s", r.start_s},
                    {"concentric_end_s", r.concentric_end_s},
                    {"hold_end_s", r.hold_end_s},
                    {"end_s", r.end_s},
                    {"partial", r.partial},
                    {"peak_fraction", r.peak_fraction},
                    {"start_pose_deg",
                     {{"pelvis", r.start_pose.pelvis_deg},
                      {"thigh_left", r.start_pose.thigh_left_deg},
                      {"thigh_right", r.start_pose.thigh_right_deg}}},
                    {"peak_pose_deg",
                     {{"pelvis", r.peak_pose.pelvis_deg},
                      {"thigh_left", r.peak_pose.thigh_left_deg},
                      {"thigh_right", r.peak_pose.thigh_right_deg}}},
                    {"muscles", muscles}});
  }

  json mvc = json::array();
  for (const MvcTrialPlan& trial : sch.mvc_trials) {
    mvc.push_back({{"muscle", to_string(trial.muscle)},
                   {"start_s", trial.start_s},
                   {"plateau_start_s", trial.plateau_start_s},
                   {"plateau_end_s", trial.plateau_end_s},
                   {"stop_s", trial.stop_s}});
  }

  json events = json::array();
  for (const Event& e : session.events) {
    json je = {{"time_s", e.time_s}};
    switch (e.kind) {
      case EventKind::set_start:
        je["kind"] = "set_start";
        break;
      case EventKind::set_stop:
        je["kind"] = "set_stop";
        break;
      case EventKind::lead_off:
        je["kind"] = "lead_off";
        break;
      default:
        je["kind"] = "other";
        break;
    }
    if (e.kind == EventKind::lead_off) {
      je["channel"] = e.channel;
    } else {
      je["exercise"] = to_string(e.exercise);
      je["muscle"] = e.muscle == Muscle::other ? json(nullptr) : json(to_string(e.muscle));
      je["side"] = e.side == Side::unknown ? json(nullptr) : json(to_string(e.side));
    }
    events.push_back(je);
  }

  json angles = json::object();
  for (std::size_t a = 0; a < t.joint_angles.names.size(); ++a)
    angles[t.joint_angles.names[a]] = t.joint_angles.values_deg[a];

  json imus = json::array();
  for (std::size_t i = 0; i < m.imu.size(); ++i) {
    imus.push_back({{"index", i},
                    {"label", m.imu[i].label},
                    {"segment", to_string(m.imu[i].segment)},
                    {"gyro_bias_dps", vec3(t.gyro_bias_dps[i])},
                    {"rotation_axis_sensor", vec3(t.rotation_axis_sensor[i])}});
  }

  json motion_artefacts = json::array();
  for (const MotionArtefactPlan& a : sch.motion_artefacts) {
    motion_artefacts.push_back({{"time_s", a.time_s},
                                {"frequency_hz", a.frequency_hz},
                                {"decay_s", a.decay_s},
                                {"amplitude_uv", a.amplitude_uv}});
  }
  const Contaminants& c = session.settings.contaminants;
  json contaminants = {
      {"mains_hz", static_cast<int>(c.mains)},
      {"baseline_wander", c.baseline_wander},
      {"ecg", c.ecg},
      {"ecg_beats_s", t.ecg_beats_s},
      {"motion_artefacts", motion_artefacts},
      {"lead_off", t.lead_off ? json{{"channel", t.lead_off->channel},
                                     {"label", m.emg[static_cast<std::size_t>(t.lead_off->channel)].label},
                                     {"time_s", t.lead_off->time_s}}
                              : json(nullptr)},
  };

  return {
      {"schema_version", kTruthSchemaVersion},
      {"generator", std::string("glutescope simulate ") + GLUTESCOPE_VERSION},
      {"settings", settings_to_json(session.settings)},
      {"exercise", to_string(session.settings.exercise)},
      {"scenario", to_string(session.settings.scenario)},
      {"duration_s", sch.duration_s},
      {"truncated", sch.truncated},
      {"samples", {{"emg", t.emg_samples}, {"imu", t.imu_samples}}},
      {"emg_channels", channels},
      {"imus", imus},
      {"imu_clipped_samples", t.imu_clipped_samples},
      {"set",
       {{"start_s", sch.set_start_s >= 0 ? json(sch.set_start_s) : json(nullptr)},
        {"stop_s", sch.set_stop_s >= 0 ? json(sch.set_stop_s) : json(nullptr)}}},
      {"reps", reps},
      {"mvc_trials", mvc},
      {"events", events},
      {"joint_angles", {{"rate_hz", session.settings.imu_rate_hz}, {"angles_deg", angles}}},
      {"contaminants", contaminants},
  };
}

}  // namespace glutescope::sim
