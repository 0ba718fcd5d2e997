#include "exercise/verdicts.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <optional>

#include <fmt/format.h>

namespace glutescope::exercise {
namespace {

constexpr std::size_t kLeft = 0;
constexpr std::size_t kRight = 1;
std::size_t side_index(Side s) { return s == Side::right ? kRight : kLeft; }

double mean_finite2(double a, double b) {
  const bool fa = std::isfinite(a), fb = std::isfinite(b);
  if (fa && fb) return 0.5 * (a + b);
  if (fa) return a;
  if (fb) return b;
  return kNaN;
}

Verdict with_state(VerdictState state, std::string reason) {
  Verdict v;
  v.state = state;
  v.reason = std::move(reason);
  return v;
}
Verdict not_available(std::string reason) {
  return with_state(VerdictState::not_available, std::move(reason));
}
Verdict invalid(std::string reason) { return with_state(VerdictState::invalid, std::move(reason)); }

const char* const kNeedsMvc =
    "needs MVC normalisation (amplitudes are % of the set's peak; CEDE: cross-muscle "
    "comparisons need MVC)";

// The rep's channels as the verdicts see them.
class RepChannels {
 public:
  RepChannels(const VerdictContext& ctx, const RepScore& rep)
      : montage_(*ctx.montage), rep_(rep), sides_(working_sides(ctx.exercise, ctx.working_side)) {}

  [[nodiscard]] const std::vector<Side>& sides() const { return sides_; }
  [[nodiscard]] std::optional<std::size_t> channel(Muscle m, Side side) const {
    return montage_.find(m, side);
  }
  // mean_pct / onset_s of (muscle, side); NaN without a valid channel.
  [[nodiscard]] double mean_pct(Muscle m, Side side) const { return value(m, side, false); }
  [[nodiscard]] double onset_s(Muscle m, Side side) const { return value(m, side, true); }
  // The mean over the working sides of mean_pct / onset_s.
  [[nodiscard]] double working_mean_pct(Muscle m) const { return working_mean(m, false); }
  [[nodiscard]] double working_onset_s(Muscle m) const { return working_mean(m, true); }
  [[nodiscard]] const ChannelRepScore& score(std::size_t c) const { return rep_.channels[c]; }
  // Whether a valid working-side channel of `m` is in one of `states`.
  [[nodiscard]] bool any_working_in(Muscle m, std::initializer_list<OnsetState> states) const {
    for (Side side : sides_) {
      const auto c = channel(m, side);
      if (!c || !rep_.channels[*c].valid) continue;
      if (std::find(states.begin(), states.end(), rep_.channels[*c].onset_state) != states.end()) return true;
    }
    return false;
  }

  // The verdict a missing (not available) or invalid channel of `m` on the working sides forces, if any:
  // at least one side must be present and every present side valid.
  [[nodiscard]] std::optional<Verdict> requirement(Muscle m) const {
    bool any = false;
    for (Side side : sides_) {
      const auto c = channel(m, side);
      if (!c) continue;
      any = true;
      if (!rep_.channels[*c].valid) return invalid(rep_.channels[*c].invalid_reason);
    }
    if (any) return std::nullopt;
    return not_available(fmt::format(
        "no {} electrode{}", to_string(m),
        sides_.size() == 1 ? fmt::format(" on the {} side", to_string(sides_.front())) : std::string()));
  }

 private:
  [[nodiscard]] double value(Muscle m, Side side, bool onset) const {
    const auto c = channel(m, side);
    if (!c || !rep_.channels[*c].valid) return kNaN;
    return onset ? rep_.channels[*c].onset_s : rep_.channels[*c].mean_pct;
  }
  [[nodiscard]] double working_mean(Muscle m, bool onset) const {
    const bool left = std::find(sides_.begin(), sides_.end(), Side::left) != sides_.end();
    const bool right = std::find(sides_.begin(), sides_.end(), Side::right) != sides_.end();
    return mean_finite2(left ? value(m, Side::left, onset) : kNaN,
                        right ? value(m, Side::right, onset) : kNaN);
  }

