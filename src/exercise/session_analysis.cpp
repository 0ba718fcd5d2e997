#include "exercise/session_analysis.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/onset.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/spectrum.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/rep_scoring.hpp"
#include "exercise/rep_segmenter.hpp"
#include "exercise/set_summary.hpp"
#include "exercise/verdicts.hpp"
#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"

#ifndef GLUTESCOPE_VERSION
#define GLUTESCOPE_VERSION "unknown"
#endif

namespace glutescope::exercise {

std::string_view to_string(SetStatus status) noexcept {
  switch (status) {
    case SetStatus::ok:
      return "ok";
    case SetStatus::no_movement:
      return "no_movement";
    case SetStatus::no_imu:
      return "no_imu";
    case SetStatus::unsupported:
      return "unsupported";
  }
  return "unknown";
}

namespace {

struct MarkedSet {
  Exercise exercise = Exercise::other;
  std::string name;  // set_start text of an `other` exercise (other:NAME)
  Muscle muscle = Muscle::other;
  Side side = Side::unknown;
  double start_s = 0.0, stop_s = 0.0;
};

std::vector<MarkedSet> pair_markers(const std::vector<Event>& events, double end_s,
                                    std::vector<std::string>& warnings) {
  std::vector<const Event*> sorted;
  for (const Event& e : events) {
    if (e.kind == EventKind::set_start || e.kind == EventKind::set_stop) sorted.push_back(&e);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->time_s < b->time_s; });
  std::vector<MarkedSet> sets;
  std::optional<MarkedSet> open;
  for (const Event* e : sorted) {
    if (e->kind == EventKind::set_start) {
      if (open) {
        warnings.push_back(fmt::format("set_start at {:.3f} s without set_stop: closed at the next set_start",
                                       open->start_s));
        open->stop_s = e->time_s;
        sets.push_back(*open);
      }
      open = MarkedSet{e->exercise, e->exercise == Exercise::other ? e->text : std::string(),
                       e->muscle,   e->side,
                       e->time_s,   end_s};
    } else if (open) {
      open->stop_s = e->time_s;
      sets.push_back(*open);
      open.reset();
    } else {
      warnings.push_back(fmt::format("set_stop at {:.3f} s without a set_start: ignored", e->time_s));
    }
  }
  if (open) {
    warnings.push_back(fmt::format(
        "set_start at {:.3f} s without set_stop: set runs to the end of the recording", open->start_s));
    sets.push_back(*open);
  }
  return sets;
}

std::optional<motion::BodySegment> body_segment(Segment s) {
  switch (s) {
    case Segment::sacrum:
      return motion::BodySegment::pelvis;
    case Segment::thigh_left:
      return motion::BodySegment::thigh_left;
    case Segment::thigh_right:
      return motion::BodySegment::thigh_right;
    default:
      return std::nullopt;
  }
}

}  // namespace

bool has_gyroscope(const ImuInfo& imu) noexcept {
  return imu.gyro_range_dps > 0.0 && imu.gyro_dps_per_count > 0.0;
}

std::string motion_source_note(const DeviceInfo& device) {
  if (device.imu.empty()) return "no IMU in this session: repetitions cannot be segmented, no rep is scored";
  for (const ImuInfo& imu : device.imu) {
    if (has_gyroscope(imu)) return {};
  }
  return "no gyroscope on any IMU (accelerometer only): live repetitions need one; `analyze` segments the "
         "saved session from the accelerometer's inclination";
}

