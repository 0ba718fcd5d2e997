#include "pipeline/longitudinal.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/core.h>

#include "exercise/rep_scores.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_report.hpp"

namespace glutescope::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSecondsPerWeek = 7.0 * 86400.0;

std::string num(double v) { return csv_number(v); }

// Days from 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse; era = 400 years).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

// The set-level figures followed over time (column of the summary CSV, label for people).
struct Figure {
  const char* column;
  const char* label;
  bool needs_mvic;  // amplitudes in % of the set's peak are not comparable between sessions
};
constexpr Figure kSetFigures[] = {
    {"gmax_to_es_ratio_of_means", "GMax:ES ratio", true},
    {"gmed_to_es_ratio_of_means", "GMed:ES ratio", true},
    {"gmax_l_mean_pct", "GMax left %MVIC", true},
    {"gmax_r_mean_pct", "GMax right %MVIC", true},
    {"gmed_l_mean_pct", "GMed left %MVIC", true},
    {"gmed_r_mean_pct", "GMed right %MVIC", true},
    {"gmax_symmetry_pct", "GMax symmetry index %", true},
    {"gmed_symmetry_pct", "GMed symmetry index %", true},
    {"valid_reps", "valid reps", false},
};
constexpr const char* kOnsetColumns[2][2] = {{"gmax_l_onset_rel_ms", "gmax_r_onset_rel_ms"},
                                             {"es_l_onset_rel_ms", "es_r_onset_rel_ms"}};

// One analysed set of one session with its figures (metric -> value) and its reps' figures.
struct SetPoint {
  std::string file, start_time, exercise;
  double seconds = 0.0;
  std::size_t set = 0;
  std::vector<std::pair<std::string, double>> figures;
  std::vector<std::pair<std::size_t, std::vector<std::pair<std::string, double>>>> reps;
};

double value_of(const std::vector<std::string>& f, const std::string& column) {
  const auto& cols = summary_csv_columns();
  const auto at = static_cast<std::size_t>(std::find(cols.begin(), cols.end(), column) - cols.begin());
  if (at >= f.size() || f[at] == "NA" || f[at].empty()) return kNaN;
  char* end = nullptr;
  const double v = std::strtod(f[at].c_str(), &end);
  return end != nullptr && *end == '\0' && std::isfinite(v) ? v : kNaN;
}

std::string text_of(const std::vector<std::string>& f, const std::string& column) {
  const auto& cols = summary_csv_columns();
  const auto at = static_cast<std::size_t>(std::find(cols.begin(), cols.end(), column) - cols.begin());
  return at < f.size() ? f[at] : std::string();
}

// Earliest glute onset minus earliest ES onset of a rep (ms; negative = glutes first): the onset order.
double glute_minus_es_onset_ms(const std::vector<std::string>& f) {
  double first[2] = {kNaN, kNaN};
  for (int g = 0; g < 2; ++g) {
    for (const char* c : kOnsetColumns[g]) {
      const double v = value_of(f, c);
      if (std::isfinite(v) && !(v >= first[g])) first[g] = v;
    }
  }
  return first[0] - first[1];
}

// Verdict figures: a rep's state as 1 (yes) / 0 (no); a set's "yes/no/not_available/invalid" counts as
// the share of yes among yes + no (%).
double verdict_figure(const std::string& cell, bool set_level) {
  if (!set_level) return cell == "yes" ? 1.0 : cell == "no" ? 0.0 : kNaN;
  unsigned yes = 0, no = 0, na = 0, inv = 0;
  if (std::sscanf(cell.c_str(), "%u/%u/%u/%u", &yes, &no, &na, &inv) != 4 || yes + no == 0) return kNaN;
  return 100.0 * yes / (yes + no);
}

std::vector<std::pair<std::string, double>> rep_figures(const std::vector<std::string>& f, bool mvic) {
  std::vector<std::pair<std::string, double>> out;
  for (const Figure& fig : kSetFigures) {
    if (fig.needs_mvic && !mvic) continue;
    if (std::string_view(fig.column).find("symmetry") != std::string_view::npos) continue;
    if (std::string_view(fig.column) != "valid_reps") out.emplace_back(fig.column, value_of(f, fig.column));
  }
  out.emplace_back("glute_minus_es_onset_ms", glute_minus_es_onset_ms(f));
  for (auto v : exercise::kVerdictNames)
    out.emplace_back(std::string(v), verdict_figure(text_of(f, std::string(v)), false));
  return out;
}

