#include "validation/validation.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "exercise/session_analysis.hpp"

namespace glutescope::validation {

// The analysis under test.
using namespace glutescope::exercise;  // NOLINT(google-build-using-namespace)

SessionData session_data_from_simulation(const sim::SimulatedSession& session) {
  SessionData d;
  d.device = session.device_info;
  d.montage = session.montage;
  d.emg_counts = session.emg_counts();
  for (std::size_t k = 0; k < session.montage.imu.size(); ++k) {
    ImuStream s;
    s.accel = session.imu_accel(static_cast<std::uint8_t>(k));
    s.gyro = session.imu_gyro(static_cast<std::uint8_t>(k));
    d.imu.push_back(std::move(s));
  }
  d.events = session.events;
  return d;
}

namespace {

// Angle channels from the simulator's true joint angles (validation.hpp: session_data_with_motion).
std::vector<AngleChannel> true_angle_channels(const sim::SimulatedSession& session, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0.0, 0.5);
  const auto& track = session.truth.joint_angles;
  std::vector<AngleChannel> out;
  for (std::size_t k = 0; k < track.names.size(); ++k) {
    const std::string& n = track.names[k];
    AngleChannel a;
    a.label = n;
    a.rate_hz = session.device_info.imu.front().rate_hz;
    a.joint = Joint::hip;
    if (n == "hip_extension_left_deg" || n == "hip_extension_right_deg") {
      a.motion = JointMotion::extension;
      a.side = n == "hip_extension_left_deg" ? Side::left : Side::right;
    } else if (n == "hip_opening_left_deg") {
      a.motion = JointMotion::abduction;
      a.side = Side::left;
    } else if (n == "pelvic_tilt_deg" || n == "pelvic_roll_deg") {
      a.joint = Joint::pelvis;
      a.motion = n == "pelvic_tilt_deg" ? JointMotion::tilt : JointMotion::roll;
      a.side = Side::midline;
    } else {
      continue;
    }
    a.deg = track.values_deg[k];
    for (double& v : a.deg) v += noise(rng);
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

SessionData session_data_with_motion(const sim::SimulatedSession& session, MotionSource source,
                                     std::uint64_t seed) {
  SessionData d = session_data_from_simulation(session);
  std::mt19937_64 rng(seed * 7919 + static_cast<std::uint64_t>(source));
  if (source == MotionSource::imu) return d;
  if (source == MotionSource::accelerometer) {
    for (ImuInfo& info : d.device.imu) info.gyro_range_dps = 0.0, info.gyro_dps_per_count = 0.0;
    for (ImuStream& stream : d.imu) std::fill(stream.gyro.begin(), stream.gyro.end(), std::int16_t{0});
    return d;
  }
  d.imu.clear();
  d.device.imu.clear();
  d.montage.imu.clear();
  if (source == MotionSource::angle) d.angles = true_angle_channels(session, rng);
  if (source == MotionSource::events) {
    std::normal_distribution<double> jitter(0.0, 0.05);
    for (const sim::RepPlan& r : session.truth.schedule.reps) {
      Event start, end;
      start.kind = EventKind::rep_start;
      start.time_s = r.start_s + jitter(rng);
      end.kind = EventKind::rep_end;
      end.time_s = r.end_s + jitter(rng);
      d.events.push_back(start);
      d.events.push_back(end);
    }
  }
  return d;
}

ExpectedVerdict expected_verdict(sim::Scenario scenario) {
  switch (scenario) {
    case sim::Scenario::good:
    case sim::Scenario::partial_reps:
      return {"clean", true};
    case sim::Scenario::lumbar_dominant:
      return {"lumbar_dominant", true};
    case sim::Scenario::late_glute:
      return {"late_glute", true};
    case sim::Scenario::silent_glute:
      return {"glute_fired", false};
    case sim::Scenario::pelvic_roll:
      return {"pelvic_compensation", true};
    case sim::Scenario::hamstring_dominant:
      return {"hamstring_dominance", true};
  }
  return {"clean", true};
}

namespace {

double interval_iou(double a0, double a1, double b0, double b1) {
  const double inter = std::max(0.0, std::min(a1, b1) - std::max(a0, b0));
  const double uni = std::max(a1, b1) - std::min(a0, b0);
  return uni > 0.0 ? inter / uni : 0.0;
}

bool verdict_matches(const RepVerdicts& v, const ExpectedVerdict& e) {
  if (e.name == "clean") {
    return v.glute_fired.state == VerdictState::yes && v.lumbar_dominant.state != VerdictState::yes &&
           v.late_glute.state != VerdictState::yes && v.pelvic_compensation.state != VerdictState::yes &&
           v.hamstring_dominance.state != VerdictState::yes && v.tfl_substitution.state != VerdictState::yes;
  }
  for (std::size_t i = 0; i < kVerdictCount; ++i) {
    if (kVerdictNames[i] == e.name) {
      const VerdictState s = verdict_at(v, i).state;
      return e.expected ? s == VerdictState::yes : s == VerdictState::no;
    }
  }
  return false;
}

// The simulator settings a Condition stands for (validation.hpp).
void apply_condition(Condition condition, sim::SimulatorSettings& ss) {
  switch (condition) {
    case Condition::standard:
      break;
    case Condition::slow_short_rests:
      ss.tempo.concentric_s = 3.0;
      ss.tempo.hold_s = 1.0;
      ss.tempo.eccentric_s = 3.0;
      ss.tempo.rest_s = 1.0;
      break;
    case Condition::tonic_background:
      ss.tonic_fraction = 0.15;
      break;
    case Condition::low_amplitude:
      ss.emg_amplitude_scale = 0.1;
      break;
    case Condition::no_rest_marker:
      ss.lead_in_s = 0.5;
      break;
  }
}

RunResult run_one(const ValidationSettings& vs, Exercise exercise, sim::Scenario scenario, std::uint64_t seed,
                  double snr, bool contaminated, Condition condition, MotionSource source) {
  RunResult rr;
  rr.condition = condition;
  rr.motion_source = source;
  rr.exercise = exercise;
  rr.scenario = scenario;
  rr.seed = seed;
  rr.snr_db = snr;
  rr.contaminated = contaminated;
  try {
    sim::SimulatorSettings ss;
    ss.exercise = exercise;
    ss.scenario = scenario;
    ss.seed = seed;
    ss.snr_db = snr;
    ss.reps = vs.reps;
    ss.mvc_trials = vs.mvc_trials;
    apply_condition(condition, ss);
    if (contaminated) {
      ss.contaminants.mains = sim::Mains::hz50;
      ss.contaminants.baseline_wander = true;
      ss.contaminants.ecg = true;
      ss.contaminants.motion_artefacts = true;
    }
    const sim::SimulatedSession session = sim::simulate(ss);
    AnalysisSettings as = vs.analysis;
    if (contaminated) as.emg.mains_hz = 50.0;
    const SessionAnalysis analysis = analyse_session(session_data_with_motion(session, source, seed), as);
    const auto& truth = session.truth.schedule;
    rr.truth_reps = static_cast<int>(truth.reps.size());
    const SetAnalysis* set = nullptr;
    for (const SetAnalysis& s : analysis.sets) {
      if (s.exercise == exercise) set = &s;
    }
    const ExpectedVerdict expected = expected_verdict(scenario);
    rr.verdict_total = rr.truth_reps;
    if (set == nullptr) {
      rr.error = "no exercise set in the analysis";
      return rr;
    }
    if (set->motion_source != source) {
      rr.error =
          fmt::format("segmented from {} instead of {}", to_string(set->motion_source), to_string(source));
      return rr;
    }
    rr.detected_reps = static_cast<int>(set->reps.size());
    std::vector<bool> used(set->reps.size(), false);
    std::vector<double> move_err;
    for (const sim::RepPlan& t : truth.reps) {
      int best = -1;
      double best_iou = 0.5;  // match: intersection over union of [start, end] >= 0.5
      for (std::size_t k = 0; k < set->reps.size(); ++k) {
        if (used[k]) continue;
        const double iou = interval_iou(t.start_s, t.end_s, set->reps[k].start_s, set->reps[k].end_s);
        if (iou >= best_iou) best_iou = iou, best = static_cast<int>(k);
      }
      if (best < 0) continue;
      used[static_cast<std::size_t>(best)] = true;
      ++rr.matched_reps;
      const RepScore& rep = set->reps[static_cast<std::size_t>(best)];
      move_err.push_back(std::abs(rep.start_s - t.start_s) * 1000.0);
      if (verdict_matches(rep.verdicts, expected)) ++rr.verdict_correct;
      for (std::size_t c = 0; c < rep.channels.size(); ++c) {
        if (c >= t.onset_s.size() || !std::isfinite(t.onset_s[c]) || !(t.level_mvic[c] > 0.0)) continue;
        const ChannelRepScore& cs = rep.channels[c];
        if (!cs.valid) continue;
        if (!cs.onset_detected) {
          ++rr.onsets_missed;
          continue;
        }
        rr.onset_muscle.emplace_back(to_string(session.montage.emg[c].muscle));
        rr.onset_error_ms.push_back(1000.0 * (cs.onset_s - t.onset_s[c]));
      }
    }
    std::sort(move_err.begin(), move_err.end());
    rr.movement_onset_error_ms_median = move_err.empty() ? 0.0 : move_err[move_err.size() / 2];

    // Driving angle vs truth, both relative to the set's starting posture.
    const auto& track = session.truth.joint_angles;
    std::vector<std::size_t> cols;
    for (std::size_t k = 0; k < track.names.size(); ++k) {
      const std::string& n = track.names[k];
      if (exercise == Exercise::bridge && (n == "hip_extension_left_deg" || n == "hip_extension_right_deg"))
        cols.push_back(k);
      if (exercise == Exercise::clamshell && n == "thigh_opening_left_deg") cols.push_back(k);
    }
    const double imu_rate = session.device_info.imu.front().rate_hz;
    double se = 0.0;
    std::size_t n_se = 0;
    const bool angle_source =
        source == MotionSource::imu || source == MotionSource::accelerometer || source == MotionSource::angle;
    if (angle_source && !cols.empty() && !set->angle_time_s.empty()) {
      const auto i0 = static_cast<std::size_t>(std::lround(set->angle_time_s.front() * imu_rate));
      const std::size_t still = static_cast<std::size_t>(as.motion.still_period_s * imu_rate);
      double ref = 0.0;
      for (std::size_t c : cols) {
        double m = 0.0;
        for (std::size_t i = i0; i < i0 + still; ++i) m += track.values_deg[c][i];
        ref += m / static_cast<double>(still);
      }
      ref /= static_cast<double>(cols.size());
      for (std::size_t k = 0; k < set->angle_time_s.size(); ++k) {
        const std::size_t i = i0 + k;
        if (i >= track.values_deg[cols.front()].size() || !std::isfinite(set->driving_angle_deg[k])) continue;
        double tv = 0.0;
        for (std::size_t c : cols) tv += track.values_deg[c][i];
        tv = tv / static_cast<double>(cols.size()) - ref;
        se += (set->driving_angle_deg[k] - tv) * (set->driving_angle_deg[k] - tv);
        ++n_se;
      }
    }
    rr.angle_rmse_deg = n_se > 0 ? std::sqrt(se / static_cast<double>(n_se)) : 0.0;
  } catch (const std::exception& e) {
    rr.error = e.what();
  }
  return rr;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(v.size() - 1, lo + 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

ValidationReport run_validation(const ValidationSettings& vs) {
  validate(vs.analysis);
  struct Job {
    Exercise exercise;
    sim::Scenario scenario;
    std::uint64_t seed;
    double snr;
    bool contaminated;
    Condition condition;
    MotionSource source;
  };
  std::vector<Job> jobs;
  for (Condition cond : vs.conditions) {
    for (Exercise ex : vs.exercises) {
      for (sim::Scenario sc : vs.scenarios.empty() ? sim::all_scenarios() : vs.scenarios) {
        if (!sim::scenario_applies(sc, ex)) continue;
        for (double snr : vs.snr_db) {
          for (bool cont : vs.contaminants) {
            if (cont && cond != Condition::standard) continue;  // contaminants: standard runs only
            for (std::uint64_t seed : vs.seeds) {
              for (MotionSource src : vs.motion_sources) jobs.push_back({ex, sc, seed, snr, cont, cond, src});
            }
          }
        }
      }
    }
  }
  ValidationReport report;
  report.settings = vs;
  report.runs.resize(jobs.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&]() {
    for (std::size_t i = next++; i < jobs.size(); i = next++) {
      const Job& j = jobs[i];
      report.runs[i] =
          run_one(vs, j.exercise, j.scenario, j.seed, j.snr, j.contaminated, j.condition, j.source);
    }
  };
  const int threads = std::max(1, vs.jobs);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return report;
}

std::string_view to_string(Condition condition) noexcept {
  switch (condition) {
    case Condition::standard:
      return "standard";
    case Condition::slow_short_rests:
      return "slow-short-rests";
    case Condition::tonic_background:
      return "tonic-background";
    case Condition::low_amplitude:
      return "low-amplitude";
    case Condition::no_rest_marker:
      return "no-rest-marker";
  }
  return "unknown";
}

std::vector<Condition> all_conditions() {
  return {Condition::standard, Condition::slow_short_rests, Condition::tonic_background,
          Condition::low_amplitude, Condition::no_rest_marker};
}

Aggregate aggregate_if(const std::vector<RunResult>& runs, double min_snr_db, double max_snr_db, int exercise,
                       int scenario, const std::string& muscle, int condition, int motion_source) {
  Aggregate a;
  std::vector<double> abs_err, signed_err;
  int truth = 0, detected = 0, matched = 0;
  double rmse_sq = 0.0;
  for (const RunResult& r : runs) {
    if (r.snr_db < min_snr_db || r.snr_db > max_snr_db) continue;
    if (exercise >= 0 && static_cast<int>(r.exercise) != exercise) continue;
    if (scenario >= 0 && static_cast<int>(r.scenario) != scenario) continue;
    if (condition >= 0 && static_cast<int>(r.condition) != condition) continue;
    if (motion_source >= 0 && static_cast<int>(r.motion_source) != motion_source) continue;
    ++a.runs;
    if (!r.error.empty()) ++a.errors;
    for (std::size_t k = 0; k < r.onset_error_ms.size(); ++k) {
      if (!muscle.empty() && r.onset_muscle[k] != muscle) continue;
      abs_err.push_back(std::abs(r.onset_error_ms[k]));
      signed_err.push_back(r.onset_error_ms[k]);
    }
    if (muscle.empty()) a.onsets_missed += r.onsets_missed;
    truth += r.truth_reps;
    detected += r.detected_reps;
    matched += r.matched_reps;
    a.verdict_total += r.verdict_total;
    a.verdict_accuracy += r.verdict_correct;
    rmse_sq += r.angle_rmse_deg * r.angle_rmse_deg;
  }
  a.onset_count = static_cast<int>(abs_err.size());
  a.onset_median_abs_ms = percentile(abs_err, 50.0);
  a.onset_p95_abs_ms = percentile(abs_err, 95.0);
  a.onset_median_signed_ms = percentile(signed_err, 50.0);
  a.rep_precision = detected > 0 ? static_cast<double>(matched) / detected : 0.0;
  a.rep_recall = truth > 0 ? static_cast<double>(matched) / truth : 0.0;
  a.rep_f1 = a.rep_precision + a.rep_recall > 0.0
                 ? 2.0 * a.rep_precision * a.rep_recall / (a.rep_precision + a.rep_recall)
                 : 0.0;
  a.verdict_accuracy = a.verdict_total > 0 ? a.verdict_accuracy / a.verdict_total : 0.0;
  a.angle_rmse_deg = a.runs > 0 ? std::sqrt(rmse_sq / a.runs) : 0.0;
  return a;
}

namespace {
const std::vector<std::string>& muscle_names() {
  static const std::vector<std::string> names{"gluteus_maximus", "gluteus_medius", "erector_spinae_lumbar",
                                              "biceps_femoris", "tensor_fasciae_latae"};
  return names;
}

// Per condition (issue 14): onset error, missed onsets, rep F1 and verdict accuracy per SNR.
std::string condition_table(const ValidationReport& report, const std::vector<double>& snrs) {
  std::string out =
      "\nPer recording condition: onset error median / p95 (ms), missed onsets, rep F1, verdicts\n\n";
  out += "| condition | SNR | onset median / p95 (n) | missed | rep F1 | verdict accuracy |\n";
  out += "|---|---|---|---|---|---|\n";
  for (Condition c : report.settings.conditions) {
    for (double s : snrs) {
      const Aggregate a = aggregate_if(report.runs, s, s, -1, -1, "", static_cast<int>(c));
      if (a.runs == 0) continue;
      out += fmt::format("| {} | {:g} | {:.1f} / {:.1f} ({}) | {} | {:.4f} | {:.1f} % |\n", to_string(c), s,
                         a.onset_median_abs_ms, a.onset_p95_abs_ms, a.onset_count, a.onsets_missed, a.rep_f1,
                         100.0 * a.verdict_accuracy);
    }
  }
  return out;
}

// Per motion source (issue 13): rep F1, verdict accuracy, movement-onset error and angle RMSE per SNR.
std::string motion_source_table(const ValidationReport& report, const std::vector<double>& snrs) {
  std::string out = "\nPer motion source: rep F1, verdict accuracy, |rep start error| median, angle RMSE\n\n";
  out +=
      "| motion source | SNR | rep F1 | verdict accuracy | rep start error median (ms) | angle RMSE (deg) "
      "| errors |\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (MotionSource m : report.settings.motion_sources) {
    for (double snr : snrs) {
      const Aggregate a = aggregate_if(report.runs, snr, snr, -1, -1, "", -1, static_cast<int>(m));
      if (a.runs == 0) continue;
      std::vector<double> starts;
      for (const RunResult& r : report.runs) {
        if (r.motion_source == m && r.snr_db == snr && r.matched_reps > 0)
          starts.push_back(r.movement_onset_error_ms_median);
      }
      out += fmt::format("| {} | {:g} | {:.4f} | {:.1f} % | {:.0f} | {:.2f} | {} |\n", describe(m), snr,
                         a.rep_f1, 100.0 * a.verdict_accuracy, percentile(starts, 50.0), a.angle_rmse_deg,
                         a.errors);
    }
  }
  return out;
}

}  // namespace

std::string format_validation_table(const ValidationReport& report) {
  const auto& runs = report.runs;
  std::string out;
  std::vector<double> snrs = report.settings.snr_db;
  std::sort(snrs.rbegin(), snrs.rend());
  std::string seeds;
  for (auto s : report.settings.seeds) seeds += (seeds.empty() ? "" : ",") + std::to_string(s);
  out += fmt::format(
      "glutescope validate: {} runs (seeds {}; {} reps per set; MVC trials {}; contaminants {})\n\n",
      runs.size(), seeds, report.settings.reps, report.settings.mvc_trials ? "yes" : "no",
      report.settings.contaminants.size() > 1 ? "off and on"
                                              : (report.settings.contaminants.front() ? "on" : "off"));
  out += "Onset error |detected - true| per muscle (ms): median / p95 (n, bias = signed median)\n\n";
  out += fmt::format("| {:<22} |", "muscle");
  for (double s : snrs) out += fmt::format(" {:>26} |", fmt::format("SNR {:g} dB", s));
  out += "\n|" + std::string(24, '-') + "|";
  for (std::size_t i = 0; i < snrs.size(); ++i) out += std::string(28, '-') + "|";
  out += "\n";
  for (const std::string& m : muscle_names()) {
    out += fmt::format("| {:<22} |", m);
    for (double s : snrs) {
      const Aggregate a = aggregate_if(runs, s, s, -1, -1, m);
      out +=
          fmt::format(" {:>26} |", a.onset_count == 0 ? std::string("-")
                                                      : fmt::format("{:.1f} / {:.1f} (n={}, {:+.0f})",
                                                                    a.onset_median_abs_ms, a.onset_p95_abs_ms,
                                                                    a.onset_count, a.onset_median_signed_ms));
    }
    out += "\n";
  }
  out += "\nRepetitions, angles and missed onsets per SNR\n\n";
  out +=
      "| SNR (dB) | rep precision | rep recall | rep F1 | angle RMSE (deg) | onsets missed | analysis errors "
      "|\n";
  out += "|---|---|---|---|---|---|---|\n";
  for (double s : snrs) {
    const Aggregate a = aggregate_if(runs, s, s);
    out += fmt::format("| {:g} | {:.4f} | {:.4f} | {:.4f} | {:.2f} | {} of {} | {} |\n", s, a.rep_precision,
                       a.rep_recall, a.rep_f1, a.angle_rmse_deg, a.onsets_missed,
                       a.onsets_missed + a.onset_count, a.errors);
  }
  out +=
      "\nVerdict accuracy per scenario (expected verdict from the scenario's truth; docs/VALIDATION.md)\n\n";
  out += "| exercise | scenario | expected |";
  for (double s : snrs) out += fmt::format(" SNR {:g} |", s);
  out += "\n|---|---|---|";
  for (std::size_t i = 0; i < snrs.size(); ++i) out += "---|";
  out += "\n";
  for (Exercise ex : report.settings.exercises) {
    for (sim::Scenario sc :
         report.settings.scenarios.empty() ? sim::all_scenarios() : report.settings.scenarios) {
      if (!sim::scenario_applies(sc, ex)) continue;
      const ExpectedVerdict e = expected_verdict(sc);
      out += fmt::format("| {} | {} | {}{} |", to_string(ex), sim::to_string(sc),
                         e.name == "clean" ? "" : (e.expected ? "" : "not "),
                         e.name == "clean" ? "glute fired, no flag" : e.name);
      for (double s : snrs) {
        const Aggregate a = aggregate_if(runs, s, s, static_cast<int>(ex), static_cast<int>(sc));
        out += fmt::format(" {:.1f} % |", 100.0 * a.verdict_accuracy);
      }
      out += "\n";
    }
  }
  out += condition_table(report, snrs);
  if (report.settings.motion_sources.size() > 1) out += motion_source_table(report, snrs);
  const Aggregate hi = aggregate_if(runs, 20.0, 1e9);
  out += "\nTargets at SNR >= 20 dB (every condition)\n\n";
  auto line = [&](const std::string& what, double value, double target, bool lower_is_better,
                  const std::string& unit) {
    const bool ok = lower_is_better ? value <= target : value >= target;
    out += fmt::format("  {:<28} {:>9.3f} {:<3} target {} {:g} {:<3} {}\n", what, value, unit,
                       lower_is_better ? "<=" : ">=", target, unit, ok ? "PASS" : "FAIL");
  };
  line("onset error median", hi.onset_median_abs_ms, 20.0, true, "ms");
  line("onset error p95", hi.onset_p95_abs_ms, 50.0, true, "ms");
  line("rep F1", hi.rep_f1, 0.98, false, "");
  line("verdict accuracy", 100.0 * hi.verdict_accuracy, 95.0, false, "%");
  // The grid before issue 14's conditions, comparable with earlier reports.
  const Aggregate std_hi = aggregate_if(runs, 20.0, 1e9, -1, -1, "", static_cast<int>(Condition::standard));
  if (std_hi.runs > 0 && std_hi.runs != hi.runs) {
    out += "\nTargets at SNR >= 20 dB (standard condition only)\n\n";
    line("onset error median", std_hi.onset_median_abs_ms, 20.0, true, "ms");
    line("onset error p95", std_hi.onset_p95_abs_ms, 50.0, true, "ms");
    line("rep F1", std_hi.rep_f1, 0.98, false, "");
    line("verdict accuracy", 100.0 * std_hi.verdict_accuracy, 95.0, false, "%");
  }
  return out;
}

nlohmann::json to_json(const ValidationReport& report) {
  using nlohmann::json;
  json j;
  j["settings"] = {{"seeds", report.settings.seeds},
                   {"snr_db", report.settings.snr_db},
                   {"contaminants", report.settings.contaminants},
                   {"reps", report.settings.reps},
                   {"mvc_trials", report.settings.mvc_trials},
                   {"analysis", to_json(report.settings.analysis)}};
  json runs = json::array();
  for (const RunResult& r : report.runs) {
    runs.push_back({{"exercise", std::string(to_string(r.exercise))},
                    {"scenario", std::string(sim::to_string(r.scenario))},
                    {"seed", r.seed},
                    {"snr_db", r.snr_db},
                    {"contaminated", r.contaminated},
                    {"condition", std::string(to_string(r.condition))},
                    {"motion_source", std::string(to_string(r.motion_source))},
                    {"error", r.error},
                    {"truth_reps", r.truth_reps},
                    {"detected_reps", r.detected_reps},
                    {"matched_reps", r.matched_reps},
                    {"verdict_correct", r.verdict_correct},
                    {"verdict_total", r.verdict_total},
                    {"onsets_missed", r.onsets_missed},
                    {"onset_error_ms", r.onset_error_ms},
                    {"onset_muscle", r.onset_muscle},
                    {"angle_rmse_deg", r.angle_rmse_deg},
                    {"movement_onset_error_ms_median", r.movement_onset_error_ms_median}});
  }
  j["runs"] = runs;
  const Aggregate hi = aggregate_if(report.runs, 20.0, 1e9);
  j["targets_snr_ge_20"] = {{"onset_median_abs_ms", hi.onset_median_abs_ms},
                            {"onset_p95_abs_ms", hi.onset_p95_abs_ms},
                            {"rep_f1", hi.rep_f1},
                            {"verdict_accuracy", hi.verdict_accuracy},
                            {"angle_rmse_deg", hi.angle_rmse_deg}};
  return j;
}

}  // namespace glutescope::validation