  const Montage& montage_;
  const RepScore& rep_;
  std::vector<Side> sides_;
};

Verdict glute_fired(const RepChannels& ch, Muscle glute, bool comparable, const VerdictSettings& s) {
  if (auto forced = ch.requirement(glute)) return *forced;
  if (!comparable) return not_available(kNeedsMvc);
  Verdict v;
  const double amp = ch.working_mean_pct(glute);
  const double on = ch.working_onset_s(glute);
  v.value = amp;
  v.threshold = s.glute_fired_min_pct_mvic;
  // Active before the search window (already or continuously active) is active too: it has no onset time.
  const bool active = std::isfinite(on) ||
                      ch.any_working_in(glute, {OnsetState::already_active, OnsetState::continuously_active});
  const bool fired = active && amp >= s.glute_fired_min_pct_mvic;
  v.state = fired ? VerdictState::yes : VerdictState::no;
  if (!active)
    v.reason = ch.any_working_in(glute, {OnsetState::baseline_not_quiet})
                   ? "onset unreliable (baseline not quiet)"
                   : "no onset detected";
  else if (!fired)
    v.reason = "amplitude below threshold";
  return v;
}

Verdict lumbar_dominant(const RepChannels& ch, Muscle glute, bool comparable, const VerdictSettings& s) {
  if (auto forced = ch.requirement(Muscle::erector_spinae_lumbar)) return *forced;
  if (auto forced = ch.requirement(glute)) return *forced;
  if (!comparable) return not_available(kNeedsMvc);
  return ratio_verdict(ch.working_mean_pct(Muscle::erector_spinae_lumbar), ch.working_mean_pct(glute),
                       s.lumbar_es_to_glute_ratio);
}

Verdict late_glute(const RepChannels& ch, Muscle glute, const VerdictSettings& s) {
  if (auto forced = ch.requirement(Muscle::erector_spinae_lumbar)) return *forced;
  if (auto forced = ch.requirement(glute)) return *forced;
  // Activity that began before the search window has no onset time: it orders nothing (issue 14).
  const std::initializer_list<OnsetState> kNoOnsetTime{OnsetState::already_active,
                                                       OnsetState::continuously_active};
  for (Muscle m : {glute, Muscle::erector_spinae_lumbar}) {
    if (ch.any_working_in(m, kNoOnsetTime))
      return not_available(fmt::format("{} already active when the onset search began", to_string(m)));
  }
  return late_onset_verdict(ch.working_onset_s(glute), ch.working_onset_s(Muscle::erector_spinae_lumbar),
                            s.late_glute_delay_ms);
}

Verdict pelvic_compensation(const RepScore& rep, Exercise ex, bool have_pelvis, const VerdictSettings& s) {
  if (!have_pelvis) return not_available("no sacral IMU");
  Verdict p;
  p.value = rep.pelvic_roll_max_deg;
  p.threshold = s.pelvic_roll_threshold_deg;
  const bool rolled =
      std::isfinite(rep.pelvic_roll_max_deg) && rep.pelvic_roll_max_deg > s.pelvic_roll_threshold_deg;
  const bool tilted = ex == Exercise::bridge && std::isfinite(rep.pelvic_tilt_min_deg) &&
                      -rep.pelvic_tilt_min_deg > s.pelvic_tilt_threshold_deg;
  p.state = rolled || tilted ? VerdictState::yes : VerdictState::no;
  if (rolled)
    p.reason = fmt::format("pelvis rolled {:.1f} deg", rep.pelvic_roll_max_deg);
  else if (tilted)
    p.reason = fmt::format("anterior pelvic tilt {:.1f} deg", -rep.pelvic_tilt_min_deg);
  return p;
}

// Hamstring dominance (bridges) and TFL substitution (clamshells): same-side pairs on the working sides.
Verdict pair_verdict(const RepChannels& ch, Muscle compensator, Muscle agonist, bool comparable,
                     double threshold) {
  if (auto forced = ch.requirement(compensator)) return *forced;
  std::array<double, 2> num{kNaN, kNaN}, den{kNaN, kNaN};
  for (Side side : ch.sides()) {
    if (!ch.channel(compensator, side)) continue;
    const auto a = ch.channel(agonist, side);
    if (!a) continue;
    if (!ch.score(*a).valid) return invalid(ch.score(*a).invalid_reason);
    num[side_index(side)] = ch.mean_pct(compensator, side);
    den[side_index(side)] = ch.mean_pct(agonist, side);
  }
  if (!comparable) return not_available(kNeedsMvc);
  if (std::isnan(ratio_of_means(num, den))) {
    return not_available(fmt::format("no {} electrode on the side of the {} electrode", to_string(agonist),
                                     to_string(compensator)));
  }
  double sn = 0.0, sd = 0.0;
  for (std::size_t k = 0; k < 2; ++k) {
    if (std::isfinite(num[k]) && std::isfinite(den[k])) sn += num[k], sd += den[k];
  }
  return ratio_verdict(sn, sd, threshold);
}

}  // namespace

std::vector<Side> working_sides(Exercise exercise, Side working_side) {
  if (exercise == Exercise::bridge) return {Side::left, Side::right};
  return {working_side};
}

void normalise_amplitudes(const Normalisation& normalisation, RepScore& rep) {
  for (std::size_t c = 0; c < rep.channels.size(); ++c) {
    ChannelRepScore& cs = rep.channels[c];
    const double ref = normalisation.reference_uv[c];
    cs.mean_concentric_pct = percent_of_reference(cs.mean_concentric_pct, ref);
    cs.mean_hold_pct = percent_of_reference(cs.mean_hold_pct, ref);
    cs.mean_pct = percent_of_reference(cs.mean_pct, ref);
    cs.peak_pct = percent_of_reference(cs.peak_pct, ref);
  }
}

std::vector<std::size_t> firing_order(const RepScore& rep) {
  std::vector<std::size_t> order;
  for (std::size_t c = 0; c < rep.channels.size(); ++c) {
    if (rep.channels[c].onset_detected) order.push_back(c);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return rep.channels[a].onset_s < rep.channels[b].onset_s;
  });
  return order;
}

