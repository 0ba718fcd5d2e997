#include "pipeline/analysis_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/core.h>

#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_file.hpp"

namespace glutescope::pipeline {
namespace {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string normalisation_words(const AnalysisResult& r) {
  if (r.normalisation == "mvc") return "%MVC (each muscle relative to its maximal voluntary contraction trial)";
  return "none: amplitudes in µV (no MVC trials); compare ratios within this session only";
}

std::string ratio_text(double v) { return std::isfinite(v) ? fmt::format("{:.2f}", v) : std::string("n/a"); }

std::string verdict_summary(const SetResult& s) {
  std::string out;
  for (std::size_t v = 0; v < s.verdict_counts.size(); ++v) {
    if (s.verdict_counts[v] == 0) continue;
    if (!out.empty()) out += ", ";
    out += fmt::format("{} x {}", s.verdict_counts[v], describe(static_cast<Verdict>(v)));
  }
  return out.empty() ? std::string("no reps found") : out;
}

const char* kChannelColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"};

// SVG of one set: envelopes (glute and lumbar channels highlighted), reps shaded by phase.
std::string set_svg(const AnalysisResult& r, const SetResult& s) {
  const double W = 1100, H = 320, left = 60, right = 10, top = 20, bottom = 40;
  const double pw = W - left - right, ph = H - top - bottom;
  const std::size_t ch = r.channel_labels.size();
  const double rate = r.envelope_rate_hz;
  const std::size_t rows = ch == 0 ? 0 : r.envelopes_uv.size() / ch;
  const auto a = static_cast<std::size_t>(std::clamp(s.start_s * rate, 0.0, static_cast<double>(rows)));
  const auto b = static_cast<std::size_t>(std::clamp(s.end_s * rate, 0.0, static_cast<double>(rows)));
  double ymax = 1e-9;
  for (std::size_t i = a; i < b; ++i) {
    for (std::size_t c = 0; c < ch; ++c) ymax = std::max(ymax, static_cast<double>(r.envelopes_uv[i * ch + c]));
  }
  const double t0 = s.start_s, t1 = std::max(s.end_s, s.start_s + 1e-3);
  auto x = [&](double t) { return left + (t - t0) / (t1 - t0) * pw; };
  auto y = [&](double v) { return top + ph - v / ymax * ph; };
  std::string svg = fmt::format(
      "<svg class=\"envelope-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"EMG envelopes of set {}\">\n",
      W, H, W, H, s.set_index + 1);
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n", left, top, pw, ph);
  for (const RepResult& rep : r.reps) {
    if (rep.set_index != s.set_index) continue;
    const std::pair<double, double> phases[] = {{rep.start_s, rep.concentric_end_s},
                                                {rep.concentric_end_s, rep.hold_end_s},
                                                {rep.hold_end_s, rep.end_s}};
    const char* fills[] = {"#c7e9c0", "#c6dbef", "#fdd0a2"};
    for (int p = 0; p < 3; ++p) {
      svg += fmt::format("<rect class=\"phase\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" "
                         "opacity=\"0.7\"/>\n",
                         x(phases[p].first), top, std::max(0.0, x(phases[p].second) - x(phases[p].first)), ph, fills[p]);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" fill=\"#333\">{}</text>\n", x(rep.start_s) + 2,
                       top + 12, rep.rep_index + 1);
  }
  const std::size_t step = std::max<std::size_t>(1, (b - a) / 1500);
  for (std::size_t c = 0; c < ch; ++c) {
    std::string points;
    for (std::size_t i = a; i < b; i += step) {
      points += fmt::format("{:.1f},{:.1f} ", x(static_cast<double>(i) / rate), y(r.envelopes_uv[i * ch + c]));
    }
    const Muscle m = r.channel_muscles[c];
    const bool key = m == Muscle::gluteus_maximus || m == Muscle::gluteus_medius || m == Muscle::erector_spinae_lumbar;
    svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" points=\"{}\"><title>{}</title></polyline>\n",
                       kChannelColours[c % 8], key ? 1.6 : 0.7, points, html_escape(r.channel_labels[c]));
  }
  // Axes labels.
  for (int k = 0; k <= 5; ++k) {
    const double t = t0 + (t1 - t0) * k / 5.0;
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:.0f} s</text>\n", x(t),
                       H - bottom + 15, t);
  }
  svg += fmt::format("<text x=\"5\" y=\"{}\" font-size=\"11\">{:.0f} µV</text>\n", top + 10, ymax);
  svg += fmt::format("<text x=\"5\" y=\"{}\" font-size=\"11\">0</text>\n", top + ph);
  // Legend.
  double lx = left;
  for (std::size_t c = 0; c < ch; ++c) {
    svg += fmt::format("<rect x=\"{:.0f}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{:.0f}\" y=\"{}\" "
                       "font-size=\"11\">{}</text>\n",
                       lx, H - 12, kChannelColours[c % 8], lx + 15, H - 7, html_escape(r.channel_labels[c]));
    lx += 90;
  }
  svg += fmt::format("<text x=\"{:.0f}\" y=\"{}\" font-size=\"11\">shading: concentric green, hold blue, eccentric "
                     "orange</text>\n", lx, H - 7);
  svg += "</svg>\n";
  return svg;
}

