#include "pipeline/analysis_stages.hpp"

#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

#include "motion/orientation_filter.hpp"

namespace glutescope::pipeline {

EmgChain design_emg_chain(const EmgConditioningSettings& settings, double rate_hz) {
  const double nyquist = rate_hz / 2.0;
  if (settings.bandpass_high_hz >= nyquist) {
    throw std::invalid_argument(fmt::format(
        "emg.bandpass_high_hz = {} Hz is at or above the Nyquist frequency ({} Hz) of this {} Hz recording",
        settings.bandpass_high_hz, nyquist, rate_hz));
  }
  EmgChain chain;
  chain.bandpass = dsp::butterworth_bandpass(settings.bandpass_order, settings.bandpass_low_hz,
                                             settings.bandpass_high_hz, rate_hz);
  if (settings.notch_hz > 0.0) {
    if (settings.notch_hz * (settings.notch_harmonics + 1) >= nyquist) {
      throw std::invalid_argument(fmt::format("emg.notch_hz x (notch_harmonics + 1) must stay below Nyquist ({} Hz)",
                                              nyquist));
    }
    chain.bandpass = dsp::concatenate(
        chain.bandpass, dsp::mains_notch_sos(dsp::MainsNotchSettings{settings.notch_hz, 20.0, settings.notch_harmonics},
                                             rate_hz));
  }
  if (settings.envelope_cutoff_hz >= nyquist) {
    throw std::invalid_argument(fmt::format("emg.envelope_cutoff_hz = {} Hz is above Nyquist", settings.envelope_cutoff_hz));
  }
  chain.envelope_lowpass = dsp::butterworth_lowpass(2, settings.envelope_cutoff_hz, rate_hz);
  return chain;
}

CausalEmgConditioner::CausalEmgConditioner(const EmgConditioningSettings& settings, double rate_hz,
                                           std::size_t channels)
    : channels_(channels),
      kind_(settings.envelope),
      bandpass_(design_emg_chain(settings, rate_hz).bandpass, channels),
      linear_(dsp::LinearEnvelopeSettings{2, settings.envelope_cutoff_hz}, rate_hz, channels),
      rms_(dsp::MovingRmsSettings{settings.rms_window_ms}, rate_hz, channels) {}

void CausalEmgConditioner::process(std::span<const double> in, std::span<double> out) noexcept {
  bandpass_.process_interleaved(in, out);
  if (kind_ == EnvelopeKind::linear) {
    linear_.process_interleaved(out, out);  // LinearEnvelope rectifies first
  } else {
    rms_.process_interleaved(out, out);
  }
}

std::vector<double> gravity_track(const std::vector<double>& accel_g, const std::vector<double>& gyro_dps,
                                  double rate_hz, const MotionSettings& settings) {
  motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
  fs.gain = settings.orientation_gain;
  fs.sample_rate_hz = rate_hz;
  motion::OrientationFilter filter(fs);
  const std::size_t n = accel_g.size() / 3;
  std::vector<double> up(n * 3);
  const double dt = 1.0 / rate_hz;
  for (std::size_t i = 0; i < n; ++i) {
    filter.update(Eigen::Vector3d(gyro_dps[i * 3], gyro_dps[i * 3 + 1], gyro_dps[i * 3 + 2]),
                  Eigen::Vector3d(accel_g[i * 3], accel_g[i * 3 + 1], accel_g[i * 3 + 2]), dt);
    const Eigen::Vector3d g = filter.gravity();
    up[i * 3] = g.x();
    up[i * 3 + 1] = g.y();
    up[i * 3 + 2] = g.z();
  }
  return up;
}

namespace {
motion::SegmentGravity gravity_at(const std::array<const std::vector<double>*, motion::kBodySegmentCount>& gravity,
                                  std::size_t i) {
  motion::SegmentGravity g;
  for (std::size_t s = 0; s < motion::kBodySegmentCount; ++s) {
    if (gravity[s] == nullptr || (i + 1) * 3 > gravity[s]->size()) continue;
    const double* v = gravity[s]->data() + i * 3;
    g.set(static_cast<motion::BodySegment>(s), Eigen::Vector3d(v[0], v[1], v[2]));
  }
  return g;
}
}  // namespace

SetAngles set_angles(const std::array<const std::vector<double>*, motion::kBodySegmentCount>& gravity,
                     std::size_t first_sample, std::size_t end_sample, double rate_hz, Exercise exercise,
                     Side upper_side, const MotionSettings& settings) {
  SetAngles out;
  const auto baseline = static_cast<std::size_t>(std::lround(settings.baseline_period_s * rate_hz));
  bool any = false;
  for (const auto* g : gravity) any = any || g != nullptr;
  if (!any || end_sample <= first_sample + baseline + 1 || rate_hz <= 0) return out;
  motion::AngleSettings as;
  as.exercise = exercise;
  as.upper_side = exercise == Exercise::clamshell ? upper_side : Side::right;
  motion::AngleCalculator calc(as);
  motion::StillPeriodAverage still;
  for (std::size_t i = first_sample; i < first_sample + std::max<std::size_t>(baseline, 1); ++i) {
    still.add(gravity_at(gravity, i));
  }
  calc.calibrate(still.mean());
  const std::size_t n = end_sample - first_sample;
  out.t_s.resize(n);
  out.driving_deg.resize(n);
  out.pelvic_tilt_rel_deg.resize(n);
  out.pelvic_roll_rel_deg.resize(n);
  for (std::size_t k = 0; k < n; ++k) {
    const motion::JointAngles a = calc.compute(gravity_at(gravity, first_sample + k));
    out.t_s[k] = static_cast<double>(first_sample + k) / rate_hz;
    out.driving_deg[k] = a.driving_deg;
    out.pelvic_tilt_rel_deg[k] = a.pelvic_tilt_rel_deg;
    out.pelvic_roll_rel_deg[k] = a.pelvic_roll_rel_deg;
  }
  out.valid = true;
  return out;
}

exercise::RepSegmenterSettings segmenter_settings(const MotionSettings& settings, double rate_hz) {
  exercise::RepSegmenterSettings s = exercise::kDefaultRepSegmenterSettings;
  s.sample_rate_hz = rate_hz;
  s.lowpass_cutoff_hz = settings.segmenter_lowpass_hz;
  s.baseline_period_s = settings.baseline_period_s;
  s.enter_fraction = settings.enter_fraction;
  s.exit_fraction = settings.exit_fraction;
  s.partial_fraction = settings.partial_fraction;
  s.min_rep_s = settings.min_rep_s;
  s.max_rep_s = settings.max_rep_s;
  return s;
}

std::vector<exercise::Repetition> segment_reps(const SetAngles& angles, double rate_hz, const MotionSettings& settings,
                                               bool zero_phase) {
  const exercise::RepSegmenterSettings s = segmenter_settings(settings, rate_hz);
  if (zero_phase) {
    return exercise::RepSegmenter::segment_set(angles.driving_deg, angles.t_s, s, angles.pelvic_tilt_rel_deg,
                                               angles.pelvic_roll_rel_deg);
  }
  exercise::RepSegmenter segmenter(s);
  std::vector<exercise::Repetition> reps;
  segmenter.push_block(angles.driving_deg, angles.t_s, reps, angles.pelvic_tilt_rel_deg, angles.pelvic_roll_rel_deg);
  return reps;
}

}  // namespace glutescope::pipeline