// Reads the analysed sessions' set and rep rows into set points, per subject.
std::map<std::string, std::vector<SetPoint>> read_points(const std::vector<SessionBlock>& sessions,
                                                         std::vector<std::string>& skipped) {
  std::map<std::string, std::vector<SetPoint>> by_subject;
  std::vector<std::string> f;
  for (const SessionBlock& b : sessions) {
    if (!b.ok) continue;
    std::vector<SetPoint> sets;
    std::vector<std::pair<std::size_t, std::vector<std::pair<std::string, double>>>> reps;
    std::string subject, start;
    double seconds = 0.0;
    for (std::size_t p = 0, q; (q = b.text.find('\n', p)) != std::string::npos; p = q + 1) {
      if (!split_csv_record(std::string_view(b.text).substr(p, q - p), f)) break;
      const std::string level = text_of(f, "level");
      subject = text_of(f, "subject_id");
      start = text_of(f, "session_start_time");
      const bool mvic = text_of(f, "normalisation") == "mvic";
      if (level == "rep") {
        reps.emplace_back(static_cast<std::size_t>(value_of(f, "rep")), rep_figures(f, mvic));
      } else if (level == "set") {
        SetPoint s{b.session,
                   start,
                   text_of(f, "exercise"),
                   0.0,
                   static_cast<std::size_t>(value_of(f, "set")),
                   {},
                   std::move(reps)};
        reps.clear();
        for (const Figure& fig : kSetFigures) {
          if (!fig.needs_mvic || mvic) s.figures.emplace_back(fig.column, value_of(f, fig.column));
        }
        double leads = 0.0, timed = 0.0;
        for (const auto& [index, figures] : s.reps) {
          const auto d = std::find_if(figures.begin(), figures.end(),
                                      [](const auto& kv) { return kv.first == "glute_minus_es_onset_ms"; });
          if (d != figures.end() && std::isfinite(d->second)) {
            timed += 1.0;
            leads += d->second < 0.0 ? 1.0 : 0.0;
          }
        }
        s.figures.emplace_back("glute_before_es_pct", timed > 0.0 ? 100.0 * leads / timed : kNaN);
        for (auto v : exercise::kVerdictNames) {
          const std::string cell = text_of(f, std::string(v));
          s.figures.emplace_back(std::string(v) + "_yes_pct", verdict_figure(cell, true));
          unsigned counts[4] = {};
          const bool counted =
              std::sscanf(cell.c_str(), "%u/%u/%u/%u", &counts[0], &counts[1], &counts[2], &counts[3]) == 4;
          s.figures.emplace_back(std::string(v) + "_yes_reps", counted ? counts[0] : kNaN);
          s.figures.emplace_back(std::string(v) + "_no_reps", counted ? counts[1] : kNaN);
        }
        sets.push_back(std::move(s));
      }
    }
    if (!parse_iso8601_utc_seconds(start, seconds)) {
      skipped.push_back(
          fmt::format("{}: no valid session start time ('{}'); left out of the timeline", b.session, start));
      continue;
    }
    for (SetPoint& s : sets) {
      s.seconds = seconds;
      by_subject[subject].push_back(std::move(s));
    }
  }
  for (auto& [subject, points] : by_subject) {
    std::stable_sort(points.begin(), points.end(), [](const SetPoint& a, const SetPoint& b) {
      return a.seconds != b.seconds ? a.seconds < b.seconds
             : a.file != b.file     ? a.file < b.file
                                    : a.set < b.set;
    });
  }
  return by_subject;
}

std::string label_of(const std::string& metric) {
  for (const Figure& f : kSetFigures) {
    if (metric == f.column) return f.label;
  }
  if (metric == "glute_before_es_pct") return "glute onset before ES, % of reps";
  if (metric.size() > 8 && metric.compare(metric.size() - 8, 8, "_yes_pct") == 0) {
    return fmt::format("{}: yes, % of reps", metric.substr(0, metric.size() - 8));
  }
  return metric;
}

std::string rounded(double v) { return fmt::format("{:.3g}", v); }

