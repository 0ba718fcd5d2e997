// Set-level summaries of scored reps (docs/SCORING.md "Set summary"): verdict counts, per-channel medians
// over valid reps, glute/ES ratios per side and combined, symmetry indices and fatigue trends.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "core/montage.hpp"
#include "exercise/rep_scores.hpp"

namespace glutescope::exercise {

struct VerdictCounts {
  int yes = 0, no = 0, not_available = 0, invalid = 0;
};

struct SetSummary {
  int reps = 0, partial_reps = 0, valid_reps = 0;
  std::array<VerdictCounts, kVerdictCount> verdicts{};  // kVerdictNames order
  std::vector<double> median_mean_pct;      // per channel: median over valid reps of mean (concentric+hold)
  std::vector<double> median_peak_pct;      // per channel
  std::vector<double> median_onset_rel_ms;  // per channel
  SideRatios gmax_to_es;                    // set level: per side and combined, over reps (see SCORING.md)
  SideRatios gmed_to_es;
  double gmax_to_es_mean_of_rep_ratios = kNaN;  // mean over reps of each rep's ratio_of_means
  double gmed_to_es_mean_of_rep_ratios = kNaN;
  double gmax_symmetry_pct = kNaN;  // Robinson 1987 SI on the median mean amplitudes, R vs L
  double gmed_symmetry_pct = kNaN;
  std::vector<double> median_frequency_trend_pct_per_rep;  // per channel
  std::vector<double> finsm5_trend_pct_per_rep;            // per channel
};

// Adds one verdict state to its counter.
void count_verdict(VerdictCounts& counts, VerdictState state) noexcept;

// One channel's field over the reps, NaN where the rep or the channel is invalid.
[[nodiscard]] std::vector<double> rep_column(const std::vector<RepScore>& reps, std::size_t channel,
                                             double (*field)(const ChannelRepScore&));

// The summary of a set's reps (montage order). amplitudes_comparable: MVC normalisation (or
// verdicts.ratios_without_mvc): only then are the glute/ES ratios computed (NaN otherwise).
[[nodiscard]] SetSummary summarise_set(const Montage& montage, const std::vector<RepScore>& reps,
                                       bool amplitudes_comparable);

}  // namespace glutescope::exercise
