#include "exercise/rep_segmenter.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "dsp/zero_phase.hpp"

namespace glutescope::exercise {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The flank level is used when it is below this fraction of the rep's peak (above it the low-pass has
// rounded the corner of the plateau and the crossing is late).
constexpr double kFlankClearance = 0.85;

void require(bool ok, const char* field, double value, const char* rule) {
  if (!ok) {
    throw std::invalid_argument(std::string("rep segmenter setting ") + field + " = " +
                                std::to_string(value) + ": " + rule);
  }
}

bool positive(double v) { return std::isfinite(v) && v > 0.0; }

// Largest |value| seen so far; NaN inputs leave it unchanged.
double max_abs(double current, double value) noexcept {
  if (std::isnan(value)) return current;
  return std::isnan(current) ? std::abs(value) : std::max(current, std::abs(value));
}

// Linear interpolation percentile (numpy's default method) of a non-empty vector.
double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double pos = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

}  // namespace

namespace detail {

dsp::SosCoefficients segmenter_lowpass(double cutoff_hz, double sample_rate_hz) {
  require(positive(sample_rate_hz), "sample_rate_hz", sample_rate_hz, "must be > 0");
  if (!(positive(cutoff_hz) && cutoff_hz < 0.5 * sample_rate_hz)) {
    throw std::invalid_argument("low-pass cutoff " + std::to_string(cutoff_hz) +
                                " Hz must be positive and below the Nyquist frequency of " +
                                std::to_string(sample_rate_hz) + " Hz");
  }
  return dsp::butterworth_lowpass(2, cutoff_hz, sample_rate_hz);
}

double dc_group_delay_samples(const dsp::Biquad& s) noexcept {
  const double num = (s.b1 + 2.0 * s.b2) / (s.b0 + s.b1 + s.b2);
  const double den = (s.a1 + 2.0 * s.a2) / (s.a0 + s.a1 + s.a2);
  return num - den;
}

}  // namespace detail

namespace {

// Starts `filter` in the steady state of a constant input x0 (no start-up transient): scipy's sosfilt_zi
// scaled by x0.
void settle(dsp::SosFilter& filter, const std::array<double, 2>& unit_step_state, double x0) noexcept {
  const std::array<double, 2> zi{unit_step_state[0] * x0, unit_step_state[1] * x0};
  filter.set_state(0, zi);  // sizes match: cannot throw
}

std::array<double, 2> unit_step_state(const dsp::SosCoefficients& sos) {
  const std::vector<double> zi = dsp::sosfilt_zi(sos);
  return {zi.at(0), zi.at(1)};
}

}  // namespace

RepSegmenter::RepSegmenter(const RepSegmenterSettings& settings) : RepSegmenter(settings, false, 0.0) {}