void decide_verdicts(const VerdictContext& ctx, RepScore& rep) {
  const VerdictSettings& s = ctx.settings->verdicts;
  const bool comparable = ctx.normalisation.kind == NormalisationKind::mvic || s.ratios_without_mvc;
  const Exercise ex = ctx.exercise;
  const Muscle glute = ex == Exercise::bridge ? Muscle::gluteus_maximus : Muscle::gluteus_medius;
  normalise_amplitudes(ctx.normalisation, rep);
  rep.firing_order = firing_order(rep);
  const RepChannels ch(ctx, rep);
  if (comparable) {
    std::array<double, 2> gmax{}, gmed{}, es{};
    for (Side side : {Side::left, Side::right}) {
      gmax[side_index(side)] = ch.mean_pct(Muscle::gluteus_maximus, side);
      gmed[side_index(side)] = ch.mean_pct(Muscle::gluteus_medius, side);
      es[side_index(side)] = ch.mean_pct(Muscle::erector_spinae_lumbar, side);
    }
    rep.gmax_to_es = side_ratios(gmax, es);
    rep.gmed_to_es = side_ratios(gmed, es);
  }
  RepVerdicts& v = rep.verdicts;
  if (!rep.valid) {
    // Boundaries that cannot be trusted (IMU data lost inside the rep): every verdict needing the rep is
    // invalid with the rep's reason; the exercise-specific "scored for ... only" stay as they are.
    v.glute_fired = v.lumbar_dominant = v.late_glute = v.pelvic_compensation = invalid(rep.invalid_reason);
    v.hamstring_dominance =
        ex == Exercise::bridge ? invalid(rep.invalid_reason) : not_available("scored for bridges only");
    v.tfl_substitution =
        ex == Exercise::clamshell ? invalid(rep.invalid_reason) : not_available("scored for clamshells only");
  } else {
    v.glute_fired = glute_fired(ch, glute, comparable, s);
    v.lumbar_dominant = lumbar_dominant(ch, glute, comparable, s);
    v.late_glute = late_glute(ch, glute, s);
    v.pelvic_compensation = pelvic_compensation(rep, ex, ctx.have_pelvis, s);
    v.hamstring_dominance = ex == Exercise::bridge
                                ? pair_verdict(ch, Muscle::biceps_femoris, Muscle::gluteus_maximus,
                                               comparable, s.hamstring_to_gmax_ratio)
                                : not_available("scored for bridges only");
    v.tfl_substitution = ex == Exercise::clamshell
                             ? pair_verdict(ch, Muscle::tensor_fasciae_latae, Muscle::gluteus_medius,
                                            comparable, s.tfl_to_gmed_ratio)
                             : not_available("scored for clamshells only");
  }
  rep.summary = plain_language_summary(rep);
}

}  // namespace glutescope::exercise
