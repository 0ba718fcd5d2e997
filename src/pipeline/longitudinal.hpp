// The longitudinal view of a cohort (`glutescope cohort --longitudinal/--trends/--html`): each subject's
// sessions ordered by session start time, per-set and per-rep figures over time as a tidy CSV, a trend per
// subject, exercise and set-level figure, and a self-contained HTML page (inline SVG, no scripts).
//
// Trend: Theil–Sen slope (the median of the pairwise slopes; Theil 1950, Sen 1968) per week, with the
// distribution-free 95 % confidence interval from the ranks of the pairwise slopes (Sen 1968; Hollander &
// Wolfe, Nonparametric Statistical Methods, the Theil estimator and its interval): with N slopes of
// distinct-time pairs and C = 1.96 · sqrt(Var S), Var S = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18 (t: sizes of
// groups of equal times and of equal values, Sen's eq. 2.6; as scipy.stats.theilslopes), the interval is
// [slope_(M1), slope_(M2+1)] with M1 = (N − C)/2, M2 = (N + C)/2, rounded to the nearest rank. Stated in
// words without diagnosis: "rose by X per week (95 % CI a to b)", or "no clear change" when the interval
// contains 0. docs/SCALING.md has a worked example.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "pipeline/cohort.hpp"

namespace glutescope::pipeline {

// Seconds since 1970-01-01T00:00:00Z of "YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)"; false when it is not one.
bool parse_iso8601_utc_seconds(const std::string& text, double& seconds);

struct TrendEstimate {
  std::size_t points = 0;                                            // set rows with a value
  double slope = 0.0, ci_low = 0.0, ci_high = 0.0, intercept = 0.0;  // per week; NaN when unavailable
  bool ci_available = false;
};
// Theil–Sen slope of y over x with Sen's rank-based 95 % CI (above). Points with non-finite x or y are
// ignored; slope NaN for fewer than 2 distinct x.
TrendEstimate theil_sen(const std::vector<double>& x, const std::vector<double>& y);

struct SubjectTrend {
  std::string subject, exercise, metric;
  std::size_t sessions = 0;
  double span_weeks = 0.0;
  TrendEstimate estimate;
  std::string statement;  // one plain sentence, no diagnosis
};

struct LongitudinalView {
  std::string tidy_csv;    // subject_id,session_start_time,weeks,file,set,exercise,level,rep,metric,value
  std::string trends_csv;  // subject_id,exercise,metric,sessions,sets,span_weeks,slope_per_week,ci95_low,...
  std::string html;
  std::vector<SubjectTrend> trends;
  std::vector<std::string> skipped;  // sessions left out (no valid start time), one line each
};

// Builds the view from the merged sessions (analysed CSV blocks; failed ones are skipped silently since
// the merge already names them).
LongitudinalView build_longitudinal(const std::vector<SessionBlock>& sessions);

}  // namespace glutescope::pipeline