std::string statement_for(const SubjectTrend& t) {
  const TrendEstimate& e = t.estimate;
  const std::string what = fmt::format("{} ({})", label_of(t.metric), t.exercise);
  const std::string basis =
      fmt::format("Theil–Sen slope, Sen's rank interval; {} sets in {} sessions over {:.1f} weeks", e.points,
                  t.sessions, t.span_weeks);
  if (!std::isfinite(e.slope))
    return fmt::format("{}: too few sessions on different dates for a trend ({}).", what, basis);
  if (!e.ci_available) {
    return fmt::format("{}: {} per week, too few sessions for a confidence interval ({}).", what,
                       rounded(e.slope), basis);
  }
  if (e.ci_low == 0.0 && e.ci_high == 0.0 && e.slope == 0.0) {
    return fmt::format("{}: no change, most sets had the same value ({}).", what, basis);
  }
  const std::string ci = fmt::format("95 % CI {} to {}", rounded(e.ci_low), rounded(e.ci_high));
  if (e.ci_low <= 0.0 && e.ci_high >= 0.0) {
    return fmt::format("{}: no clear change, {} per week ({}; {}).", what, rounded(e.slope), ci, basis);
  }
  return fmt::format("{}: {} by {} per week ({}; {}).", what, e.slope > 0 ? "rose" : "fell",
                     rounded(std::abs(e.slope)), ci, basis);
}

}  // namespace

bool parse_iso8601_utc_seconds(const std::string& t, double& seconds) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, consumed = 0;
  double s = 0.0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf%n", &y, &mo, &d, &h, &mi, &s, &consumed) != 6 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(s >= 0.0 && s < 61.0)) {
    return false;
  }
  const std::string zone = t.substr(static_cast<std::size_t>(consumed));
  int zh = 0, zm = 0;
  char sign = 0;
  if (zone == "Z") {
    sign = '+';
  } else if (zone.size() != 6 || std::sscanf(zone.c_str(), "%c%2d:%2d", &sign, &zh, &zm) != 3 ||
             (sign != '+' && sign != '-') || zh > 23 || zm > 59) {
    return false;
  }
  const double offset_s = (sign == '-' ? -1.0 : 1.0) * (zh * 3600.0 + zm * 60.0);
  seconds =
      static_cast<double>(days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) * 86400.0 +
      h * 3600.0 + mi * 60.0 + s - offset_s;
  return true;
}

TrendEstimate theil_sen(const std::vector<double>& x, const std::vector<double>& y) {
  TrendEstimate e;
  e.slope = e.ci_low = e.ci_high = e.intercept = kNaN;
  std::vector<std::pair<double, double>> p;
  for (std::size_t i = 0; i < x.size() && i < y.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) p.emplace_back(x[i], y[i]);
  }
  e.points = p.size();
  std::vector<double> slopes;
  for (std::size_t i = 0; i < p.size(); ++i) {
    for (std::size_t j = i + 1; j < p.size(); ++j) {
      if (p[j].first != p[i].first) slopes.push_back((p[j].second - p[i].second) / (p[j].first - p[i].first));
    }
  }
  if (slopes.empty()) return e;
  std::sort(slopes.begin(), slopes.end());
  auto median = [](const std::vector<double>& v) {
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  };
  e.slope = median(slopes);
  std::vector<double> residual;
  for (const auto& [xi, yi] : p) residual.push_back(yi - e.slope * xi);
  std::sort(residual.begin(), residual.end());
  e.intercept = median(residual);
  // Sen (1968) eq. 2.6: Var S less the ties in x and in y; ranks M1, M2 + 1 of the ordered slopes (1-based).
  std::vector<double> xs, ys;
  for (const auto& q : p) {
    xs.push_back(q.first);
    ys.push_back(q.second);
  }
  const auto n = static_cast<double>(p.size());
  double var = n * (n - 1) * (2 * n + 5);
  for (std::vector<double>* v : {&xs, &ys}) {
    std::sort(v->begin(), v->end());
    for (std::size_t i = 0; i < v->size();) {
      std::size_t j = i;
      while (j < v->size() && (*v)[j] == (*v)[i]) ++j;
      const auto t = static_cast<double>(j - i);
      var -= t * (t - 1) * (2 * t + 5);
      i = j;
    }
  }
  const double c = 1.959963984540054 * std::sqrt(std::max(0.0, var / 18.0));
  const auto big_n = static_cast<double>(slopes.size());
  const double m1 = std::round((big_n - c) / 2.0), m2 = std::round((big_n + c) / 2.0);
  if (m1 >= 1.0 && m2 + 1.0 <= big_n) {
    e.ci_available = true;
    e.ci_low = slopes[static_cast<std::size_t>(m1) - 1];
    e.ci_high = slopes[static_cast<std::size_t>(m2)];
  }
  return e;
}

