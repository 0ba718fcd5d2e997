// The analysis results as JSON (`glutescope analyze --json`, docs/ANALYSIS.md): to_json of a session's
// analysis and of one rep (the live web feed's form). Moved out of session_analysis.cpp, which keeps the
// analysis itself.
#include <array>
#include <cmath>
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "exercise/session_analysis.hpp"
#include "exercise/set_summary.hpp"
#include "exercise/verdicts.hpp"

namespace glutescope::exercise {

namespace {
nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
nlohmann::json ratios_json(const SideRatios& r) {
  return {{"left", num(r.per_side[0])},
          {"right", num(r.per_side[1])},
          {"ratio_of_means", num(r.ratio_of_means)},
          {"mean_of_ratios", num(r.mean_of_ratios)}};
}
nlohmann::json counts_json(const std::array<VerdictCounts, kVerdictCount>& c) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t i = 0; i < kVerdictCount; ++i) {
    j[std::string(kVerdictNames[i])] = {
        {"yes", c[i].yes}, {"no", c[i].no}, {"not_available", c[i].not_available}, {"invalid", c[i].invalid}};
  }
  return j;
}
}  // namespace

nlohmann::json to_json(const RepScore& r, const Montage& montage) {
  using nlohmann::json;
  json jr;
  jr["index"] = r.index;
  jr["start_s"] = r.start_s;
  jr["concentric_end_s"] = r.concentric_end_s;
  jr["hold_end_s"] = r.hold_end_s;
  jr["end_s"] = r.end_s;
  jr["partial"] = r.partial;
  jr["rom_deg"] = r.rom_deg;
  jr["pelvic_roll_max_deg"] = num(r.pelvic_roll_max_deg);
  jr["pelvic_tilt_min_deg"] = num(r.pelvic_tilt_min_deg);
  jr["valid"] = r.valid;
  if (!r.valid) jr["invalid_reason"] = r.invalid_reason;
  jr["summary"] = r.summary;
  json ch = json::object();
  for (std::size_t c = 0; c < r.channels.size() && c < montage.emg.size(); ++c) {
    const ChannelRepScore& cs = r.channels[c];
    json jc = {{"valid", cs.valid},
               {"onset_rel_ms", num(cs.onset_rel_ms)},
               {"onset_state", std::string(to_string(cs.onset_state))},
               {"mean_concentric_pct", num(cs.mean_concentric_pct)},
               {"mean_hold_pct", num(cs.mean_hold_pct)},
               {"mean_pct", num(cs.mean_pct)},
               {"peak_pct", num(cs.peak_pct)},
               {"median_frequency_hz", num(cs.median_frequency_hz)},
               {"finsm5", num(cs.finsm5)}};
    if (!cs.valid) jc["invalid_reason"] = cs.invalid_reason;
    ch[montage.emg[c].label] = jc;
  }
  jr["channels"] = ch;
  jr["gmax_to_es"] = ratios_json(r.gmax_to_es);
  jr["gmed_to_es"] = ratios_json(r.gmed_to_es);
  json order = json::array();
  for (std::size_t c : r.firing_order) order.push_back(montage.emg[c].label);
  jr["firing_order"] = order;
  json verdicts = json::object();
  for (std::size_t i = 0; i < kVerdictCount; ++i) {
    const Verdict& v = verdict_at(r.verdicts, i);
    verdicts[std::string(kVerdictNames[i])] = {{"state", std::string(to_string(v.state))},
                                               {"value", num(v.value)},
                                               {"threshold", num(v.threshold)},
                                               {"reason", v.reason}};
  }
  jr["verdicts"] = verdicts;
  return jr;
}