namespace {

// Gravity direction of every IMU sample, per body segment (empty when the segment has no IMU).
struct GravityTracks {
  std::array<std::vector<Eigen::Vector3d>, motion::kBodySegmentCount> up;
  std::array<bool, motion::kBodySegmentCount> accelerometer_only{};  // no gyroscope: low-passed accelerometer
  std::size_t samples = 0;
  double rate_hz = 0.0;
};

GravityTracks track_gravity(const SessionData& data, const AnalysisSettings& s) {
  GravityTracks g;
  if (data.imu.empty() || data.device.imu.empty()) return g;
  g.rate_hz = data.device.imu.front().rate_hz;
  g.samples = data.imu.front().samples();
  for (std::size_t k = 0; k < data.imu.size() && k < data.montage.imu.size() && k < data.device.imu.size();
       ++k) {
    const auto seg = body_segment(data.montage.imu[k].segment);
    if (!seg || data.imu[k].samples() != g.samples) continue;
    const ImuStream& stream = data.imu[k];
    const ImuInfo& info = data.device.imu[k];
    const auto segment = static_cast<std::size_t>(*seg);
    if (!has_gyroscope(info)) {
      if (!g.up[segment].empty()) continue;  // a 6-axis IMU on the segment wins
      for (const auto& v : accelerometer_gravity(stream, info, s.motion.accelerometer_lowpass_hz))
        g.up[segment].emplace_back(v[0], v[1], v[2]);
      g.accelerometer_only[segment] = !g.up[segment].empty();
      continue;
    }
    g.accelerometer_only[segment] = false;
    motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
    fs.gain = s.motion.orientation_gain;
    fs.sample_rate_hz = info.rate_hz;
    fs.gyroscope_range_dps = info.gyro_range_dps;
    motion::OrientationFilter filter(fs);
    const double dt = 1.0 / info.rate_hz;
    auto& up = g.up[segment];
    up.resize(stream.samples());
    for (std::size_t n = 0; n < stream.samples(); ++n) {
      const Eigen::Vector3d gyro(stream.gyro[3 * n] * info.gyro_dps_per_count,
                                 stream.gyro[3 * n + 1] * info.gyro_dps_per_count,
                                 stream.gyro[3 * n + 2] * info.gyro_dps_per_count);
      const Eigen::Vector3d acc(stream.accel[3 * n] * info.accel_g_per_count,
                                stream.accel[3 * n + 1] * info.accel_g_per_count,
                                stream.accel[3 * n + 2] * info.accel_g_per_count);
      filter.update(gyro, acc, dt);
      up[n] = filter.gravity();
    }
  }
  return g;
}

motion::SegmentGravity gravity_at(const GravityTracks& g, std::size_t n) {
  motion::SegmentGravity out;
  for (std::size_t k = 0; k < motion::kBodySegmentCount; ++k) {
    if (n < g.up[k].size()) out.set(static_cast<motion::BodySegment>(k), g.up[k][n]);
  }
  return out;
}

struct ChannelInvalidity {
  std::vector<std::vector<Interval>> lead_off;  // per channel, EMG sample intervals
  std::vector<Interval> emg_gaps;
  std::vector<Interval> imu_gaps;  // IMU sample intervals (any sensor)
};

ChannelInvalidity invalid_spans(const SessionData& data, double emg_rate, double imu_rate) {
  ChannelInvalidity inv;
  const std::size_t channels = data.emg_channels();
  const std::size_t samples = data.emg_samples();
  inv.lead_off.resize(channels);
  std::vector<std::optional<std::size_t>> off_since(channels);
  std::vector<const Event*> sorted;
  for (const Event& e : data.events) sorted.push_back(&e);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->time_s < b->time_s; });
  for (const Event* e : sorted) {
    if (e->channel < 0 || static_cast<std::size_t>(e->channel) >= channels) continue;
    const auto c = static_cast<std::size_t>(e->channel);
    if (e->kind == EventKind::lead_off && !off_since[c])
      off_since[c] = to_index(e->time_s, emg_rate, samples);
    if (e->kind == EventKind::lead_on && off_since[c]) {
      inv.lead_off[c].push_back({*off_since[c], to_index(e->time_s, emg_rate, samples)});
      off_since[c].reset();
    }
  }
  for (std::size_t c = 0; c < channels; ++c) {
    if (off_since[c]) inv.lead_off[c].push_back({*off_since[c], samples});
  }
  for (const Gap& gap : data.gaps) {
    const Interval iv{static_cast<std::size_t>(gap.start_sample),
                      static_cast<std::size_t>(gap.start_sample + gap.count)};
    (gap.stream == StreamKind::emg ? inv.emg_gaps : inv.imu_gaps).push_back(iv);
  }
  (void)imu_rate;
  return inv;
}

struct SessionContext {
  const SessionData& data;
  const AnalysisSettings& settings;
  double emg_rate = 0.0;
  std::vector<double> mvc_reference;
  GravityTracks gravity;
  ChannelInvalidity invalid;
  std::int32_t rail_low = -32768, rail_high = 32767;
};

}  // namespace

