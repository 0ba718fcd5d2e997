#include "exercise/motion_sources.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "dsp/filter_design.hpp"
#include "dsp/zero_phase.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/rep_scoring.hpp"

namespace glutescope::exercise {

std::string_view to_string(MotionSource source) noexcept {
  switch (source) {
    case MotionSource::none:
      return "none";
    case MotionSource::imu:
      return "imu";
    case MotionSource::accelerometer:
      return "accelerometer";
    case MotionSource::angle:
      return "angle";
    case MotionSource::events:
      return "events";
    case MotionSource::emg:
      return "emg";
  }
  return "none";
}

std::string_view describe(MotionSource source) noexcept {
  switch (source) {
    case MotionSource::none:
      return "no motion source";
    case MotionSource::imu:
      return "6-axis IMU";
    case MotionSource::accelerometer:
      return "accelerometer only (inclination from gravity)";
    case MotionSource::angle:
      return "angle channel";
    case MotionSource::events:
      return "repetition events";
    case MotionSource::emg:
      return "EMG without motion";
  }
  return "no motion source";
}

std::vector<std::array<double, 3>> accelerometer_gravity(const ImuStream& stream, const ImuInfo& info,
                                                         double cutoff_hz) {
  const std::size_t n = stream.samples();
  // sosfiltfilt pads with 3 x (2 x sections + 1) samples on each side and needs more than that.
  if (n < 32 || !(info.rate_hz > 2.0 * cutoff_hz) || !(info.accel_g_per_count > 0.0)) return {};
  std::vector<double> g(3 * n);
  for (std::size_t i = 0; i < 3 * n; ++i) g[i] = stream.accel[i] * info.accel_g_per_count;
  const dsp::SosCoefficients sos = dsp::butterworth_lowpass(2, cutoff_hz, info.rate_hz);
  dsp::sosfiltfilt_interleaved(sos, g, 3, g);
  std::vector<std::array<double, 3>> up(n);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t i = 0; i < n; ++i) {
    const double x = g[3 * i], y = g[3 * i + 1], z = g[3 * i + 2];
    const double norm = std::sqrt(x * x + y * y + z * z);
    up[i] = norm > 0.1 ? std::array<double, 3>{x / norm, y / norm, z / norm}
                       : std::array<double, 3>{nan, nan, nan};
  }
  return up;
}

namespace {

// "<joint>_<motion>" -> (joint, motion), e.g. "knee_extension", "hip_abduction".
std::optional<std::pair<Joint, JointMotion>> joint_motion_of(std::string_view name) {
  const std::size_t cut = name.find('_');
  if (cut == std::string_view::npos) return std::nullopt;
  const auto joint = parse_joint(name.substr(0, cut));
  const auto motion = parse_joint_motion(name.substr(cut + 1));
  if (!joint || !motion) return std::nullopt;
  return std::pair{*joint, *motion};
}

// +1 when the channel measures `motion`, -1 when it measures its opposite (extension <-> flexion), 0 else.
double motion_sign(JointMotion channel, JointMotion wanted) {
  if (channel == wanted) return 1.0;
  const bool pair = (channel == JointMotion::extension && wanted == JointMotion::flexion) ||
                    (channel == JointMotion::flexion && wanted == JointMotion::extension);
  return pair ? -1.0 : 0.0;
}

void add_matching(const std::vector<AngleChannel>& angles, Joint joint, JointMotion motion,
                  std::vector<AngleChoice>& out) {
  for (std::size_t k = 0; k < angles.size(); ++k) {
    const double sign = motion_sign(angles[k].motion, motion);
    if (angles[k].joint == joint && sign != 0.0) out.push_back({k, sign});
  }
}

}  // namespace