RepSegmenter::RepSegmenter(const RepSegmenterSettings& settings, bool zero_phase_input,
                           double fixed_reference_rom_deg)
    : settings_(settings),
      lowpass_(detail::segmenter_lowpass(settings.lowpass_cutoff_hz, settings.sample_rate_hz)),
      filter_input_(!zero_phase_input) {
  const auto& s = settings;
  const dsp::SosCoefficients sos = detail::segmenter_lowpass(s.lowpass_cutoff_hz, s.sample_rate_hz);
  unit_step_state_ = unit_step_state(sos);
  require(std::isfinite(s.baseline_period_s) && s.baseline_period_s >= 0.0, "baseline_period_s",
          s.baseline_period_s, "must be >= 0");
  require(std::isfinite(s.rom_reference_deg) && s.rom_reference_deg >= 0.0, "rom_reference_deg",
          s.rom_reference_deg, "must be >= 0 (0 = calibrate from the set)");
  require(positive(s.provisional_rom_deg), "provisional_rom_deg", s.provisional_rom_deg, "must be > 0");
  require(s.exit_fraction > 0.0 && s.exit_fraction < s.enter_fraction, "exit_fraction", s.exit_fraction,
          "must be > 0 and below enter_fraction (hysteresis)");
  require(s.enter_fraction < 1.0, "enter_fraction", s.enter_fraction, "must be < 1");
  require(s.flank_fraction > s.enter_fraction && s.flank_fraction < 1.0, "flank_fraction", s.flank_fraction,
          "must be above enter_fraction and below 1");
  require(s.partial_fraction > 0.0 && s.partial_fraction <= 1.0, "partial_fraction", s.partial_fraction,
          "must be in (0, 1]");
  require(positive(s.hold_velocity_fraction_per_s), "hold_velocity_fraction_per_s",
          s.hold_velocity_fraction_per_s, "must be > 0");
  require(positive(s.velocity_window_s), "velocity_window_s", s.velocity_window_s, "must be > 0");
  require(std::isfinite(s.min_phase_s) && s.min_phase_s >= 0.0, "min_phase_s", s.min_phase_s, "must be >= 0");
  require(std::isfinite(s.min_rep_s) && s.min_rep_s >= 0.0, "min_rep_s", s.min_rep_s, "must be >= 0");
  require(positive(s.max_rep_s) && s.max_rep_s > s.min_rep_s, "max_rep_s", s.max_rep_s,
          "must exceed min_rep_s");
  require(std::isfinite(s.refractory_s) && s.refractory_s >= 0.0, "refractory_s", s.refractory_s,
          "must be >= 0");
  require(s.offline_rom_percentile >= 0.0 && s.offline_rom_percentile <= 100.0, "offline_rom_percentile",
          s.offline_rom_percentile, "must be in [0, 100]");
  const double lag = std::round(s.velocity_window_s * s.sample_rate_hz);
  require(lag >= 1.0 && lag < static_cast<double>(kVelocityCapacity), "velocity_window_s",
          s.velocity_window_s, "times sample_rate_hz must be between 1 and 127 samples");
  velocity_lag_ = static_cast<std::size_t>(lag);
  if (filter_input_) {
    delay_samples_ = detail::dc_group_delay_samples(sos.front());
    delay_s_ = delay_samples_ / s.sample_rate_hz;
  }
  if (fixed_reference_rom_deg > 0.0) settings_.rom_reference_deg = fixed_reference_rom_deg;
  reset();
}

void RepSegmenter::set_reference(double rom_deg) noexcept {
  reference_rom_deg_ = rom_deg;
  enter_deg_ = settings_.enter_fraction * rom_deg;
  exit_deg_ = settings_.exit_fraction * rom_deg;
  flank_deg_ = settings_.flank_fraction * rom_deg;
  still_dps_ = settings_.hold_velocity_fraction_per_s * rom_deg;
}

void RepSegmenter::reset() noexcept {
  phase_ = RepPhase::baseline;
  sample_ = -1;
  last_input_deg_ = kNaN;
  have_prev_ = false;
  baseline_sum_ = 0.0;
  baseline_count_ = 0;
  baseline_deg_ = 0.0;
  started_ = false;
  reference_fixed_ = settings_.rom_reference_deg > 0.0;
  set_reference(reference_fixed_ ? settings_.rom_reference_deg : settings_.provisional_rom_deg);
  hist_count_ = 0;
  rest_since_s_ = -std::numeric_limits<double>::infinity();
  rise_exit_ = rise_enter_ = rise_flank_ = fall_flank_ = fall_enter_ = fall_exit_ = Crossing{};
  peak_x_ = peak_t_ = peak_sample_ = 0.0;
  max_tilt_ = max_roll_ = kNaN;
  reps_reported_ = 0;
}

std::optional<Repetition> RepSegmenter::push(double angle_deg, double t_s, double pelvic_tilt_deg,
                                             double pelvic_roll_deg) noexcept {
  ++sample_;
  if (std::isfinite(angle_deg)) {
    last_input_deg_ = angle_deg;
  } else if (std::isnan(last_input_deg_)) {
    return std::nullopt;  // nothing finite yet: nothing to hold
  }
  if (!std::isfinite(t_s)) return std::nullopt;
  double y = last_input_deg_;
  if (filter_input_) {
    if (!started_) settle(lowpass_, unit_step_state_, y);
    y = lowpass_.process(y);
  }
  return step(y, t_s, pelvic_tilt_deg, pelvic_roll_deg);
}

void RepSegmenter::push_block(std::span<const double> angle_deg, std::span<const double> t_s,
                              std::vector<Repetition>& out, std::span<const double> pelvic_tilt_deg,
                              std::span<const double> pelvic_roll_deg) {
  if (t_s.size() != angle_deg.size() ||
      (!pelvic_tilt_deg.empty() && pelvic_tilt_deg.size() != angle_deg.size()) ||
      (!pelvic_roll_deg.empty() && pelvic_roll_deg.size() != angle_deg.size())) {
    throw std::invalid_argument("push_block: angle, time and pelvic spans must have the same length");
  }
  for (std::size_t i = 0; i < angle_deg.size(); ++i) {
    const double tilt = pelvic_tilt_deg.empty() ? kNaN : pelvic_tilt_deg[i];
    const double roll = pelvic_roll_deg.empty() ? kNaN : pelvic_roll_deg[i];
    if (auto rep = push(angle_deg[i], t_s[i], tilt, roll)) out.push_back(*rep);
  }
}

