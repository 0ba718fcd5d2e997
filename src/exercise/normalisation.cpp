#include "exercise/normalisation.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace glutescope::exercise {

std::string_view to_string(NormalisationKind kind) noexcept {
  switch (kind) {
    case NormalisationKind::mvic:
      return "mvic";
    case NormalisationKind::peak_of_set:
      return "peak_of_set";
  }
  return "unknown";
}

std::vector<double> moving_average_centered(std::span<const double> x, std::size_t window) {
  const std::size_t n = x.size();
  std::vector<double> out(n, 0.0);
  if (n == 0) return out;
  window = std::max<std::size_t>(1, window);
  // Prefix sums in long double: sessions have up to millions of samples.
  std::vector<long double> prefix(n + 1, 0.0L);
  for (std::size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + x[i];
  const std::size_t before = (window - 1) / 2;
  const std::size_t after = window / 2;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t lo = i >= before ? i - before : 0;
    const std::size_t hi = std::min(n, i + after + 1);
    out[i] = static_cast<double>((prefix[hi] - prefix[lo]) / static_cast<long double>(hi - lo));
  }
  return out;
}

double peak_amplitude(std::span<const double> smoothed_envelope, std::size_t begin,
                      std::size_t end) noexcept {
  end = std::min(end, smoothed_envelope.size());
  if (begin >= end) return std::numeric_limits<double>::quiet_NaN();
  return *std::max_element(smoothed_envelope.begin() + static_cast<std::ptrdiff_t>(begin),
                           smoothed_envelope.begin() + static_cast<std::ptrdiff_t>(end));
}

bool is_scored_muscle(Muscle muscle) noexcept { return muscle != Muscle::other; }

double mvc_reference(const EmgChannel& ch, std::span<const MvcTrial> trials,
                     std::span<const double> trial_peak_uv) {
  double ref = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t k = 0; k < trials.size() && k < trial_peak_uv.size(); ++k) {
    const MvcTrial& t = trials[k];
    if (t.muscle != ch.muscle) continue;
    if (t.side != Side::midline && t.side != Side::unknown && t.side != ch.side) continue;
    const double peak = trial_peak_uv[k];
    if (std::isfinite(peak) && (!std::isfinite(ref) || peak > ref)) ref = peak;
  }
  return ref;
}

double mvc_reference(const EmgChannel& ch, std::span<const double> smoothed_envelope,
                     std::span<const MvcTrial> trials) {
  std::vector<double> peaks(trials.size());
  for (std::size_t k = 0; k < trials.size(); ++k) {
    peaks[k] = peak_amplitude(smoothed_envelope, trials[k].begin_sample, trials[k].end_sample);
  }
  return mvc_reference(ch, trials, peaks);
}

std::vector<double> mvc_references(const Montage& montage,
                                   std::span<const std::vector<double>> smoothed_envelopes,
                                   std::span<const MvcTrial> trials) {
  std::vector<double> ref(montage.emg.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t c = 0; c < montage.emg.size() && c < smoothed_envelopes.size(); ++c) {
    ref[c] = mvc_reference(montage.emg[c], smoothed_envelopes[c], trials);
  }
  return ref;
}

Normalisation choose_normalisation(const Montage& montage, std::span<const double> mvc_reference_uv,
                                   std::span<const std::vector<double>> smoothed_envelopes,
                                   std::size_t set_begin, std::size_t set_end) {
  std::vector<double> set_peak(montage.emg.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t c = 0; c < montage.emg.size() && c < smoothed_envelopes.size(); ++c) {
    set_peak[c] = peak_amplitude(smoothed_envelopes[c], set_begin, set_end);
  }
  return choose_normalisation(montage, mvc_reference_uv, set_peak);
}

Normalisation choose_normalisation(const Montage& montage, std::span<const double> mvc_reference_uv,
                                   std::span<const double> set_peak_uv) {
  Normalisation n;
  const std::size_t channels = montage.emg.size();
  n.reference_uv.assign(channels, std::numeric_limits<double>::quiet_NaN());
  std::vector<std::string> missing;
  std::size_t scored = 0;
  for (std::size_t c = 0; c < channels; ++c) {
    if (!is_scored_muscle(montage.emg[c].muscle)) continue;
    ++scored;
    const double r =
        c < mvc_reference_uv.size() ? mvc_reference_uv[c] : std::numeric_limits<double>::quiet_NaN();
    if (!(std::isfinite(r) && r > 0.0)) missing.push_back(montage.emg[c].label);
  }
  if (scored > 0 && missing.empty()) {
    n.kind = NormalisationKind::mvic;
    for (std::size_t c = 0; c < channels; ++c) {
      if (is_scored_muscle(montage.emg[c].muscle)) n.reference_uv[c] = mvc_reference_uv[c];
    }
    n.note = "%MVIC: every channel normalised to its own MVC trial (CEDE approach 1/2)";
    return n;
  }
  n.kind = NormalisationKind::peak_of_set;
  for (std::size_t c = 0; c < channels && c < set_peak_uv.size(); ++c) {
    if (is_scored_muscle(montage.emg[c].muscle)) n.reference_uv[c] = set_peak_uv[c];
  }
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  if (missing.size() == scored) {
    n.note =
        "no MVC trials: amplitudes are % of each channel's peak in this set (CEDE approach 4); "
        "ratios between muscles are not comparable";
  } else {
    n.note = fmt::format(
        "no MVC trial for {}: all channels fall back to % of their peak in this set (CEDE approach "
        "4) so that every ratio uses one normalisation",
        list);
  }
  return n;
}

}  // namespace glutescope::exercise
