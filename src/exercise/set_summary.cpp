#include "exercise/set_summary.hpp"

#include <array>

namespace glutescope::exercise {
namespace {

constexpr std::size_t kLeft = 0;
constexpr std::size_t kRight = 1;
std::size_t side_index(Side s) { return s == Side::right ? kRight : kLeft; }

}  // namespace

void count_verdict(VerdictCounts& c, VerdictState s) noexcept {
  switch (s) {
    case VerdictState::yes:
      ++c.yes;
      break;
    case VerdictState::no:
      ++c.no;
      break;
    case VerdictState::not_available:
      ++c.not_available;
      break;
    case VerdictState::invalid:
      ++c.invalid;
      break;
  }
}

std::vector<double> rep_column(const std::vector<RepScore>& reps, std::size_t c,
                               double (*field)(const ChannelRepScore&)) {
  std::vector<double> x;
  for (const RepScore& rep : reps) {
    const ChannelRepScore& cs = rep.channels[c];
    x.push_back(rep.valid && cs.valid ? field(cs) : kNaN);
  }
  return x;
}

SetSummary summarise_set(const Montage& montage, const std::vector<RepScore>& reps,
                         bool amplitudes_comparable) {
  const std::size_t channels = montage.emg.size();
  SetSummary sum;
  sum.reps = static_cast<int>(reps.size());
  sum.median_mean_pct.assign(channels, kNaN);
  sum.median_peak_pct.assign(channels, kNaN);
  sum.median_onset_rel_ms.assign(channels, kNaN);
  sum.median_frequency_trend_pct_per_rep.assign(channels, kNaN);
  sum.finsm5_trend_pct_per_rep.assign(channels, kNaN);
  for (const RepScore& rep : reps) {
    sum.partial_reps += rep.partial ? 1 : 0;
    sum.valid_reps += rep.valid ? 1 : 0;
    for (std::size_t i = 0; i < kVerdictCount; ++i)
      count_verdict(sum.verdicts[i], verdict_at(rep.verdicts, i).state);
  }
  auto column = [&](std::size_t c, double (*field)(const ChannelRepScore&)) {
    return rep_column(reps, c, field);
  };
  for (std::size_t c = 0; c < channels; ++c) {
    sum.median_mean_pct[c] = median_finite(column(c, [](const ChannelRepScore& x) { return x.mean_pct; }));
    sum.median_peak_pct[c] = median_finite(column(c, [](const ChannelRepScore& x) { return x.peak_pct; }));
    sum.median_onset_rel_ms[c] =
        median_finite(column(c, [](const ChannelRepScore& x) { return x.onset_rel_ms; }));
    sum.median_frequency_trend_pct_per_rep[c] =
        trend_pct_per_rep(column(c, [](const ChannelRepScore& x) { return x.median_frequency_hz; }));
    sum.finsm5_trend_pct_per_rep[c] =
        trend_pct_per_rep(column(c, [](const ChannelRepScore& x) { return x.finsm5; }));
  }
  auto set_ratios = [&](Muscle g_muscle, SideRatios& out, double& mean_of_rep_ratios) {
    if (!amplitudes_comparable) return;
    std::array<double, 2> gm{kNaN, kNaN}, esm{kNaN, kNaN};
    std::vector<double> per_rep;
    for (Side side : {Side::left, Side::right}) {
      const auto gc = montage.find(g_muscle, side);
      const auto ec = montage.find(Muscle::erector_spinae_lumbar, side);
      if (!gc || !ec) continue;
      // Per side over reps: ratio of the mean amplitudes and, below, the mean of per-rep ratios.
      const auto gcol = column(*gc, [](const ChannelRepScore& x) { return x.mean_pct; });
      const auto ecol = column(*ec, [](const ChannelRepScore& x) { return x.mean_pct; });
      out.per_side[side_index(side)] = ratio_of_means(gcol, ecol);
      gm[side_index(side)] = mean_of_ratios(gcol, std::vector<double>(gcol.size(), 1.0));  // mean of glute
      esm[side_index(side)] = mean_of_ratios(ecol, std::vector<double>(ecol.size(), 1.0));
    }
    out.ratio_of_means = ratio_of_means(gm, esm);
    out.mean_of_ratios = mean_of_ratios(out.per_side, std::array<double, 2>{1.0, 1.0});
    for (const RepScore& rep : reps) {
      per_rep.push_back(g_muscle == Muscle::gluteus_maximus ? rep.gmax_to_es.ratio_of_means
                                                            : rep.gmed_to_es.ratio_of_means);
    }
    mean_of_rep_ratios = mean_of_ratios(per_rep, std::vector<double>(per_rep.size(), 1.0));
  };
  set_ratios(Muscle::gluteus_maximus, sum.gmax_to_es, sum.gmax_to_es_mean_of_rep_ratios);
  set_ratios(Muscle::gluteus_medius, sum.gmed_to_es, sum.gmed_to_es_mean_of_rep_ratios);
  auto symmetry = [&](Muscle m) {
    const auto l = montage.find(m, Side::left), r = montage.find(m, Side::right);
    if (!l || !r) return kNaN;
    return symmetry_index_pct(sum.median_mean_pct[*l], sum.median_mean_pct[*r]);
  };
  sum.gmax_symmetry_pct = symmetry(Muscle::gluteus_maximus);
  sum.gmed_symmetry_pct = symmetry(Muscle::gluteus_medius);
  return sum;
}

}  // namespace glutescope::exercise