// Longer than ~80 lines on purpose: this is the segmenter's state machine (rest -> concentric -> hold ->
// eccentric -> rest, with the refractory and discard rules), and each transition reads the same running
// state; split into per-state functions it would pass that whole state around and hide the transitions'
// order, which is what a reader checks against docs/SCORING.md "Repetitions".
std::optional<Repetition> RepSegmenter::step(double y_deg, double t_s, double tilt_deg,
                                             double roll_deg) noexcept {
  if (!started_) {
    started_ = true;
    baseline_end_s_ = t_s + settings_.baseline_period_s;
    if (settings_.baseline_period_s <= 0.0) phase_ = RepPhase::rest;
  }
  if (phase_ == RepPhase::baseline) {
    if (t_s < baseline_end_s_) {
      baseline_sum_ += y_deg;
      ++baseline_count_;
      return std::nullopt;
    }
    baseline_deg_ = baseline_count_ > 0 ? baseline_sum_ / static_cast<double>(baseline_count_) : 0.0;
    phase_ = RepPhase::rest;
  }

  const double x = y_deg - baseline_deg_;
  const auto sample = static_cast<double>(sample_);
  // Velocity over the window (deg/s) from a fixed-size history of the filtered angle.
  const std::size_t slot = static_cast<std::size_t>(sample_) % kVelocityCapacity;
  hist_x_[slot] = x;
  hist_t_[slot] = t_s;
  hist_count_ = std::min(hist_count_ + 1, kVelocityCapacity);
  const std::size_t lag = std::min(velocity_lag_, hist_count_ - 1);
  const std::size_t old_slot =
      (static_cast<std::size_t>(sample_) + kVelocityCapacity - lag) % kVelocityCapacity;
  const double span_s = t_s - hist_t_[old_slot];
  const double velocity = lag > 0 && span_s > 0.0 ? (x - hist_x_[old_slot]) / span_s : 0.0;

  // Crossing of `level` between the previous and this sample, interpolated in time and sample index.
  const auto crossing = [&](double level) {
    Crossing c{t_s, sample, true};
    if (have_prev_ && x != prev_x_) {
      const double frac = std::clamp((level - prev_x_) / (x - prev_x_), 0.0, 1.0);
      c.t_s = prev_t_ + frac * (t_s - prev_t_);
      c.sample = sample - 1.0 + frac;
    }
    return c;
  };
  const bool up_enter = have_prev_ && prev_x_ <= enter_deg_ && x > enter_deg_;
  const bool down_enter = have_prev_ && prev_x_ >= enter_deg_ && x < enter_deg_;
  const bool up_flank = have_prev_ && prev_x_ <= flank_deg_ && x > flank_deg_;
  const bool down_flank = have_prev_ && prev_x_ >= flank_deg_ && x < flank_deg_;

  std::optional<Repetition> result;
  switch (phase_) {
    case RepPhase::baseline:
      break;
    case RepPhase::rest:
      if (have_prev_ && prev_x_ <= exit_deg_ && x > exit_deg_) {
        rise_exit_ = crossing(exit_deg_);
        max_tilt_ = max_roll_ = kNaN;  // pelvic deviations are collected from the start of the rise
      }
      if (x > enter_deg_ && t_s - rest_since_s_ >= settings_.refractory_s) {
        rise_enter_ = up_enter ? crossing(enter_deg_) : Crossing{t_s, sample, true};
        rise_velocity_dps_ = velocity;
        fall_enter_ = fall_exit_ = rise_flank_ = fall_flank_ = Crossing{};
        if (up_flank) rise_flank_ = crossing(flank_deg_);
        peak_x_ = x;
        peak_t_ = t_s;
        peak_sample_ = sample;
        rep_entry_s_ = t_s;
        phase_ = RepPhase::concentric;
      }
      break;
    case RepPhase::concentric:
    case RepPhase::hold:
    case RepPhase::eccentric:
      if (x > peak_x_) {
        peak_x_ = x;
        peak_t_ = t_s;
        peak_sample_ = sample;
      }
      if (down_enter) {
        fall_enter_ = crossing(enter_deg_);
        fall_velocity_dps_ = velocity;
      }
      if (up_enter) fall_enter_.valid = false;  // rising again: a double peak within one rep
      if (up_flank) {
        if (!rise_flank_.valid) rise_flank_ = crossing(flank_deg_);  // first crossing: the rising flank
        fall_flank_.valid = false;
      }
      if (down_flank) fall_flank_ = crossing(flank_deg_);
      if (x < exit_deg_) {
        fall_exit_ = crossing(exit_deg_);
        if (!fall_enter_.valid) fall_velocity_dps_ = velocity;
        max_tilt_ = max_abs(max_tilt_, tilt_deg);
        max_roll_ = max_abs(max_roll_, roll_deg);
        result = finish_rep();
        phase_ = RepPhase::rest;
        rest_since_s_ = t_s;
        rise_exit_ = Crossing{};
        break;
      }
      if (t_s - rep_entry_s_ > settings_.max_rep_s) {
        phase_ = RepPhase::discard;  // stayed up too long: not a repetition
        break;
      }
      // Phase labels from the velocity sign (live display; boundaries come from the level crossings).
      if (phase_ == RepPhase::concentric) {
        if (velocity < -still_dps_) {
          phase_ = RepPhase::eccentric;
        } else if (std::abs(velocity) < still_dps_) {
          phase_ = RepPhase::hold;
        }
      } else if (phase_ == RepPhase::hold) {
        if (velocity < -still_dps_) phase_ = RepPhase::eccentric;
        if (velocity > still_dps_) phase_ = RepPhase::concentric;
      } else if (velocity > still_dps_) {
        phase_ = RepPhase::concentric;
      }
      break;
    case RepPhase::discard:
      if (x < exit_deg_) {
        phase_ = RepPhase::rest;
        rest_since_s_ = t_s;
        rise_exit_ = Crossing{};
      }
      break;
  }
  max_tilt_ = max_abs(max_tilt_, tilt_deg);
  max_roll_ = max_abs(max_roll_, roll_deg);
  prev_x_ = x;
  prev_t_ = t_s;
  have_prev_ = true;
  return result;
}