// Bar chart of the glute/lumbar ratio per rep with the two verdict thresholds as lines.
std::string ratio_svg(const AnalysisResult& r, const SetResult& s, double led, double back) {
  std::vector<const RepResult*> reps;
  for (const RepResult& rep : r.reps) {
    if (rep.set_index == s.set_index) reps.push_back(&rep);
  }
  const double W = 1100, H = 200, left = 60, top = 15, bottom = 30;
  const double pw = W - left - 10, ph = H - top - bottom;
  double ymax = std::max(led * 1.5, 1.0);
  for (const RepResult* rep : reps) {
    if (std::isfinite(rep->glute_lumbar_ratio)) ymax = std::max(ymax, rep->glute_lumbar_ratio * 1.1);
  }
  auto y = [&](double v) { return top + ph - v / ymax * ph; };
  std::string svg = fmt::format(
      "<svg class=\"ratio-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\" "
      "role=\"img\" aria-label=\"glute to lumbar ratio per rep, set {}\">\n",
      W, H, W, H, s.set_index + 1);
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n", left, top, pw, ph);
  const double bw = reps.empty() ? 0 : pw / static_cast<double>(reps.size());
  for (std::size_t i = 0; i < reps.size(); ++i) {
    const double v = std::isfinite(reps[i]->glute_lumbar_ratio) ? reps[i]->glute_lumbar_ratio : 0.0;
    const char* fill = v >= led ? "#2ca25f" : (v < back ? "#de2d26" : "#fdae6b");
    svg += fmt::format("<rect class=\"ratio-bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
                       "<title>rep {}: {:.2f}</title></rect>\n",
                       left + i * bw + bw * 0.15, y(v), bw * 0.7, top + ph - y(v), fill, i + 1, v);
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       left + (i + 0.5) * bw, H - bottom + 14, i + 1);
  }
  for (const auto& [v, label] : {std::pair{led, "glutes led"}, std::pair{back, "back dominant"}}) {
    svg += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
                       "<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\">{} {:.2f}</text>\n",
                       left, left + pw, y(v), y(v), left + pw - 110, y(v) - 3, label, v);
  }
  svg += fmt::format("<text x=\"5\" y=\"{}\" font-size=\"11\">{:.1f}</text><text x=\"5\" y=\"{}\" font-size=\"11\">0</text>\n",
                     top + 10, ymax, top + ph);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">rep</text>\n", left + pw / 2, H - 3);
  svg += "</svg>\n";
  return svg;
}

// Threshold values recorded in the result's own settings (so the plot shows what the verdicts used).
std::pair<double, double> thresholds(const AnalysisResult& r) {
  try {
    const AnalysisPipelineSettings s = parse_analysis_settings(r.settings_toml, "stored settings");
    return {s.scoring.ratio_glutes_led, s.scoring.ratio_back_dominant};
  } catch (const std::exception&) {
    return {kDefaultAnalysisPipelineSettings.scoring.ratio_glutes_led,
            kDefaultAnalysisPipelineSettings.scoring.ratio_back_dominant};
  }
}

}  // namespace

std::string format_text_report(const AnalysisResult& r) {
  std::string out = fmt::format("glutescope report: {}\n", r.source);
  out += fmt::format("subject {}, recorded {}\n", r.subject_id.empty() ? "?" : r.subject_id, r.session_start_time);
  out += fmt::format("normalisation: {}\n", normalisation_words(r));
  out += fmt::format("analysis: {}, {}; input {}\n", r.software_version, r.mode, r.input_hash);
  if (r.sets.empty()) out += "no exercise sets found\n";
  for (const SetResult& s : r.sets) {
    out += fmt::format("\nSet {}: {}{} {:.1f}-{:.1f} s, {} reps ({} partial)\n", s.set_index + 1, to_string(s.exercise),
                       s.exercise == Exercise::clamshell ? fmt::format(" ({} leg up)", to_string(s.upper_side)) : "",
                       s.start_s, s.end_s, s.reps, s.partial_reps);
    out += fmt::format("  overall: {} (glute/lumbar of the set's means {}); {}\n", describe(s.verdict),
                       ratio_text(s.ratio_of_means), verdict_summary(s));
    for (const RepResult& rep : r.reps) {
      if (rep.set_index == s.set_index) out += "  " + format_rep_line(rep, r.amplitude_unit) + "\n";
    }
  }
  return out;
}