namespace {

std::string tidy_csv(const std::map<std::string, std::vector<SetPoint>>& by_subject) {
  std::string out = "subject_id,session_start_time,weeks,file,set,exercise,level,rep,metric,value\n";
  for (const auto& [subject, points] : by_subject) {
    const double t0 = points.front().seconds;
    for (const SetPoint& s : points) {
      const std::string head =
          fmt::format("{},{},{},{},{},{}", csv_quoted(subject), csv_quoted(s.start_time),
                      num((s.seconds - t0) / kSecondsPerWeek), csv_quoted(s.file), s.set, s.exercise);
      for (const auto& [index, figures] : s.reps) {
        for (const auto& [metric, value] : figures)
          out += fmt::format("{},rep,{},{},{}\n", head, index, metric, num(value));
      }
      for (const auto& [metric, value] : s.figures)
        out += fmt::format("{},set,NA,{},{}\n", head, metric, num(value));
    }
  }
  return out;
}

std::vector<SubjectTrend> trends_of(const std::map<std::string, std::vector<SetPoint>>& by_subject) {
  std::vector<SubjectTrend> out;
  for (const auto& [subject, points] : by_subject) {
    const double t0 = points.front().seconds;
    std::map<std::pair<std::string, std::string>, std::pair<std::vector<double>, std::vector<double>>> series;
    std::map<std::string, std::vector<std::string>> files_of;  // exercise -> sessions
    std::vector<std::pair<std::string, std::string>> order;    // (exercise, metric) in first-seen order
    for (const SetPoint& s : points) {
      files_of[s.exercise].push_back(s.file);
      for (const auto& [metric, value] : s.figures) {
        auto key = std::make_pair(s.exercise, metric);
        if (series.find(key) == series.end()) order.push_back(key);
        series[key].first.push_back((s.seconds - t0) / kSecondsPerWeek);
        series[key].second.push_back(value);
      }
    }
    for (const auto& key : order) {
      // Verdict counts stay in the timeline; their trend is the share's (`_yes_pct`).
      const std::string& metric = key.second;
      if (metric.size() > 5 && metric.compare(metric.size() - 5, 5, "_reps") == 0 && metric != "valid_reps")
        continue;
      const auto& [x, y] = series[key];
      SubjectTrend t{subject, key.first, key.second, 0, 0.0, theil_sen(x, y), {}};
      auto files = files_of[key.first];
      std::sort(files.begin(), files.end());
      t.sessions = static_cast<std::size_t>(std::unique(files.begin(), files.end()) - files.begin());
      if (t.estimate.points == 0) continue;
      t.span_weeks = *std::max_element(x.begin(), x.end()) - *std::min_element(x.begin(), x.end());
      t.statement = statement_for(t);
      out.push_back(std::move(t));
    }
  }
  return out;
}

std::string trends_csv(const std::vector<SubjectTrend>& trends) {
  std::string out =
      "subject_id,exercise,metric,sessions,sets,span_weeks,slope_per_week,ci95_low,ci95_high,intercept,"
      "method,"
      "statement\n";
  for (const SubjectTrend& t : trends) {
    out += fmt::format("{},{},{},{},{},{},{},{},{},{},\"theil-sen, sen rank ci\",{}\n", csv_quoted(t.subject),
                       t.exercise, t.metric, t.sessions, t.estimate.points, num(t.span_weeks),
                       num(t.estimate.slope), num(t.estimate.ci_low), num(t.estimate.ci_high),
                       num(t.estimate.intercept), csv_quoted(t.statement));
  }
  return out;
}

// --- HTML page: inline SVG, no scripts, no external resources ---

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (weeks, value)
  const TrendEstimate* trend = nullptr;
};

constexpr const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                    "#ff7f0e", "#8c564b", "#17becf"};