namespace {

nlohmann::json summary_json(const SetSummary& sm, const Montage& montage) {
  using nlohmann::json;
  json jsum;
  jsum["reps"] = sm.reps;
  jsum["partial_reps"] = sm.partial_reps;
  jsum["valid_reps"] = sm.valid_reps;
  jsum["verdict_counts"] = counts_json(sm.verdicts);
  json per_channel = json::object();
  for (std::size_t c = 0; c < sm.median_mean_pct.size() && c < montage.emg.size(); ++c) {
    per_channel[montage.emg[c].label] = {
        {"median_mean_pct", num(sm.median_mean_pct[c])},
        {"median_peak_pct", num(sm.median_peak_pct[c])},
        {"median_onset_rel_ms", num(sm.median_onset_rel_ms[c])},
        {"median_frequency_trend_pct_per_rep", num(sm.median_frequency_trend_pct_per_rep[c])},
        {"finsm5_trend_pct_per_rep", num(sm.finsm5_trend_pct_per_rep[c])}};
  }
  jsum["channels"] = per_channel;
  jsum["gmax_to_es"] = ratios_json(sm.gmax_to_es);
  jsum["gmed_to_es"] = ratios_json(sm.gmed_to_es);
  jsum["gmax_to_es_mean_of_rep_ratios"] = num(sm.gmax_to_es_mean_of_rep_ratios);
  jsum["gmed_to_es_mean_of_rep_ratios"] = num(sm.gmed_to_es_mean_of_rep_ratios);
  jsum["gmax_symmetry_pct"] = num(sm.gmax_symmetry_pct);
  jsum["gmed_symmetry_pct"] = num(sm.gmed_symmetry_pct);
  return jsum;
}

}  // namespace

nlohmann::json to_json(const SessionAnalysis& a, const Montage& montage) {
  using nlohmann::json;
  json j;
  j["software_version"] = a.software_version;
  j["settings"] = to_json(a.settings);
  j["warnings"] = a.warnings;
  json mvc = json::object();
  for (std::size_t c = 0; c < a.mvc_reference_uv.size() && c < montage.emg.size(); ++c) {
    mvc[montage.emg[c].label] = num(a.mvc_reference_uv[c]);
  }
  j["mvc_reference_uv"] = mvc;
  json roles = json::object();  // montage roles of other:NAME exercises (docs/IMPORT.md), when any is set
  for (const EmgChannel& c : montage.emg) {
    if (!c.role.empty()) roles[c.label] = c.role;
  }
  if (!roles.empty()) j["channel_roles"] = roles;
  j["reps"] = a.reps;
  j["verdict_counts"] = counts_json(a.verdicts);
  json sets = json::array();
  for (const SetAnalysis& s : a.sets) {
    json js;
    js["exercise"] = std::string(to_string(s.exercise));
    js["exercise_name"] = s.exercise_name;
    js["motion_source"] = std::string(to_string(s.motion_source));
    js["motion_detail"] = s.motion_detail;
    js["start_s"] = s.start_s;
    js["stop_s"] = s.stop_s;
    js["status"] = std::string(to_string(s.status));
    js["status_message"] = s.status_message;
    js["working_side"] = std::string(to_string(s.working_side));
    js["normalisation"] = {{"kind", std::string(to_string(s.normalisation.kind))},
                           {"note", s.normalisation.note}};
    json reps = json::array();
    for (const RepScore& r : s.reps) reps.push_back(to_json(r, montage));
    js["reps"] = reps;
    js["summary"] = summary_json(s.summary, montage);
    json baselines = json::object();
    for (std::size_t c = 0; c < s.onset_baseline.size() && c < montage.emg.size(); ++c) {
      const SetOnsetBaseline& b = s.onset_baseline[c];
      baselines[montage.emg[c].label] = {{"source", std::string(to_string(b.source))},
                                         {"level", num(b.set.mean)},
                                         {"spread", num(b.set.sd)},
                                         {"contrast_db", num(b.contrast_db)}};
    }
    js["onset_baseline"] = baselines;
    sets.push_back(js);
  }
  j["sets"] = sets;
  return j;
}

}  // namespace glutescope::exercise
