#include "exercise/rep_scores.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace glutescope::exercise {

std::string_view to_string(VerdictState state) noexcept {
  switch (state) {
    case VerdictState::no:
      return "no";
    case VerdictState::yes:
      return "yes";
    case VerdictState::not_available:
      return "not_available";
    case VerdictState::invalid:
      return "invalid";
  }
  return "unknown";
}

std::string_view to_string(OnsetState state) noexcept {
  switch (state) {
    case OnsetState::not_scored:
      return "not_scored";
    case OnsetState::detected:
      return "detected";
    case OnsetState::not_detected:
      return "none";
    case OnsetState::already_active:
      return "already_active";
    case OnsetState::continuously_active:
      return "continuously_active";
    case OnsetState::baseline_not_quiet:
      return "baseline_not_quiet";
  }
  return "unknown";
}

const Verdict& verdict_at(const RepVerdicts& v, std::size_t i) noexcept {
  switch (i) {
    case 0:
      return v.glute_fired;
    case 1:
      return v.lumbar_dominant;
    case 2:
      return v.late_glute;
    case 3:
      return v.pelvic_compensation;
    case 4:
      return v.hamstring_dominance;
    default:
      return v.tfl_substitution;
  }
}

std::string_view traffic_light(const RepScore& rep) noexcept {
  if (!rep.valid) return "grey";
  const RepVerdicts& v = rep.verdicts;
  if (v.glute_fired.state == VerdictState::no || v.lumbar_dominant.state == VerdictState::yes) return "red";
  const bool compensation =
      v.late_glute.state == VerdictState::yes || v.pelvic_compensation.state == VerdictState::yes ||
      v.hamstring_dominance.state == VerdictState::yes || v.tfl_substitution.state == VerdictState::yes;
  if (v.glute_fired.state == VerdictState::yes && !compensation) return "green";
  return "amber";
}

double percent_of_reference(double amplitude, double reference) noexcept {
  if (!std::isfinite(amplitude) || !std::isfinite(reference) || reference <= 0.0) return kNaN;
  return 100.0 * amplitude / reference;
}

double symmetry_index_pct(double left, double right) noexcept {
  const double mean = 0.5 * (right + left);
  if (!std::isfinite(mean) || mean <= 0.0) return kNaN;
  return 100.0 * (right - left) / mean;
}

double trend_pct_per_rep(std::span<const double> values) noexcept {
  double n = 0.0, sx = 0.0, sy = 0.0, sxx = 0.0, sxy = 0.0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const double x = static_cast<double>(i);
    n += 1.0;
    sx += x;
    sy += values[i];
    sxx += x * x;
    sxy += x * values[i];
  }
  if (n < 3.0) return kNaN;
  const double denom = n * sxx - sx * sx;
  if (denom <= 0.0) return kNaN;
  const double b = (n * sxy - sx * sy) / denom;
  const double a = (sy - b * sx) / n;
  if (!(a > 0.0)) return kNaN;
  return 100.0 * b / a;
}

