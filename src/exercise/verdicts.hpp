// The per-rep verdict step of the analysis (offline and live alike): a rep's channel amplitudes in µV are
// normalised to the set's reference, the firing order and glute/ES ratios are derived, and the six verdicts
// (glute fired, lumbar dominant, late glute, pelvic compensation, hamstring dominance, TFL substitution) and
// the clinician's line are decided. Thresholds: AnalysisSettings::verdicts (docs/SCORING.md "Verdicts").
#pragma once

#include <string>
#include <vector>

#include "core/montage.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/rep_scores.hpp"

namespace glutescope::exercise {

// What the verdicts of one rep depend on besides the rep itself.
struct VerdictContext {
  const Montage* montage = nullptr;
  const AnalysisSettings* settings = nullptr;
  Exercise exercise = Exercise::bridge;
  Side working_side = Side::midline;  // clamshell: the upper (moving) leg; bridge: both sides are working
  Normalisation normalisation;        // the set's (reference_uv per channel, montage order)
  bool have_pelvis = false;           // a sacral IMU exists (pelvic verdict)
};

// The sides whose muscles a verdict compares: both for a bridge, the upper leg for a clamshell.
[[nodiscard]] std::vector<Side> working_sides(Exercise exercise, Side working_side);

// µV -> % of the normalisation reference for every channel's mean_concentric_pct, mean_hold_pct, mean_pct and
// peak_pct (score_channel leaves µV there until the set's reference is known).
void normalise_amplitudes(const Normalisation& normalisation, RepScore& rep);

// Channels with a detected onset, earliest first (stable for equal onsets).
[[nodiscard]] std::vector<std::size_t> firing_order(const RepScore& rep);

// Normalisation, firing order, glute/ES ratios, the six verdicts and the plain-language line: everything
// after the per-channel scores. Verdicts that need MVC normalisation are "not available" on the
// peak-of-set fallback unless verdicts.ratios_without_mvc; a missing electrode makes a verdict "not
// available", an invalid one "invalid" (with the channel's reason).
void decide_verdicts(const VerdictContext& context, RepScore& rep);

}  // namespace glutescope::exercise