namespace {

// What score_set decided from the IMU alone, and what the per-channel pass fills in: everything a set needs
// before and after the EMG conditioning (analyse_session conditions one channel group at a time).
struct SetPlan {
  bool scored = false;  // status ok and reps found: EMG work to do
  std::vector<Repetition> reps;
  std::vector<RepScore> scores;             // begun (begin_repetition), channels filled per channel
  std::vector<std::string> emg_gap_reason;  // per rep
  std::size_t e0 = 0, e1 = 0;               // the set in EMG samples
  Interval still;  // the set's initial still period (EMG samples; empty when the first rep starts at once)
  bool amplitudes_comparable = false;
  RepScoringContext rc;  // signals/baseline unused (per-channel pass); normalisation at the end
  std::vector<SetOnsetBaseline> baseline;  // per channel
  std::vector<double> set_peak_uv;  // per channel: peak_amplitude over [e0, e1) (fallback normalisation)
  std::size_t set_range = 0;        // index of [e0, e1) in the peak ranges; reps' [m0, mh) follow it
  std::size_t mean_range = 0;       // index of rep 0's [m0, mc) in the mean ranges; [mc, mh), [m0, mh) follow
  std::size_t window_range = 0;     // index of rep 0's spectral window in the filtered windows, one per rep
};

// The set's driving and pelvic angles at the IMU rate (set.angle_time_s ...), calibrated on the still period
// after the set start; the clamshell's upper leg is the thigh that rotates most. false (and set.status) when
// the set is shorter than its still period.
bool set_angles(const GravityTracks& g, const AnalysisSettings& s, SetAnalysis& set) {
  // --- Angles over the set --------------------------------------------------------------------------------
  const double imu_rate = g.rate_hz;
  const std::size_t i0 = to_index(set.start_s, imu_rate, g.samples);
  const std::size_t i1 = to_index(set.stop_s, imu_rate, g.samples);
  const std::size_t still_end = std::min(
      i1, i0 + std::max<std::size_t>(1, static_cast<std::size_t>(s.motion.still_period_s * imu_rate)));
  if (i1 <= still_end + 2) {
    set.status = SetStatus::no_movement;
    set.status_message = "set shorter than its still period: no movement to analyse";
    return false;
  }
  motion::StillPeriodAverage still;
  for (std::size_t n = i0; n < still_end; ++n) still.add(gravity_at(g, n));
  const motion::SegmentGravity neutral = still.mean();

  motion::AngleSettings angle_settings;
  angle_settings.exercise = set.exercise;
  if (set.exercise == Exercise::clamshell) {
    // The upper leg is the one whose thigh rotates most during the set.
    auto excursion = [&](std::size_t k) {
      double worst = -1.0;
      if (g.up[k].empty() || !neutral.valid[k]) return worst;
      for (std::size_t n = still_end; n < i1; ++n)
        worst = std::max(worst, 1.0 - g.up[k][n].dot(neutral.up_sensor[k]));
      return worst;
    };
    angle_settings.upper_side = excursion(1) >= excursion(2) ? Side::left : Side::right;
    set.working_side = angle_settings.upper_side;
  } else {
    set.working_side = Side::midline;
  }
  motion::AngleCalculator angles(angle_settings);
  angles.calibrate(neutral);
  // Sized once: grown by push_back, an hour's four series took 8.4 MB each for 5.8 MB of samples.
  for (std::vector<double>* series :
       {&set.angle_time_s, &set.driving_angle_deg, &set.pelvic_tilt_rel_deg, &set.pelvic_roll_rel_deg})
    series->reserve(series->size() + (i1 - i0));
  for (std::size_t n = i0; n < i1; ++n) {
    const motion::JointAngles a = angles.compute(gravity_at(g, n));
    set.angle_time_s.push_back(static_cast<double>(n) / imu_rate);
    set.driving_angle_deg.push_back(a.driving_deg);
    set.pelvic_tilt_rel_deg.push_back(a.pelvic_tilt_rel_deg);
    set.pelvic_roll_rel_deg.push_back(a.pelvic_roll_rel_deg);
  }
  return true;
}

// Segments a set's driving signal (angle_time_s / driving_angle_deg, already filled) at `rate_hz`; pelvic
// angles only when a pelvis IMU gave them. Empty (with status no_movement) when nothing repeats.
std::vector<Repetition> segment_driving(const AnalysisSettings& s, SetAnalysis& set, double rate_hz,
                                        bool with_pelvis, std::string_view unit) {
  RepSegmenterSettings seg = s.motion.segmenter;
  seg.sample_rate_hz = rate_hz;
  if (set.motion_source == MotionSource::angle) {
    // A goniometer's range of motion can be several times the provisional 20 deg (a knee: 60-110 deg), and a
    // subject who does not return fully to the start between reps never falls below an exit level scaled on
    // 20 deg: the first pass starts from the channel's own range (95th percentile above the start) instead.
    std::vector<double> finite;
    for (double a : set.driving_angle_deg) {
      if (std::isfinite(a)) finite.push_back(a);
    }
    if (!finite.empty()) {
      const auto k = static_cast<std::ptrdiff_t>(finite.size() * 95 / 100);
      std::nth_element(finite.begin(), finite.begin() + k, finite.end());
      seg.provisional_rom_deg = std::max(seg.provisional_rom_deg, finite[static_cast<std::size_t>(k)]);
    }
  }
  std::vector<double> tilt, roll;
  if (with_pelvis) tilt = set.pelvic_tilt_rel_deg, roll = set.pelvic_roll_rel_deg;
  std::vector<Repetition> reps =
      RepSegmenter::segment_set(set.driving_angle_deg, set.angle_time_s, seg, tilt, roll);
  if (reps.empty()) {
    double excursion = 0.0;
    for (double a : set.driving_angle_deg) {
      if (std::isfinite(a)) excursion = std::max(excursion, std::abs(a));
    }
    set.status = SetStatus::no_movement;
    set.status_message =
        fmt::format("no repetition detected: the driving signal ({}) moved at most {:.1f} {} from the start",
                    describe(set.motion_source), excursion, unit);
  }
  return reps;
}

// Sources a and b: the IMUs (6-axis, or accelerometer only). nullopt when they cannot drive this exercise.
std::optional<std::vector<Repetition>> imu_repetitions(const SessionContext& ctx, SetAnalysis& set) {
  const GravityTracks& g = ctx.gravity;
  const bool have_pelvis = !g.up[0].empty();
  const bool have_left = !g.up[1].empty();
  const bool have_right = !g.up[2].empty();
  const bool bridge = set.exercise == Exercise::bridge && (have_pelvis || have_left || have_right);
  const bool clamshell = set.exercise == Exercise::clamshell && (have_left || have_right);
  if (g.samples == 0 || (!bridge && !clamshell)) return std::nullopt;
  bool accel = false;
  for (std::size_t k = 0; k < motion::kBodySegmentCount; ++k) accel = accel || g.accelerometer_only[k];
  set.motion_source = accel ? MotionSource::accelerometer : MotionSource::imu;
  std::vector<std::string_view> used;
  if (have_pelvis) used.emplace_back("sacrum");
  if (have_left) used.emplace_back("thigh_left");
  if (have_right) used.emplace_back("thigh_right");
  set.motion_detail = fmt::format("IMU on {}", fmt::join(used, ", "));
  if (!set_angles(g, ctx.settings, set)) return std::vector<Repetition>{};
  return segment_driving(ctx.settings, set, g.rate_hz, have_pelvis, "deg");
}

// Pelvic tilt (posterior positive) and roll channels sampled like the driving channel `a`, relative to their
// means over [i0, still_end): they fill the set's pelvic angles (pelvic verdict). false when there are none.
bool pelvic_angle_channels(const std::vector<AngleChannel>& angles, const AngleChannel& a, std::size_t i0,
                           std::size_t i1, std::size_t still_end, SetAnalysis& set) {
  const auto relative = [&](JointMotion motion) {
    std::vector<double> out(i1 - i0, kNaN);
    for (const AngleChannel& p : angles) {
      if (p.joint != Joint::pelvis || p.motion != motion || p.rate_hz != a.rate_hz || p.deg.size() < i1)
        continue;
      double rest = 0.0, count = 0.0;
      for (std::size_t n = i0; n < still_end; ++n) {
        if (std::isfinite(p.deg[n])) rest += p.deg[n], count += 1.0;
      }
      rest /= count;  // NaN without a value: every relative angle NaN, the verdict not available
      for (std::size_t n = i0; n < i1; ++n) out[n - i0] = p.deg[n] - rest;
      return std::pair{out, true};
    }
    return std::pair{out, false};
  };
  auto [tilt, has_tilt] = relative(JointMotion::tilt);
  auto [roll, has_roll] = relative(JointMotion::roll);
  if (!has_tilt && !has_roll) return false;
  set.pelvic_tilt_rel_deg = std::move(tilt);
  set.pelvic_roll_rel_deg = std::move(roll);
  return true;
}

// Source c: an angle channel, relative to its mean over the still period after the set start.
std::optional<std::vector<Repetition>> angle_repetitions(const SessionContext& ctx, SetAnalysis& set) {
  const std::vector<AngleChannel>& angles = ctx.data.angles;
  const std::string_view name = std::string_view(set.exercise_name).substr(set.exercise_name.find(':') + 1);
  const std::vector<AngleChoice> candidates = angle_candidates(angles, set.exercise, name);
  if (candidates.empty()) return std::nullopt;
  // Several candidates (left and right hip, say): the one that moves most over the set.
  double best_range = -1.0;
  AngleChoice choice = candidates.front();
  for (const AngleChoice& c : candidates) {
    const AngleChannel& a = angles[c.channel];
    const std::size_t i0 = to_index(set.start_s, a.rate_hz, a.deg.size());
    const std::size_t i1 = to_index(set.stop_s, a.rate_hz, a.deg.size());
    double lo = kNaN, hi = kNaN;
    for (std::size_t n = i0; n < i1; ++n) {
      if (!std::isfinite(a.deg[n])) continue;
      lo = std::isfinite(lo) ? std::min(lo, a.deg[n]) : a.deg[n];
      hi = std::isfinite(hi) ? std::max(hi, a.deg[n]) : a.deg[n];
    }
    if (std::isfinite(hi) && hi - lo > best_range) best_range = hi - lo, choice = c;
  }
  const AngleChannel& a = angles[choice.channel];
  set.motion_source = MotionSource::angle;
  set.motion_detail = fmt::format("{} ({} {}{}, {})", a.label, to_string(a.joint), to_string(a.motion),
                                  choice.sign < 0.0 ? " negated" : "", to_string(a.side));
  if (set.exercise == Exercise::clamshell) set.working_side = a.side;
  const std::size_t i0 = to_index(set.start_s, a.rate_hz, a.deg.size());
  const std::size_t i1 = to_index(set.stop_s, a.rate_hz, a.deg.size());
  const std::size_t still_end =
      std::min(i1, i0 + std::max<std::size_t>(
                            1, static_cast<std::size_t>(ctx.settings.motion.still_period_s * a.rate_hz)));
  double rest = 0.0;
  std::size_t count = 0;
  for (std::size_t n = i0; n < still_end; ++n) {
    if (std::isfinite(a.deg[n])) rest += a.deg[n], ++count;
  }
  if (count == 0 || i1 <= still_end + 2) {
    set.status = SetStatus::no_movement;
    set.status_message = "angle channel: no value in the set's still period, or set too short";
    return std::vector<Repetition>{};
  }
  rest /= static_cast<double>(count);
  for (std::size_t n = i0; n < i1; ++n) {
    set.angle_time_s.push_back(static_cast<double>(n) / a.rate_hz);
    set.driving_angle_deg.push_back(choice.sign * (a.deg[n] - rest));
  }
  const bool pelvis = pelvic_angle_channels(angles, a, i0, i1, still_end, set);
  return segment_driving(ctx.settings, set, a.rate_hz, pelvis, "deg");
}

// Source e: bursts of the target muscles. Empty optional when the montage has no target channel.
std::optional<std::vector<Repetition>> emg_repetitions(const SessionContext& ctx, SetAnalysis& set) {
  const std::vector<std::size_t> targets = target_channels(ctx.data.montage, set.exercise, ctx.settings);
  if (targets.empty()) return std::nullopt;
  ActivationTrack track = emg_activation(ctx.data, ctx.settings, targets, set.start_s, set.stop_s);
  set.motion_source = MotionSource::emg;
  std::string labels;
  for (std::size_t c : targets) labels += (labels.empty() ? "" : " ") + ctx.data.montage.emg[c].label;
  set.motion_detail = "bursts of " + labels;
  if (track.time_s.empty()) {
    set.status = SetStatus::no_movement;
    set.status_message = "set too short for EMG bursts";
    return std::vector<Repetition>{};
  }
  std::vector<Repetition> reps = burst_repetitions(track, ctx.settings.motion.segmenter);
  set.angle_time_s = std::move(track.time_s);
  set.driving_angle_deg = std::move(track.pct);
  if (reps.empty()) {
    set.status = SetStatus::no_movement;
    set.status_message =
        "no repetition detected: no burst of the target muscles stood out of their rest level";
  }
  return reps;
}

// A set's repetitions from its best motion source (IMU, accelerometer, angle channel, repetition events,
// EMG bursts). Empty (set.status and set.status_message say why) for a set that cannot be scored.
std::vector<Repetition> best_source_repetitions(const SessionContext& ctx, SetAnalysis& set) {
  if (set.exercise == Exercise::bridge || set.exercise == Exercise::clamshell) {
    if (auto reps = imu_repetitions(ctx, set)) return std::move(*reps);
  }
  if (auto reps = angle_repetitions(ctx, set)) return std::move(*reps);
  std::vector<Repetition> events = event_repetitions(ctx.data.events, set.start_s, set.stop_s);
  if (!events.empty()) {
    set.motion_source = MotionSource::events;
    set.motion_detail = fmt::format("{} rep_start/rep_end pairs", events.size());
    return events;
  }
  if (auto reps = emg_repetitions(ctx, set)) return std::move(*reps);
  set.status = SetStatus::no_imu;
  set.status_message =
      "no motion source: no IMU on the pelvis or thighs, no angle channel, no repetition events and no "
      "target "
      "muscle channel; repetitions cannot be segmented";
  return {};
}

// The repetitions, and for a clamshell whose source does not say which leg is up, the side from the EMG.
std::vector<Repetition> set_repetitions(const SessionContext& ctx, SetAnalysis& set) {
  std::vector<Repetition> reps = best_source_repetitions(ctx, set);
  const bool sided = set.working_side == Side::left || set.working_side == Side::right;
  if (set.exercise == Exercise::clamshell && !sided) {
    set.working_side = more_active_side(ctx.data, Muscle::gluteus_medius, set.start_s, set.stop_s);
    set.motion_detail += "; upper leg from gluteus medius activity";
  }
  return reps;
}

// Most anterior pelvic tilt (lowest relative tilt) during a rep; NaN if none.
double lowest_tilt(const SetAnalysis& set, const Repetition& r) {
  double lowest = kNaN;
  if (set.pelvic_tilt_rel_deg.size() != set.angle_time_s.size()) return lowest;  // no pelvic IMU angles
  // angle_time_s increases with k: only the samples inside [start_s, end_s] are visited.
  const auto from = std::lower_bound(set.angle_time_s.begin(), set.angle_time_s.end(), r.start_s);
  for (auto k = static_cast<std::size_t>(from - set.angle_time_s.begin()); k < set.angle_time_s.size(); ++k) {
    const double t = set.angle_time_s[k];
    if (t > r.end_s) break;
    if (t < r.start_s || !std::isfinite(set.pelvic_tilt_rel_deg[k])) continue;
    if (!std::isfinite(lowest) || set.pelvic_tilt_rel_deg[k] < lowest) lowest = set.pelvic_tilt_rel_deg[k];
  }
  return lowest;
}

// A set's repetitions (IMU), onset baseline window and scoring context; `scored` false (set.status says why)
// for a set that cannot be scored.
SetPlan plan_set(SessionContext& ctx, SetAnalysis& set) {
  SetPlan plan;
  const AnalysisSettings& s = ctx.settings;
  const SessionData& data = ctx.data;
  const Montage& montage = data.montage;
  const std::size_t channels = data.emg_channels();
  const std::size_t emg_samples = data.emg_samples();
  const double rate = ctx.emg_rate;

  const std::vector<Repetition> reps = set_repetitions(ctx, set);
  if (reps.empty()) return plan;
  const GravityTracks& g = ctx.gravity;
  // The pelvic verdicts and the IMU gaps only concern reps the IMUs segmented.
  const bool from_imu =
      set.motion_source == MotionSource::imu || set.motion_source == MotionSource::accelerometer;
  const bool pelvic_angles = set.motion_source == MotionSource::angle && !set.pelvic_roll_rel_deg.empty();
  const bool have_pelvis = (from_imu && !g.up[0].empty()) || pelvic_angles;
  const double imu_rate = g.rate_hz;

  // --- Onset baseline window and the scoring context ------------------------------------------------------
  plan.e0 = to_index(set.start_s, rate, emg_samples);
  plan.e1 = to_index(set.stop_s, rate, emg_samples);
  // Baseline: the set's initial still period, ending well before the first movement.
  const std::size_t b0 =
      std::min(plan.e1, plan.e0 + static_cast<std::size_t>(s.onset.baseline_offset_ms * rate / 1000.0));
  const double first_move_s = reps.front().start_s - s.onset.pre_movement_ms / 1000.0;
  std::size_t b1 = std::min(b0 + static_cast<std::size_t>(s.onset.baseline_ms * rate / 1000.0),
                            to_index(first_move_s, rate, emg_samples));
  plan.still = {b0, std::max(b0, b1)};

  RepScoringContext& rc = plan.rc;
  rc.montage = &montage;
  rc.settings = &s;
  rc.exercise = set.exercise;
  rc.working_side = set.working_side;
  rc.emg_rate_hz = rate;
  rc.first_sample = 0;
  rc.end_sample = emg_samples;
  rc.emg_counts = data.emg_counts;
  rc.rail_low = ctx.rail_low;
  rc.rail_high = ctx.rail_high;
  rc.have_pelvis = have_pelvis;
  rc.lead_off = ctx.invalid.lead_off;
  rc.emg_gaps = ctx.invalid.emg_gaps;
  if (from_imu) rc.imu_gaps = ctx.invalid.imu_gaps;
  rc.imu_rate_hz = imu_rate;
  rc.imu_samples = from_imu ? g.samples : 0;
  plan.baseline.resize(channels);
  plan.set_peak_uv.assign(channels, kNaN);
  for (const Repetition& r : reps) {
    plan.emg_gap_reason.emplace_back();
    plan.scores.push_back(begin_repetition(rc, r, lowest_tilt(set, r), plan.emg_gap_reason.back()));
  }
  plan.reps = reps;
  plan.scored = true;
  return plan;
}

// The per-channel part of a planned set: onset baseline, set peak, and every rep's channel score.
void score_set_channel(SetPlan& plan, std::size_t c, const ChannelSignalsView& sig, double rate,
                       std::vector<double>& scratch) {
  const AnalysisSettings& s = *plan.rc.settings;
  std::vector<RepSpan> spans;
  for (const Repetition& r : plan.reps) {
    const RepWindow w = rep_window(plan.rc, r);
    spans.push_back({w.w0, w.m0, w.mh, w.m1});
  }
  plan.baseline[c] =
      plan_onset_baseline(sig.onset_signal, 0, {plan.e0, plan.e1}, plan.still, spans, rate, s.onset);
  plan.set_peak_uv[c] = sig.range_peaks_uv[plan.set_range];
  for (std::size_t k = 0; k < plan.reps.size(); ++k) {
    const std::size_t m = plan.mean_range + 3 * k;
    const RepEnvelopeValues values{sig.range_means_uv[m], sig.range_means_uv[m + 1],
                                   sig.range_means_uv[m + 2], sig.filtered_window(plan.window_range + k)};
    const ChannelView view{{}, sig.onset_signal, {}, &values};
    score_channel(plan.rc, plan.reps[k], c, view, sig.range_peaks_uv[plan.set_range + 1 + k],
                  plan.baseline[c].reps[k], plan.scores[k].valid, plan.emg_gap_reason[k],
                  plan.scores[k].channels[c], scratch);
  }
}

// What the set's exercise and motion source cannot support: the glute verdicts are defined for bridges and
// clamshells only; reps segmented from EMG bursts have no movement onset, so the onset times relative to it
// and the timing verdict are not available.
void restrict_verdicts(const SetAnalysis& set, RepScore& rep) {
  const auto unavailable = [](std::string reason) {
    Verdict v;
    v.reason = std::move(reason);
    return v;
  };
  if (set.exercise != Exercise::bridge && set.exercise != Exercise::clamshell) {
    RepVerdicts& v = rep.verdicts;
    v.glute_fired = v.lumbar_dominant = v.late_glute = v.pelvic_compensation = v.hamstring_dominance =
        v.tfl_substitution = unavailable("glute verdicts are defined for bridges and clamshells only");
  } else if (set.motion_source == MotionSource::emg) {
    rep.verdicts.late_glute = unavailable("needs the movement onset: segmented from EMG without motion");
  }
  if (set.motion_source == MotionSource::emg) {
    for (ChannelRepScore& cs : rep.channels) cs.onset_rel_ms = kNaN;
  }
  rep.summary = plain_language_summary(rep);
}

// Normalisation, verdicts and the set summary once every channel has been scored.
void finish_set(SessionContext& ctx, SetAnalysis& set, SetPlan& plan) {
  const AnalysisSettings& s = ctx.settings;
  const Montage& montage = ctx.data.montage;
  set.normalisation = choose_normalisation(montage, ctx.mvc_reference, plan.set_peak_uv);
  const bool amplitudes_comparable =
      set.normalisation.kind == NormalisationKind::mvic || s.verdicts.ratios_without_mvc;
  plan.rc.normalisation = set.normalisation;
  set.onset_baseline = std::move(plan.baseline);
  for (SetOnsetBaseline& b : set.onset_baseline) b.reps.clear();  // per rep: the reps' onset_state
  for (RepScore& rep : plan.scores) {
    decide_verdicts(verdict_context(plan.rc), rep);
    restrict_verdicts(set, rep);
    set.reps.push_back(std::move(rep));
  }

  set.summary = summarise_set(montage, set.reps, amplitudes_comparable);
  const SetSummary& sum = set.summary;
  set.status = SetStatus::ok;
  set.status_message =
      fmt::format("{} reps ({} partial), {} scored", sum.reps, sum.partial_reps, sum.valid_reps);
}

// The shape checks analyse_session makes before any work (throws std::invalid_argument naming the problem).
void check_session_data(const SessionData& data) {
  const std::size_t channels = data.emg_channels();
  if (channels == 0) throw std::invalid_argument("session has no EMG channels in its montage");
  if (data.emg_counts.size() % channels != 0) {
    throw std::invalid_argument(fmt::format("EMG counts ({}) are not a whole number of rows of {} channels",
                                            data.emg_counts.size(), channels));
  }
  if (!(data.device.emg_rate_hz > 0.0) || !std::isfinite(data.device.emg_rate_hz)) {
    throw std::invalid_argument("DeviceInfo::emg_rate_hz must be positive");
  }
  for (std::size_t k = 0; k < data.imu.size(); ++k) {
    if (data.imu[k].accel.size() != data.imu[k].gyro.size() || data.imu[k].accel.size() % 3 != 0) {
      throw std::invalid_argument(
          fmt::format("IMU {}: accelerometer and gyroscope streams differ in length", k));
    }
    if (data.imu[k].samples() != data.imu.front().samples()) {
      throw std::invalid_argument(
          "IMU streams of different lengths: expected one row per sample index for every sensor");
    }
    if (k >= data.device.imu.size() || !(data.device.imu[k].rate_hz > 0.0)) {
      throw std::invalid_argument(fmt::format("IMU {} has no rate in DeviceInfo", k));
    }
  }
}

// MVC trials from the paired markers, on EMG samples.
std::vector<MvcTrial> mvc_trials_of(const std::vector<MarkedSet>& marked, double emg_rate,
                                    std::size_t samples) {
  std::vector<MvcTrial> trials;
  for (const MarkedSet& m : marked) {
    if (m.exercise != Exercise::mvc) continue;
    MvcTrial t;
    t.muscle = m.muscle;
    t.side = m.side;
    t.begin_sample = to_index(m.start_s, emg_rate, samples);
    t.end_sample = to_index(m.stop_s, emg_rate, samples);
    trials.push_back(t);
  }
  return trials;
}

// What the EMG pass computes as the signals stream past (ConditioningRequests):
//   - peaks of the smoothed envelope: the MVC trials, then per scored set the set and each rep's movement
//     (concentric + hold); each plan's set_range says where its ranges start;
//   - means of the RMS envelope: per scored set and rep [m0, mc), [mc, mh), [m0, mh) (plan.mean_range);
//   - filtered windows: per scored set and rep its spectral window, empty when there is none
//     (plan.window_range).
struct EmgRequests {
  std::vector<Interval> peaks, means, windows;
};
EmgRequests emg_requests_of(const std::vector<MvcTrial>& trials, std::vector<SetPlan>& plans,
                            std::size_t samples) {
  EmgRequests q;
  q.peaks.reserve(trials.size() + plans.size());  // at least one range per trial and per set
  for (const MvcTrial& t : trials) q.peaks.push_back({t.begin_sample, t.end_sample});
  for (SetPlan& plan : plans) {
    if (!plan.scored) continue;
    plan.set_range = q.peaks.size();
    plan.mean_range = q.means.size();
    plan.window_range = q.windows.size();
    q.peaks.push_back({plan.e0, plan.e1});
    for (const Repetition& r : plan.reps) {
      const RepWindow w = rep_window(plan.rc, r);
      q.peaks.push_back({w.m0, w.mh});
      q.means.insert(q.means.end(), {{w.m0, w.mc}, {w.mc, w.mh}, {w.m0, w.mh}});
      q.windows.push_back(spectral_window(plan.rc, w, samples));
    }
  }
  return q;
}

}  // namespace