std::vector<AngleChoice> angle_candidates(const std::vector<AngleChannel>& angles, Exercise exercise,
                                          std::string_view exercise_name) {
  std::vector<AngleChoice> out;
  switch (exercise) {
    case Exercise::bridge:
      add_matching(angles, Joint::hip, JointMotion::extension, out);
      if (out.empty()) add_matching(angles, Joint::pelvis, JointMotion::tilt, out);
      break;
    case Exercise::clamshell:
      add_matching(angles, Joint::hip, JointMotion::abduction, out);
      break;
    case Exercise::other:
      if (const auto jm = joint_motion_of(exercise_name)) add_matching(angles, jm->first, jm->second, out);
      break;
    case Exercise::mvc:
      break;
  }
  return out;
}

namespace {

// A repetition whose phases are unknown: concentric = first half, no hold, eccentric = second half.
Repetition unphased_repetition(std::size_t index, double start_s, double end_s) {
  Repetition r;
  r.index = index;
  r.start_s = start_s;
  r.end_s = end_s;
  r.concentric_end_s = r.hold_end_s = r.peak_s = 0.5 * (start_s + end_s);
  r.rom_deg = r.peak_angle_deg = r.rom_fraction = std::numeric_limits<double>::quiet_NaN();
  return r;
}

}  // namespace

std::vector<Repetition> event_repetitions(const std::vector<Event>& events, double start_s, double stop_s) {
  std::vector<const Event*> sorted;
  for (const Event& e : events) {
    if ((e.kind == EventKind::rep_start || e.kind == EventKind::rep_end) && e.time_s >= start_s &&
        e.time_s <= stop_s)
      sorted.push_back(&e);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Event* a, const Event* b) { return a->time_s < b->time_s; });
  std::vector<Repetition> reps;
  const Event* open = nullptr;
  for (const Event* e : sorted) {
    if (e->kind == EventKind::rep_start) {
      open = e;
      continue;
    }
    if (open == nullptr || !(e->time_s > open->time_s)) continue;
    reps.push_back(unphased_repetition(reps.size(), open->time_s, e->time_s));
    open = nullptr;
  }
  return reps;
}

std::vector<std::size_t> target_channels(const Montage& montage, Exercise exercise,
                                         const AnalysisSettings& settings) {
  (void)settings;
  std::vector<std::size_t> out;
  if (exercise != Exercise::bridge && exercise != Exercise::clamshell) {
    for (std::size_t c = 0; c < montage.emg.size(); ++c) {
      if (montage.emg[c].role == "target") out.push_back(c);
    }
    if (!out.empty()) return out;  // else every channel (no roles in the montage)
  }
  for (std::size_t c = 0; c < montage.emg.size(); ++c) {
    const Muscle m = montage.emg[c].muscle;
    const bool target = exercise == Exercise::bridge      ? m == Muscle::gluteus_maximus
                        : exercise == Exercise::clamshell ? m == Muscle::gluteus_medius
                                                          : true;
    if (target) out.push_back(c);
  }
  return out;
}

namespace {

double percentile_of(std::vector<double> v, std::size_t percent) {
  if (v.empty()) return 0.0;
  const std::size_t k = (v.size() * percent) / 100;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(std::min(k, v.size() - 1)), v.end());
  return v[std::min(k, v.size() - 1)];
}

}  // namespace