double median_finite(std::span<const double> values) {
  std::vector<double> v;
  for (double x : values) {
    if (std::isfinite(x)) v.push_back(x);
  }
  if (v.empty()) return kNaN;
  std::sort(v.begin(), v.end());
  const std::size_t m = v.size() / 2;
  return v.size() % 2 == 1 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double ratio_of_means(std::span<const double> numerators, std::span<const double> denominators) noexcept {
  double sn = 0.0, sd = 0.0;
  std::size_t k = 0;
  for (std::size_t i = 0; i < numerators.size() && i < denominators.size(); ++i) {
    if (!std::isfinite(numerators[i]) || !std::isfinite(denominators[i])) continue;
    sn += numerators[i];
    sd += denominators[i];
    ++k;
  }
  if (k == 0 || sd <= 0.0) return kNaN;
  return sn / sd;
}

double mean_of_ratios(std::span<const double> numerators, std::span<const double> denominators) noexcept {
  double s = 0.0;
  std::size_t k = 0;
  for (std::size_t i = 0; i < numerators.size() && i < denominators.size(); ++i) {
    if (!std::isfinite(numerators[i]) || !std::isfinite(denominators[i]) || denominators[i] <= 0.0) continue;
    s += numerators[i] / denominators[i];
    ++k;
  }
  return k == 0 ? kNaN : s / static_cast<double>(k);
}

SideRatios side_ratios(std::array<double, 2> glute, std::array<double, 2> es) noexcept {
  SideRatios r;
  for (std::size_t s = 0; s < 2; ++s) {
    if (std::isfinite(glute[s]) && std::isfinite(es[s]) && es[s] > 0.0) r.per_side[s] = glute[s] / es[s];
  }
  r.ratio_of_means = ratio_of_means(glute, es);
  r.mean_of_ratios = mean_of_ratios(glute, es);
  return r;
}

Verdict ratio_verdict(double numerator, double denominator, double threshold) {
  Verdict v;
  v.threshold = threshold;
  if (!std::isfinite(numerator) || !std::isfinite(denominator) || denominator <= 0.0) {
    v.state = VerdictState::not_available;
    v.reason = "amplitude not measurable";
    return v;
  }
  v.value = numerator / denominator;
  v.state = v.value >= threshold ? VerdictState::yes : VerdictState::no;
  return v;
}

Verdict late_onset_verdict(double glute_onset_s, double es_onset_s, double threshold_ms) {
  Verdict v;
  v.threshold = threshold_ms;
  if (!std::isfinite(glute_onset_s)) {
    v.state = VerdictState::not_available;
    v.reason = "glute onset not detected";
    return v;
  }
  if (!std::isfinite(es_onset_s)) {
    v.state = VerdictState::no;
    v.reason = "no erector spinae onset in the rep (back quiet)";
    return v;
  }
  v.value = 1000.0 * (glute_onset_s - es_onset_s);
  v.state = v.value > threshold_ms ? VerdictState::yes : VerdictState::no;
  return v;
}

std::string plain_language_summary(const RepScore& rep) {
  const RepVerdicts& v = rep.verdicts;
  auto yes = [](const Verdict& x) { return x.state == VerdictState::yes; };
  std::string line;
  if (!rep.valid) {
    line = "not scored: " + rep.invalid_reason;
  } else if (v.glute_fired.state == VerdictState::invalid) {
    line = "not scored: " + v.glute_fired.reason;
  } else if (v.glute_fired.state == VerdictState::no) {
    line = "glutes did not fire";
    if (yes(v.lumbar_dominant))
      line += ", back did the work";
    else if (yes(v.hamstring_dominance))
      line += ", hamstrings did the work";
    else if (yes(v.tfl_substitution))
      line += ", TFL did the work";
  } else if (yes(v.lumbar_dominant)) {
    line = "back did the work";
  } else if (yes(v.hamstring_dominance)) {
    line = "hamstrings did the work";
  } else if (yes(v.tfl_substitution)) {
    line = "TFL did the work (hip flexor substitution)";
  } else if (yes(v.late_glute)) {
    line = "glutes fired late, after the back";
  } else if (v.glute_fired.state == VerdictState::yes) {
    const bool back_quiet = v.lumbar_dominant.state == VerdictState::no;
    const bool first = v.late_glute.state == VerdictState::no && std::isfinite(v.late_glute.value) &&
                       v.late_glute.value < 0.0;
    line = std::string("glutes fired") + (first || !std::isfinite(v.late_glute.value) ? " first" : "") +
           (back_quiet ? ", back quiet" : "");
  } else {
    // glute_fired not available (no MVC reference): only timing can be said.
    line = v.late_glute.state == VerdictState::no ? "glutes fired on time (timing only: no MVC reference)"
                                                  : "timing only: no MVC reference for amplitudes";
  }
  if (rep.valid && yes(v.pelvic_compensation)) line += "; pelvis rolled";
  if (rep.partial) line += " (partial rep)";
  return line;
}

}  // namespace glutescope::exercise