std::string format_html_report(const AnalysisResult& r) {
  const auto [led, back] = thresholds(r);
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>glutescope report</title>\n"
      "<style>body{font-family:sans-serif;margin:20px;max-width:1140px}table{border-collapse:collapse;margin:8px 0}"
      "td,th{border:1px solid #bbb;padding:3px 8px;font-size:14px}th{background:#eee}"
      ".glutes_led{background:#e5f5e0}.back_dominant,.glutes_silent,.hamstrings_dominant{background:#fee0d2}"
      ".shared{background:#fff5d6}.meta{color:#444;font-size:14px}</style></head><body>\n";
  h += fmt::format("<h1>glutescope report</h1>\n<p class=\"meta\">Session <b>{}</b>, subject <b>{}</b>, recorded {}<br>"
                   "Normalisation: <b id=\"normalisation\">{}</b><br>Analysis: {}, {}; input {}</p>\n",
                   html_escape(r.source), html_escape(r.subject_id), html_escape(r.session_start_time),
                   html_escape(normalisation_words(r)), html_escape(r.software_version), html_escape(r.mode),
                   html_escape(r.input_hash));
  if (r.sets.empty()) h += "<p>No exercise sets found.</p>\n";
  for (const SetResult& s : r.sets) {
    h += fmt::format("<h2>Set {}: {}</h2>\n<p class=\"set-summary\">{} reps ({} partial). Overall: <b>{}</b> "
                     "(glute/lumbar of the set's means {}). {}.</p>\n",
                     s.set_index + 1, to_string(s.exercise), s.reps, s.partial_reps, describe(s.verdict),
                     ratio_text(s.ratio_of_means), verdict_summary(s));
    h += set_svg(r, s);
    h += ratio_svg(r, s, led, back);
    h += fmt::format("<table class=\"reps\"><tr><th>rep</th><th>start–end (s)</th><th>ROM (deg)</th><th>glute ({0})</th>"
                     "<th>lumbar ({0})</th><th>glute/lumbar</th><th>verdict</th></tr>\n",
                     r.amplitude_unit == "uV" ? "µV" : r.amplitude_unit);
    for (const RepResult& rep : r.reps) {
      if (rep.set_index != s.set_index) continue;
      h += fmt::format("<tr class=\"verdict-row {}\"><td>{}{}</td><td>{:.1f}–{:.1f}</td><td>{:.0f}</td><td>{:.1f}</td>"
                       "<td>{:.1f}</td><td>{}</td><td class=\"verdict\">{}{}</td></tr>\n",
                       to_string(rep.verdict), rep.rep_index + 1, rep.partial ? " (partial)" : "", rep.start_s,
                       rep.end_s, rep.rom_deg, rep.glute, rep.lumbar, ratio_text(rep.glute_lumbar_ratio),
                       describe(rep.verdict), rep.pelvis_rolled ? "; pelvis rolled back" : "");
    }
    h += "</table>\n";
  }
  h += "<p class=\"meta\">glutescope reports muscle activity patterns; a clinician interprets them.</p>\n</body></html>\n";
  return h;
}

AnalysisResult print_session_report(const std::filesystem::path& session_path, std::ostream& out,
                                    const std::optional<std::filesystem::path>& html_out) {
  AnalysisResult result;
  const std::filesystem::path sidecar = analysis_path_for(session_path);
  bool have = false;
  if (std::filesystem::exists(sidecar)) {
    result = read_analysis_file(sidecar);
    // The sidecar must describe this very session (same raw data); otherwise reanalyse.
    const SessionData session = load_session(session_path);
    have = result.input_hash == session.input_hash;
  }
  if (!have) result = analyse_file(session_path.string(), kDefaultAnalysisPipelineSettings);
  out << format_text_report(result);
  if (html_out) {
    const std::string tmp = fmt::format("{}.tmp-{}", html_out->string(), ::getpid());
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!f) throw std::runtime_error(fmt::format("{}: cannot write the HTML report", html_out->string()));
      f << format_html_report(result);
      if (!f.flush()) throw std::runtime_error(fmt::format("{}: write failed", html_out->string()));
    }
    std::filesystem::rename(tmp, *html_out);
    out << fmt::format("\nHTML report: {}\n", html_out->string());
  }
  return result;
}

}  // namespace glutescope::pipeline