SessionAnalysis analyse_session(const SessionData& data, const AnalysisSettings& settings,
                                double envelope_rate_hz, std::size_t threads) {
  validate(settings);
  check_session_data(data);
  const std::size_t channels = data.emg_channels();
  SessionAnalysis out;
  out.software_version = GLUTESCOPE_VERSION;
  out.settings = settings;
  SessionContext ctx{data, settings, 0.0, {}, {}, {}, -32768, 32767};
  ctx.emg_rate = data.device.emg_rate_hz;
  if (data.device.emg_format == SampleFormat::int24) ctx.rail_low = -8388608, ctx.rail_high = 8388607;
  const std::size_t samples = data.emg_samples();
  for (std::string& note : rate_adaptation_notes(ctx.emg_rate, settings))
    out.warnings.push_back(std::move(note));
  // The IMUs' limits stay a session warning (each set also says what it was segmented from).
  if (std::string note = motion_source_note(data.device); !note.empty() && !data.device.imu.empty())
    out.warnings.push_back(std::move(note));

  ctx.invalid =
      invalid_spans(data, ctx.emg_rate, data.device.imu.empty() ? 0.0 : data.device.imu.front().rate_hz);
  const double end_s = static_cast<double>(samples) / ctx.emg_rate;
  const std::vector<MarkedSet> marked = pair_markers(data.events, end_s, out.warnings);
  out.mvc_trials = mvc_trials_of(marked, ctx.emg_rate, samples);

  // IMU first (orientation, angles, repetitions): it tells the EMG pass which windows each set scores.
  ctx.gravity = track_gravity(data, settings);
  if (marked.empty()) out.warnings.push_back("no set_start/set_stop markers: nothing to score");
  std::vector<SetPlan> plans;
  for (const MarkedSet& m : marked) {
    if (m.exercise == Exercise::mvc) continue;
    SetAnalysis set;
    set.exercise = m.exercise;
    set.exercise_name =
        m.exercise == Exercise::other ? "other:" + m.name : std::string(to_string(m.exercise));
    set.start_s = m.start_s;
    set.stop_s = m.stop_s;
    plans.push_back(plan_set(ctx, set));
    out.sets.push_back(std::move(set));
  }

  // The gravity tracks (24 bytes a segment and IMU sample) have served the plans: free them before the EMG
  // pass allocates its buffers (lower peak memory).
  ctx.gravity = GravityTracks{};

  // EMG, one channel group at a time: MVC reference, plot envelope, and each set's channel scores.
  ctx.mvc_reference.assign(channels, kNaN);
  std::size_t block = 0, rows = 0;
  if (envelope_rate_hz > 0.0) {
    block = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(ctx.emg_rate / envelope_rate_hz)));
    rows = samples / block;
    out.envelope_rate_hz = ctx.emg_rate / static_cast<double>(block);
    out.envelope_uv.assign(rows * channels, 0.0f);
  }
  const EmgRequests requests = emg_requests_of(out.mvc_trials, plans, samples);
  const ConditioningRequests asked{requests.peaks, requests.means, requests.windows, block};
  // Channel c's visit writes only channel c's results (envelope column, MVC reference, baselines, set peak
  // and rep scores), so visits may run at once (threads).
  const auto visit = [&](std::size_t c, const ChannelSignalsView& sig) {
    thread_local std::vector<double> scratch;
    for (std::size_t r = 0; r < rows; ++r)
      out.envelope_uv[r * channels + c] = static_cast<float>(sig.envelope_uv[r]);
    ctx.mvc_reference[c] =
        mvc_reference(data.montage.emg[c], out.mvc_trials, sig.range_peaks_uv.first(out.mvc_trials.size()));
    for (SetPlan& plan : plans) {
      if (plan.scored) score_set_channel(plan, c, sig, ctx.emg_rate, scratch);
    }
  };
  condition_session_offline(data, settings, asked, visit, threads);
  out.mvc_reference_uv = ctx.mvc_reference;

  for (std::size_t i = 0; i < plans.size(); ++i) {
    SetAnalysis& set = out.sets[i];
    if (plans[i].scored) finish_set(ctx, set, plans[i]);
    for (const RepScore& rep : set.reps) {
      ++out.reps;
      for (std::size_t k = 0; k < kVerdictCount; ++k)
        count_verdict(out.verdicts[k], verdict_at(rep.verdicts, k).state);
    }
  }
  return out;
}

}  // namespace glutescope::exercise
