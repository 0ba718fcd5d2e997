// Per-repetition scores and verdicts, and their set summaries: the numbers behind "did the glutes fire, or
// did the back (hamstrings, TFL) do the work?". Formulas, thresholds and sources: docs/SCORING.md.
// Result types are plain data; the small formula functions are pure so each can be checked by hand.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/montage.hpp"
#include "exercise/normalisation.hpp"

namespace glutescope::exercise {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// State of one verdict for one rep. For glute_fired "yes" is the desired outcome; for every other verdict
// "yes" means the compensation was seen.
enum class VerdictState : std::uint8_t { no = 0, yes = 1, not_available = 2, invalid = 3 };
std::string_view to_string(VerdictState state) noexcept;

struct Verdict {
  VerdictState state = VerdictState::not_available;
  double value = kNaN;      // the quantity compared (ratio, ms, deg, %MVIC)
  double threshold = kNaN;  // the setting it was compared with
  std::string reason;       // why not available / invalid, or a short explanation
};

// What the onset search of one channel in one rep found (docs/SCORING.md "Onset states"). Only `detected`
// carries an onset time; the others are neither an onset nor a miss and feed neither the firing order nor
// the late-glute verdict.
enum class OnsetState : std::uint8_t {
  not_scored = 0,           // channel or rep invalid (gap, lead-off, saturation): not searched
  detected = 1,             // an onset inside the search window (onset_s, onset_rel_ms)
  not_detected = 2,         // no activity above threshold in the search window ("none")
  already_active = 3,       // above threshold when the search window opens and still active at the
                            // movement onset: the contraction began before the window
  continuously_active = 4,  // the muscle never returned to rest before this rep (tonic activity: the
                            // rest before it is mostly above threshold); no onset exists to report
  baseline_not_quiet = 5,   // the set's rest is not quiet enough for a threshold: onset unreliable
};
inline constexpr std::size_t kOnsetStateCount = 6;
// Names used in JSON, CSV and tables: "not_scored", "detected", "none", "already_active",
// "continuously_active", "baseline_not_quiet".
std::string_view to_string(OnsetState state) noexcept;

// Scores of one EMG channel in one rep. Amplitudes are in the set's normalisation unit (%MVIC or % of the
// set's peak: see Normalisation::kind).
struct ChannelRepScore {
  bool valid = true;
  std::string invalid_reason;   // lead-off, gap, saturation
  bool onset_detected = false;  // onset_state == detected
  OnsetState onset_state = OnsetState::not_scored;
  double onset_s = kNaN;       // absolute time of the detected onset (s, session clock)
  double onset_rel_ms = kNaN;  // onset minus the rep's movement onset (ms; negative = before the movement)
  double mean_concentric_pct = kNaN;
  double mean_hold_pct = kNaN;
  double mean_pct = kNaN;             // mean over concentric + hold
  double peak_pct = kNaN;             // max of the peak estimator (500 ms average of the RMS envelope) over
                                      // concentric + hold
  double median_frequency_hz = kNaN;  // spectral window centred on the rep's peak
  double finsm5 = kNaN;
};

// Glute-to-erector-spinae ratio of one rep or set, per side and combined two ways (the averaging order in
// the literature is not verified: research emg-and-scoring.md §3.3, so both are kept).
struct SideRatios {
  std::array<double, 2> per_side{kNaN, kNaN};  // [left, right]: glute / ES of the same side
  double ratio_of_means = kNaN;                // mean(glute sides) / mean(ES sides)
  double mean_of_ratios = kNaN;                // mean of the available per-side ratios
};

struct RepVerdicts {
  Verdict glute_fired;          // onset detected and mean %MVIC >= threshold (yes = good)
  Verdict lumbar_dominant;      // ES / glute >= threshold
  Verdict late_glute;           // glute onset - ES onset > threshold (ms)
  Verdict pelvic_compensation;  // |pelvic roll| (or bridge anterior tilt) beyond threshold (deg)
  Verdict hamstring_dominance;  // bridge: BF / GMax >= threshold
  Verdict tfl_substitution;     // clamshell: TFL / GMed >= threshold
};
inline constexpr std::size_t kVerdictCount = 6;
// Names used in JSON and tables, in RepVerdicts order.
inline constexpr std::array<std::string_view, kVerdictCount> kVerdictNames{
    "glute_fired",         "lumbar_dominant",     "late_glute",
    "pelvic_compensation", "hamstring_dominance", "tfl_substitution"};
const Verdict& verdict_at(const RepVerdicts& v, std::size_t i) noexcept;

struct RepScore {
  std::size_t index = 0;
  double start_s = 0.0, concentric_end_s = 0.0, hold_end_s = 0.0, end_s = 0.0, peak_s = 0.0;  // from the IMU
  bool partial = false;
  double rom_deg = 0.0;
  double pelvic_roll_max_deg = kNaN;  // largest |roll| relative to the starting posture
  double pelvic_tilt_min_deg = kNaN;  // most anterior (lowest) tilt relative to the starting posture
  bool valid = true;                  // false when the whole rep could not be scored (IMU gap)
  std::string invalid_reason;
  std::vector<ChannelRepScore> channels;  // montage order
  SideRatios gmax_to_es;
  SideRatios gmed_to_es;
  std::vector<std::size_t> firing_order;  // channel indices with a detected onset, earliest first
  RepVerdicts verdicts;
  std::string summary;  // one plain-language line for clinicians
};

// A rep's traffic light for clinicians (the web page and the HTML report): "green" glutes fired and no
// compensation; "amber" glutes fired with a compensation (late glute, pelvic, hamstring, TFL) or the glute
// verdict not available; "red" glutes did not fire or the back dominated; "grey" rep not scored.
std::string_view traffic_light(const RepScore& rep) noexcept;

// ---- Formulas (pure; docs/SCORING.md) -------------------------------------------------------------------

// 100 * amplitude / reference; NaN if the reference is not positive or either value is not finite.
double percent_of_reference(double amplitude, double reference) noexcept;
// Robinson, Herzog & Nigg 1987 (J Manipulative Physiol Ther 10:172) symmetry index:
// SI = 100 * (right - left) / (0.5 * (right + left)) in %; 0 = symmetric, positive = right larger. NaN if
// the denominator is not positive.
double symmetry_index_pct(double left, double right) noexcept;
// Least-squares slope of values[i] against rep number i, as a percentage of the fitted value at the first
// rep: 100 * b / a for the fit a + b i. Non-finite values are skipped; NaN with fewer than 3 points or a
// non-positive fitted first value.
double trend_pct_per_rep(std::span<const double> values) noexcept;
// Median of the finite values (NaN if none).
double median_finite(std::span<const double> values);
// ratio_of_means = mean(numerators) / mean(denominators) over index pairs where both are finite;
// mean_of_ratios = mean(numerator_i / denominator_i) over the same pairs.
double ratio_of_means(std::span<const double> numerators, std::span<const double> denominators) noexcept;
double mean_of_ratios(std::span<const double> numerators, std::span<const double> denominators) noexcept;
// Per-side glute/ES ratios of one rep from (left, right) mean amplitudes; a side missing either channel is
// NaN.
SideRatios side_ratios(std::array<double, 2> glute, std::array<double, 2> es) noexcept;

// Threshold verdicts. ratio_verdict: yes if numerator / denominator >= threshold.
Verdict ratio_verdict(double numerator, double denominator, double threshold);
// late: yes if glute_onset_s - es_onset_s > threshold_ms / 1000.
Verdict late_onset_verdict(double glute_onset_s, double es_onset_s, double threshold_ms);

// The clinician's line for one rep, from its verdicts (priority: invalid > glutes silent > back > hamstrings
// > TFL > late; pelvis and partial are appended).
std::string plain_language_summary(const RepScore& rep);

}  // namespace glutescope::exercise