std::optional<Repetition> RepSegmenter::finish_rep() noexcept {
  const double exit = exit_deg_;
  const double tiny = 1e-9;
  // The flank level is used only when the peak clears it comfortably (the filter rounds the corner).
  const bool tall = peak_x_ * kFlankClearance >= flank_deg_;
  const bool rise_flank = tall && rise_flank_.valid;
  const bool fall_flank = tall && fall_flank_.valid;
  const Crossing& rise_upper = rise_flank ? rise_flank_ : rise_enter_;
  const double rise_level = rise_flank ? flank_deg_ : enter_deg_;
  const Crossing& fall_upper = fall_flank ? fall_flank_ : fall_enter_;
  const double fall_level = fall_flank ? flank_deg_ : enter_deg_;
  // Rising flank: slope of the line through the exit-level and the upper-level crossings (deg/s).
  double up_slope = rise_velocity_dps_;
  if (rise_exit_.valid && rise_upper.t_s - rise_exit_.t_s > tiny) {
    up_slope = (rise_level - exit) / (rise_upper.t_s - rise_exit_.t_s);
  }
  double down_slope = -fall_velocity_dps_;
  if (fall_upper.valid && fall_exit_.t_s - fall_upper.t_s > tiny) {
    down_slope = (fall_level - exit) / (fall_exit_.t_s - fall_upper.t_s);
  }
  if (!(up_slope > tiny) || !(down_slope > tiny)) return std::nullopt;
  const double enter = rise_level;
  const Crossing& rise_anchor = rise_upper;

  double start_s = rise_anchor.t_s - enter / up_slope;
  if (std::isfinite(rest_since_s_)) start_s = std::max(start_s, rest_since_s_);
  const double end_s = fall_exit_.t_s + exit / down_slope;
  double concentric_end_s = rise_anchor.t_s + (peak_x_ - enter) / up_slope;
  double hold_end_s = fall_upper.valid ? fall_upper.t_s - (peak_x_ - fall_level) / down_slope
                                       : fall_exit_.t_s - (peak_x_ - exit) / down_slope;
  if (concentric_end_s > hold_end_s) concentric_end_s = hold_end_s = peak_t_;  // no plateau: meet at the peak
  concentric_end_s = std::clamp(concentric_end_s, start_s, end_s);
  hold_end_s = std::clamp(hold_end_s, concentric_end_s, end_s);

  const double duration_s = end_s - start_s;
  if (duration_s < settings_.min_rep_s || duration_s > settings_.max_rep_s ||
      concentric_end_s - start_s < settings_.min_phase_s || end_s - hold_end_s < settings_.min_phase_s) {
    return std::nullopt;
  }

  if (!reference_fixed_) {
    set_reference(peak_x_);  // the first good rep calibrates the set
    reference_fixed_ = true;
  }
  Repetition rep;
  rep.index = reps_reported_++;
  const double rate = settings_.sample_rate_hz;
  const auto index_of = [&](double t, const Crossing& anchor) {
    const double s = anchor.sample + (t - anchor.t_s) * rate - delay_samples_;
    return std::max<std::int64_t>(0, static_cast<std::int64_t>(std::llround(s)));
  };
  rep.start_sample = index_of(start_s, rise_enter_);
  rep.concentric_end_sample = index_of(concentric_end_s, rise_enter_);
  rep.hold_end_sample = index_of(hold_end_s, fall_exit_);
  rep.end_sample = index_of(end_s, fall_exit_);
  rep.peak_sample = std::max<std::int64_t>(0, std::llround(peak_sample_ - delay_samples_));
  rep.start_s = start_s - delay_s_;
  rep.concentric_end_s = concentric_end_s - delay_s_;
  rep.hold_end_s = hold_end_s - delay_s_;
  rep.end_s = end_s - delay_s_;
  rep.peak_s = peak_t_ - delay_s_;
  rep.peak_angle_deg = peak_x_ + baseline_deg_;
  rep.rom_deg = peak_x_;
  rep.reference_rom_deg = reference_rom_deg_;
  rep.rom_fraction = peak_x_ / reference_rom_deg_;
  rep.partial = rep.rom_fraction < settings_.partial_fraction;
  rep.max_pelvic_tilt_deviation_deg = max_tilt_;
  rep.max_pelvic_roll_deviation_deg = max_roll_;
  return rep;
}