ActivationTrack emg_activation(const SessionData& data, const AnalysisSettings& settings,
                               std::span<const std::size_t> channels, double start_s, double stop_s) {
  ActivationTrack track;
  const double rate = data.device.emg_rate_hz;
  const std::size_t samples = data.emg_samples(), width = data.emg_channels();
  const std::size_t e0 = to_index(start_s, rate, samples), e1 = to_index(stop_s, rate, samples);
  const auto block = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(rate / 100.0)));
  if (channels.empty() || e1 <= e0 + 4 * block) return track;
  track.rate_hz = rate / static_cast<double>(block);
  const std::size_t rows = (e1 - e0) / block;
  track.pct.assign(rows, 0.0);
  for (std::size_t c : channels) {
    std::vector<double> uv(e1 - e0);
    const double scale = data.montage.emg[c].microvolts_per_count;
    for (std::size_t n = e0; n < e1; ++n) uv[n - e0] = data.emg_counts[n * width + c] * scale;
    const ChannelSignals sig = condition_channel(std::move(uv), data.montage.emg[c].muscle, rate, settings);
    const double ref = percentile_of(sig.rms_uv, 95);
    if (!(ref > 0.0)) continue;
    for (std::size_t r = 0; r < rows; ++r) {
      double sum = 0.0;
      for (std::size_t n = r * block; n < (r + 1) * block; ++n) sum += sig.rms_uv[n];
      track.pct[r] += 100.0 * sum / (static_cast<double>(block) * ref * static_cast<double>(channels.size()));
    }
  }
  for (std::size_t r = 0; r < rows; ++r) {
    track.time_s.push_back((static_cast<double>(e0 + r * block) + 0.5 * static_cast<double>(block)) / rate);
  }
  return track;
}

Side more_active_side(const SessionData& data, Muscle muscle, double start_s, double stop_s) {
  const double rate = data.device.emg_rate_hz;
  const std::size_t samples = data.emg_samples(), width = data.emg_channels();
  const std::size_t e0 = to_index(start_s, rate, samples), e1 = to_index(stop_s, rate, samples);
  std::array<double, 2> rms{-1.0, -1.0};
  for (Side side : {Side::left, Side::right}) {
    const auto c = data.montage.find(muscle, side);
    if (!c || e1 <= e0 + 1) continue;
    double sum = 0.0, sum_sq = 0.0;
    const double scale = data.montage.emg[*c].microvolts_per_count;
    for (std::size_t n = e0; n < e1; ++n) {
      const double v = data.emg_counts[n * width + *c] * scale;
      sum += v, sum_sq += v * v;
    }
    const auto count = static_cast<double>(e1 - e0);
    rms[side == Side::left ? 0 : 1] =
        std::sqrt(std::max(0.0, sum_sq / count - (sum / count) * (sum / count)));
  }
  if (rms[0] < 0.0 || rms[1] < 0.0) return Side::unknown;
  return rms[0] >= rms[1] ? Side::left : Side::right;
}

std::vector<Repetition> burst_repetitions(const ActivationTrack& track,
                                          const RepSegmenterSettings& settings) {
  const std::vector<double>& x = track.pct;
  std::vector<Repetition> reps;
  if (x.size() < 3 || track.time_s.size() != x.size()) return reps;
  const double rest = percentile_of(x, 10), reference = percentile_of(x, 95);
  if (!(reference > rest)) return reps;
  const double exit = rest + settings.exit_fraction * (reference - rest);
  const double enter = rest + settings.enter_fraction * (reference - rest);
  struct Run {
    std::size_t begin, end;
    double peak;
  };
  std::vector<Run> runs;
  for (std::size_t i = 0; i < x.size();) {
    if (!(x[i] > exit)) {
      ++i;
      continue;
    }
    Run run{i, i, x[i]};
    while (run.end < x.size() && x[run.end] > exit) run.peak = std::max(run.peak, x[run.end++]);
    const bool bridge_dip =
        !runs.empty() && track.time_s[run.begin] - track.time_s[runs.back().end - 1] < settings.refractory_s;
    if (bridge_dip) {
      runs.back().end = run.end, runs.back().peak = std::max(runs.back().peak, run.peak);
    } else {
      runs.push_back(run);
    }
    i = run.end;
  }
  for (const Run& run : runs) {
    const double t0 = track.time_s[run.begin], t1 = track.time_s[run.end - 1];
    if (run.peak < enter || t1 - t0 < settings.min_rep_s || t1 - t0 > settings.max_rep_s) continue;
    reps.push_back(unphased_repetition(reps.size(), t0, t1));
  }
  return reps;
}

}  // namespace glutescope::exercise