std::string plot_svg(const char* css_class, const std::string& title, const std::vector<Series>& series) {
  constexpr double w = 720, h = 230, left = 55, right = 260, top = 25, bottom = 35;
  const double pw = w - left - right, ph = h - top - bottom;
  double xmax = 0.0, ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
  for (const Series& s : series) {
    for (const auto& [x, y] : s.points) {
      xmax = std::max(xmax, x);
      ymin = std::min(ymin, y);
      ymax = std::max(ymax, y);
    }
  }
  if (!std::isfinite(ymin)) return {};
  if (xmax <= 0.0) xmax = 1.0;
  if (ymax - ymin < 1e-9) ymax = ymin + 1.0;
  const double pad = 0.08 * (ymax - ymin);
  ymin -= pad;
  ymax += pad;
  auto px = [&](double x) { return left + pw * x / xmax; };
  auto py = [&](double y) { return top + ph * (1.0 - (y - ymin) / (ymax - ymin)); };
  std::string svg = fmt::format(
      "<svg class=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} "
      "{}\">\n"
      "<text x=\"{}\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{}</text>\n"
      "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n",
      css_class, w, h, w, h, left, html_escape(title), left, top, pw, ph);
  for (int k = 0; k <= 4; ++k) {
    const double yv = ymin + (ymax - ymin) * k / 4.0;
    svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\">{:.3g}</text>\n",
                       left - 4, py(yv) + 3, yv);
  }
  // Whole weeks on the time axis (at most ~10 labels).
  const double step = std::max(1.0, std::ceil(xmax / 10.0));
  for (double xv = 0.0; xv <= xmax + 1e-9; xv += step) {
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.0f}</text>\n",
                       px(xv), top + ph + 13, xv);
  }
  svg += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">weeks since the first "
      "session</text>\n",
      left + pw / 2, h - 4);
  for (std::size_t i = 0; i < series.size(); ++i) {
    const Series& s = series[i];
    const char* colour = kColours[i % std::size(kColours)];
    for (const auto& [x, y] : s.points) {
      svg += fmt::format("<circle class=\"point\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(x),
                         py(y), colour);
    }
    if (s.trend != nullptr && std::isfinite(s.trend->slope)) {
      const double y0 = s.trend->intercept, y1 = s.trend->intercept + s.trend->slope * xmax;
      svg += fmt::format(
          "<line class=\"trend-line\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"{}\" "
          "stroke-dasharray=\"5,3\"/>\n",
          px(0), py(std::clamp(y0, ymin, ymax)), px(xmax), py(std::clamp(y1, ymin, ymax)), colour);
    } else if (s.trend == nullptr && s.points.size() > 1) {
      std::string pts;
      for (const auto& [x, y] : s.points) pts += fmt::format("{:.1f},{:.1f} ", px(x), py(y));
      svg += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\"/>\n", pts, colour);
    }
    svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n", w - right + 10,
                       top + 4 + 16.0 * i, colour);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">{}</text>\n", w - right + 25,
                       top + 13 + 16.0 * i, html_escape(s.name));
  }
  return svg + "</svg>\n";
}

const TrendEstimate* trend_for(const std::vector<SubjectTrend>& trends, const std::string& subject,
                               const std::string& exercise, const std::string& metric) {
  for (const SubjectTrend& t : trends) {
    if (t.subject == subject && t.exercise == exercise && t.metric == metric) return &t.estimate;
  }
  return nullptr;
}

struct PlotGroup {
  const char* title;
  std::vector<const char*> metrics;
};
const PlotGroup kPlotGroups[] = {
    {"glute:ES ratio (ratio of mean %MVIC)", {"gmax_to_es_ratio_of_means", "gmed_to_es_ratio_of_means"}},
    {"%MVIC of the target muscles (median over valid reps)",
     {"gmax_l_mean_pct", "gmax_r_mean_pct", "gmed_l_mean_pct", "gmed_r_mean_pct"}},
    {"verdicts: % of reps with yes",
     {"glute_fired_yes_pct", "lumbar_dominant_yes_pct", "late_glute_yes_pct"}},
    {"onset order and symmetry", {"glute_before_es_pct", "gmax_symmetry_pct", "gmed_symmetry_pct"}},
};