std::vector<Repetition> RepSegmenter::segment_set(std::span<const double> angle_deg,
                                                  std::span<const double> t_s,
                                                  const RepSegmenterSettings& settings,
                                                  std::span<const double> pelvic_tilt_deg,
                                                  std::span<const double> pelvic_roll_deg) {
  if (t_s.size() != angle_deg.size() ||
      (!pelvic_tilt_deg.empty() && pelvic_tilt_deg.size() != angle_deg.size()) ||
      (!pelvic_roll_deg.empty() && pelvic_roll_deg.size() != angle_deg.size())) {
    throw std::invalid_argument("segment_set: angle, time and pelvic arrays must have the same length");
  }
  RepSegmenter probe(settings);  // validates the settings
  // Lost samples repeat the last finite value, as in push(); leading NaNs take the first finite value.
  std::vector<double> y(angle_deg.begin(), angle_deg.end());
  const auto first = std::find_if(y.begin(), y.end(), [](double v) { return std::isfinite(v); });
  if (first == y.end()) return {};
  double last = *first;
  for (double& v : y) {
    if (std::isfinite(v)) {
      last = v;
    } else {
      v = last;
    }
  }
  // Zero-phase: forward then backward through the same biquad, each started in its steady state.
  const dsp::SosCoefficients sos =
      detail::segmenter_lowpass(settings.lowpass_cutoff_hz, settings.sample_rate_hz);
  const std::array<double, 2> step_state = unit_step_state(sos);
  dsp::SosFilter lp(sos);
  settle(lp, step_state, y.front());
  for (double& v : y) v = lp.process(v);
  settle(lp, step_state, y.back());
  for (auto it = y.rbegin(); it != y.rend(); ++it) *it = lp.process(*it);

  const auto run = [&](double reference_rom_deg) {
    RepSegmenter segmenter(settings, true, reference_rom_deg);
    std::vector<Repetition> reps;
    segmenter.push_block(y, t_s, reps, pelvic_tilt_deg, pelvic_roll_deg);
    return reps;
  };
  if (settings.rom_reference_deg > 0.0) return run(settings.rom_reference_deg);
  const std::vector<Repetition> first_pass = run(0.0);
  if (first_pass.empty()) return first_pass;
  std::vector<double> roms;
  roms.reserve(first_pass.size());
  for (const auto& rep : first_pass) roms.push_back(rep.rom_deg);
  return run(percentile(std::move(roms), settings.offline_rom_percentile));
}

}  // namespace glutescope::exercise