std::string subject_section(const std::string& subject, const std::vector<SetPoint>& points,
                            const std::vector<SubjectTrend>& trends) {
  const double t0 = points.front().seconds;
  std::string out = fmt::format(
      "<section class=\"subject-section\" id=\"subject-{0}\">\n<h2>Subject {0}</h2>\n", html_escape(subject));
  std::vector<std::string> exercises;
  for (const SetPoint& s : points) {
    if (std::find(exercises.begin(), exercises.end(), s.exercise) == exercises.end())
      exercises.push_back(s.exercise);
  }
  for (const PlotGroup& g : kPlotGroups) {
    std::vector<Series> series;
    for (const std::string& ex : exercises) {
      for (const char* metric : g.metrics) {
        Series s{fmt::format("{} ({})", label_of(metric), ex), {}, trend_for(trends, subject, ex, metric)};
        for (const SetPoint& p : points) {
          if (p.exercise != ex) continue;
          for (const auto& [m, v] : p.figures) {
            if (m == metric && std::isfinite(v)) s.points.emplace_back((p.seconds - t0) / kSecondsPerWeek, v);
          }
        }
        if (!s.points.empty()) series.push_back(std::move(s));
      }
    }
    out += plot_svg("trend-plot", g.title, series);
  }
  out += "<h3>Trends</h3>\n<ul class=\"trend-statements\">\n";
  for (const SubjectTrend& t : trends) {
    if (t.subject == subject) out += fmt::format("<li>{}</li>\n", html_escape(t.statement));
  }
  out +=
      "</ul>\n<h3>Sessions</h3>\n<table><tr><th>start</th><th>file</th><th>set</th><th>exercise</th>"
      "<th>valid reps</th><th>GMax:ES</th></tr>\n";
  for (const SetPoint& p : points) {
    double valid = kNaN, ratio = kNaN;
    for (const auto& [m, v] : p.figures) {
      if (m == "valid_reps") valid = v;
      if (m == "gmax_to_es_ratio_of_means") ratio = v;
    }
    out += fmt::format(
        "<tr class=\"session-row\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        html_escape(p.start_time), html_escape(p.file), p.set, html_escape(p.exercise), num(valid),
        std::isfinite(ratio) ? fmt::format("{:.2f}", ratio) : std::string("n/a"));
  }
  return out + "</table>\n</section>\n";
}

std::string longitudinal_html(const std::map<std::string, std::vector<SetPoint>>& by_subject,
                              const std::vector<SubjectTrend>& trends) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>glutescope cohort</title>\n"
      "<style>body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
      "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}svg{display:block;margin:0.5em 0}</style>\n"
      "</head><body>\n<h1>glutescope: sessions over time</h1>\n"
      "<p class=\"disclaimer\">Muscle activity patterns measured in each session, in date order, with trends "
      "per "
      "week (Theil–Sen slope with Sen's rank-based 95 % confidence interval). Not a diagnosis: a clinician "
      "interprets them.</p>\n<section class=\"cohort-overview\">\n<h2>Cohort overview</h2>\n";
  std::vector<Series> overview;
  for (const auto& [subject, points] : by_subject) {
    const double t0 = points.front().seconds;
    Series s{subject, {}, nullptr};
    for (const SetPoint& p : points) {
      for (const auto& [m, v] : p.figures) {
        if (m == "gmax_to_es_ratio_of_means" && std::isfinite(v))
          s.points.emplace_back((p.seconds - t0) / kSecondsPerWeek, v);
      }
    }
    if (!s.points.empty()) overview.push_back(std::move(s));
  }
  std::string plot =
      plot_svg("cohort-plot", "GMax:ES ratio per set, each subject from its first session", overview);
  out += plot.empty() ? std::string("<p>No set has a GMax:ES ratio (needs MVC trials).</p>\n") : plot;
  out += fmt::format("<p>{} subjects, {} sets.</p>\n<table><tr><th>subject</th><th>trend</th></tr>\n",
                     by_subject.size(), [&] {
                       std::size_t n = 0;
                       for (const auto& kv : by_subject) n += kv.second.size();
                       return n;
                     }());
  for (const SubjectTrend& t : trends) {
    if (t.metric == "gmax_to_es_ratio_of_means" || t.metric == "lumbar_dominant_yes_pct") {
      out += fmt::format("<tr class=\"overview-row\"><td>{}</td><td>{}</td></tr>\n", html_escape(t.subject),
                         html_escape(t.statement));
    }
  }
  out += "</table>\n</section>\n";
  for (const auto& [subject, points] : by_subject) out += subject_section(subject, points, trends);
  return out + "</body></html>\n";
}

}  // namespace

LongitudinalView build_longitudinal(const std::vector<SessionBlock>& sessions) {
  LongitudinalView view;
  const auto by_subject = read_points(sessions, view.skipped);
  view.tidy_csv = tidy_csv(by_subject);
  view.trends = trends_of(by_subject);
  view.trends_csv = trends_csv(view.trends);
  view.html = longitudinal_html(by_subject, view.trends);
  return view;
}

}  // namespace glutescope::pipeline
