#include "pipeline/analysis_report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include <fmt/core.h>

#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_file.hpp"

namespace glutescope::pipeline {

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

using exercise::RepScore;
using exercise::SetAnalysis;
using exercise::VerdictState;

std::string normalisation_words(const SetAnalysis& s) {
  if (s.normalisation.kind == exercise::NormalisationKind::mvic) {
    return "%MVIC (each muscle relative to its maximal voluntary contraction trial)";
  }
  return "% of each muscle's peak in the set (no MVC trials: cross-muscle verdicts not available - needs "
         "MVC)" +
         (s.normalisation.note.empty() ? std::string() : "; " + s.normalisation.note);
}

std::string number_text(double v, const char* unit = "") {
  return std::isfinite(v) ? fmt::format("{:.2f}{}", v, unit) : std::string("n/a");
}

// "glute_fired: 5 yes, 1 no; lumbar_dominant: ..." for the verdicts that have any yes/no.
// One line on the set's onset baselines (source and rest-to-active contrast per channel) and the reps whose
// channels have activity but no onset time (already / continuously active, baseline not quiet).
std::string onset_baseline_line(const AnalysisResult& r, const SetAnalysis& s) {
  std::string line;
  for (std::size_t c = 0; c < s.onset_baseline.size() && c < r.montage.emg.size(); ++c) {
    line += fmt::format("{}{} {} {}", line.empty() ? "" : ", ", r.montage.emg[c].label,
                        exercise::to_string(s.onset_baseline[c].source),
                        number_text(s.onset_baseline[c].contrast_db, " dB"));
  }
  std::string flagged;
  for (const RepScore& rep : s.reps) {
    for (std::size_t c = 0; c < rep.channels.size() && c < r.montage.emg.size(); ++c) {
      const exercise::OnsetState st = rep.channels[c].onset_state;
      if (st == exercise::OnsetState::already_active || st == exercise::OnsetState::continuously_active ||
          st == exercise::OnsetState::baseline_not_quiet) {
        flagged += fmt::format("{}rep {} {} {}", flagged.empty() ? "" : ", ", rep.index + 1,
                               r.montage.emg[c].label, exercise::to_string(st));
      }
    }
  }
  if (line.empty()) return {};
  return "onset baseline (source, rest-to-active contrast): " + line +
         (flagged.empty() ? std::string() : "; no onset time: " + flagged);
}

std::string verdict_summary(const SetAnalysis& s) {
  std::string out;
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    const exercise::VerdictCounts& c = s.summary.verdicts[v];
    if (c.yes + c.no + c.invalid + c.not_available == 0) continue;
    if (!out.empty()) out += "; ";
    out += fmt::format("{}: {} yes, {} no", exercise::kVerdictNames[v], c.yes, c.no);
    if (c.not_available > 0) out += fmt::format(", {} not available", c.not_available);
    if (c.invalid > 0) out += fmt::format(", {} invalid", c.invalid);
  }
  return out.empty() ? std::string("no reps found") : out;
}

std::string row_class(const RepScore& rep) {
  const auto& v = rep.verdicts;
  if (!rep.valid || v.glute_fired.state == VerdictState::invalid) return "invalid";
  if (v.glute_fired.state == VerdictState::no || v.lumbar_dominant.state == VerdictState::yes ||
      v.hamstring_dominance.state == VerdictState::yes || v.tfl_substitution.state == VerdictState::yes) {
    return "compensated";
  }
  if (v.late_glute.state == VerdictState::yes) return "late";
  if (v.glute_fired.state == VerdictState::yes) return "glutes_fired";
  return "not_available";
}

const char* kChannelColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                 "#66a61e", "#e6ab02", "#a6761d", "#666666"};

// Verdict columns: the header names the quantity, its unit and the threshold (the same for every rep of a
// set); a cell holds the state and the value. Ratios read one way throughout the report: "glute:ES" (the
// lumbar_dominant verdict compares ES/glute, shown inverted), never "ES/glute".
double verdict_threshold(const SetAnalysis& s, std::size_t k) {
  for (const RepScore& rep : s.reps) {
    const double t = exercise::verdict_at(rep.verdicts, k).threshold;
    if (std::isfinite(t)) return t;
  }
  return exercise::kNaN;
}

std::string verdict_header(const SetAnalysis& s, std::size_t k) {
  const double t = verdict_threshold(s, k);
  const std::string unit(amplitude_unit(s.normalisation));
  switch (k) {
    case 0:
      return fmt::format("glutes fired ({}, yes ≥ {})", unit, number_text(t));
    case 1:
      return fmt::format("back dominant (glute:ES, yes ≤ {})", number_text(t > 0 ? 1.0 / t : exercise::kNaN));
    case 2:
      return fmt::format("late glute (glute onset − ES onset, ms, yes > {})", number_text(t));
    case 3:
      return fmt::format("pelvic compensation (°, yes > {})", number_text(t));
    case 4:
      return fmt::format("hamstring dominance (BF:GMax, yes ≥ {})", number_text(t));
    default:
      return fmt::format("TFL substitution (TFL:GMed, yes ≥ {})", number_text(t));
  }
}

std::string verdict_cell(const exercise::Verdict& v, std::size_t k) {
  if (v.state == VerdictState::not_available)
    return fmt::format("<td title=\"{}\">n/a</td>", html_escape(v.reason));
  if (v.state == VerdictState::invalid)
    return fmt::format("<td title=\"{}\">invalid</td>", html_escape(v.reason));
  const char* state = v.state == VerdictState::yes ? "yes" : "no";
  double value = v.value;
  if (k == 1) value = v.value > 0 ? 1.0 / v.value : exercise::kNaN;
  if (!std::isfinite(value)) return fmt::format("<td>{}</td>", state);
  return fmt::format("<td>{} {:.{}f}</td>", state, value, k == 2 ? 0 : (k == 0 || k == 3) ? 1 : 2);
}

const char* light_colour(std::string_view light) {
  if (light == "green") return "#1a9850";
  if (light == "amber") return "#f0a500";
  if (light == "red") return "#d73027";
  return "#999999";
}

std::string light_cell(const RepScore& rep) {
  const std::string_view light = exercise::traffic_light(rep);
  return fmt::format(
      "<td class=\"light light-{0}\"><svg width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" "
      "xmlns=\"http://www.w3.org/2000/svg\"><circle cx=\"6\" cy=\"6\" r=\"5.5\" fill=\"{1}\"/></svg> "
      "{0}</td>",
      light, light_colour(light));
}

// Geometry shared by the set's strips: one time axis from the set start to its stop.
struct Strip {
  double width = 760, left = 92, right = 6, t0 = 0, t1 = 1;
  [[nodiscard]] double x(double t) const { return left + (t - t0) / (t1 - t0) * (width - left - right); }
};

std::string phase_shading(const Strip& g, const SetAnalysis& s, double top, double height) {
  std::string out;
  for (const RepScore& rep : s.reps) {
    out +=
        fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"#eef3f7\"/>",
                    g.x(rep.start_s), top, std::max(0.0, g.x(rep.end_s) - g.x(rep.start_s)), height);
  }
  return out;
}

// The driving angle over the set (AnalysisResult::driving_angle_deg, at the envelope rate: also what a
// sidecar keeps) with each rep's number and traffic light above it.
std::string angle_svg(const AnalysisResult& r, const Strip& g, std::size_t set_index, const SetAnalysis& s) {
  const double H = 60, top = 14, ph = 40, rate = r.envelope_rate_hz;
  const auto n = static_cast<double>(r.driving_angle_deg.size());
  const auto a = static_cast<std::size_t>(std::clamp(s.start_s * rate, 0.0, n));
  const auto b = static_cast<std::size_t>(std::clamp(s.stop_s * rate, 0.0, n));
  double amax = 1.0;
  for (std::size_t i = a; i < b; ++i)
    if (std::isfinite(r.driving_angle_deg[i]))
      amax = std::max(amax, std::abs(double{r.driving_angle_deg[i]}));
  std::string svg = fmt::format(
      "<svg class=\"angle-plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"driving angle of set {}\">",
      g.width, H, set_index + 1);
  svg += phase_shading(g, s, top, ph);
  for (const RepScore& rep : s.reps) {
    const double cx = (g.x(rep.start_s) + g.x(rep.end_s)) / 2;
    svg += fmt::format(
        "<circle cx=\"{:.1f}\" cy=\"6\" r=\"5\" fill=\"{}\"/><text x=\"{:.1f}\" y=\"9\" font-size=\"7\" "
        "text-anchor=\"middle\" fill=\"#fff\">{}</text>",
        cx, light_colour(exercise::traffic_light(rep)), cx, rep.index + 1);
  }
  std::string points;
  const std::size_t step = std::max<std::size_t>(1, (b - a) / 700);
  for (std::size_t i = a; i < b; i += step) {
    if (!std::isfinite(r.driving_angle_deg[i])) continue;
    points += fmt::format("{:.1f},{:.1f} ", g.x(static_cast<double>(i) / rate),
                          top + ph - r.driving_angle_deg[i] / amax * ph);
  }
  svg +=
      fmt::format("<polyline fill=\"none\" stroke=\"#37474f\" stroke-width=\"1.2\" points=\"{}\"/>", points);
  svg += fmt::format(
      "<text x=\"2\" y=\"{}\" font-size=\"10\">driving angle</text><text x=\"2\" y=\"{}\" "
      "font-size=\"8\" fill=\"#555\">0–{:.0f}°</text></svg>\n",
      top + 16, top + 27, amax);
  return svg;
}

// One small multiple per channel of a muscle group: its envelope over the set (own scale, peak in µV),
// reps shaded, each rep's detected onset as a red tick. Left solid, right dashed.
std::string group_svg(const AnalysisResult& r, const Strip& g, std::size_t set_index, const SetAnalysis& s,
                      bool glutes) {
  const std::size_t ch = r.channels();
  std::vector<std::size_t> members;
  for (std::size_t c = 0; c < ch; ++c) {
    const Muscle m = r.montage.emg[c].muscle;
    if ((m == Muscle::gluteus_maximus || m == Muscle::gluteus_medius) == glutes) members.push_back(c);
  }
  if (members.empty()) return {};
  const double row_h = 30, H = row_h * static_cast<double>(members.size()) + 4;
  const double rate = r.envelope_rate_hz;
  const std::size_t rows = ch == 0 ? 0 : r.envelopes_uv.size() / ch;
  const auto a = static_cast<std::size_t>(std::clamp(s.start_s * rate, 0.0, static_cast<double>(rows)));
  const auto b = static_cast<std::size_t>(std::clamp(s.stop_s * rate, 0.0, static_cast<double>(rows)));
  const std::size_t step = std::max<std::size_t>(1, (b - a) / 700);
  std::string svg = fmt::format(
      "<svg class=\"envelope-plot\" data-group=\"{}\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} "
      "{}\" "
      "role=\"img\" aria-label=\"{} envelopes of set {}\">",
      glutes ? "glutes" : "compensators", g.width, H, glutes ? "glute" : "compensator", set_index + 1);
  for (std::size_t k = 0; k < members.size(); ++k) {
    const std::size_t c = members[k];
    const double top = 2 + row_h * static_cast<double>(k), ph = row_h - 6;
    double ymax = 1e-9;
    for (std::size_t i = a; i < b; ++i)
      ymax = std::max(ymax, static_cast<double>(r.envelopes_uv[i * ch + c]));
    svg += phase_shading(g, s, top, ph);
    std::string points;
    for (std::size_t i = a; i < b; i += step) {
      points += fmt::format("{:.1f},{:.1f} ", g.x(static_cast<double>(i) / rate),
                            top + ph - r.envelopes_uv[i * ch + c] / ymax * ph);
    }
    const EmgChannel& e = r.montage.emg[c];
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1\"{} "
        "points=\"{}\"><title>{}</title></polyline>",
        kChannelColours[c % 8], e.side == Side::right ? " stroke-dasharray=\"3 2\"" : "", points,
        html_escape(e.label));
    for (const RepScore& rep : s.reps) {
      if (c >= rep.channels.size() || !std::isfinite(rep.channels[c].onset_s)) continue;
      const double ox = g.x(rep.channels[c].onset_s);
      svg += fmt::format(
          "<line class=\"onset\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\" "
          "stroke=\"#d50000\" stroke-width=\"1.2\"/>",
          ox, top, top + ph);
    }
    svg += fmt::format(
        "<text x=\"2\" y=\"{:.1f}\" font-size=\"10\">{}</text><text x=\"2\" y=\"{:.1f}\" font-size=\"8\" "
        "fill=\"#555\">peak {:.0f} µV</text>",
        top + 10, html_escape(e.label), top + 20, ymax);
  }
  svg += "</svg>\n";
  return svg;
}

// Bar chart of each rep's glute:ES ratio (the inverse of the lumbar_dominant verdict's ES/glute) with the
// line below which the back dominates.
std::string ratio_svg(const Strip& g, std::size_t set_index, const SetAnalysis& s, double es_to_glute_limit) {
  const double H = 62, top = 4, ph = 44;
  const double limit = es_to_glute_limit > 0 ? 1.0 / es_to_glute_limit : 0.0;
  double ymax = std::max(limit * 1.5, 1.0);
  auto ratio = [](const RepScore& rep) {
    const double v = rep.verdicts.lumbar_dominant.value;
    return std::isfinite(v) && v > 0 ? 1.0 / v : exercise::kNaN;
  };
  for (const RepScore& rep : s.reps)
    if (std::isfinite(ratio(rep))) ymax = std::max(ymax, ratio(rep) * 1.1);
  auto y = [&](double v) { return top + ph - v / ymax * ph; };
  std::string svg = fmt::format(
      "<svg class=\"ratio-plot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"glute to erector spinae ratio per rep, set {}\">",
      g.width, H, set_index + 1);
  for (const RepScore& rep : s.reps) {
    const double v = ratio(rep);
    const double x0 = g.x(rep.start_s), x1 = g.x(rep.end_s);
    const double shown = std::isfinite(v) ? std::min(v, ymax) : 0.0;
    svg += fmt::format(
        "<rect class=\"ratio-bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
        "<title>rep {}: glute:ES {}</title></rect><text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"8\" "
        "text-anchor=\"middle\">{}</text>",
        x0 + (x1 - x0) * 0.2, y(shown), (x1 - x0) * 0.6, top + ph - y(shown),
        v < limit ? "#d73027" : "#1a9850", rep.index + 1, number_text(v), (x0 + x1) / 2, H - 3,
        std::isfinite(v) ? fmt::format("{:.2f}", v) : "n/a");
  }
  svg += fmt::format(
      "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2:.1f}\" y2=\"{2:.1f}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
      "<text x=\"2\" y=\"12\" font-size=\"10\">glute:ES</text><text x=\"2\" y=\"24\" font-size=\"8\" "
      "fill=\"#555\">back dominant ≤ {3:.2f}</text></svg>\n",
      g.left, g.width - g.right, y(limit), limit);
  return svg;
}

}  // namespace

std::string format_text_report(const AnalysisResult& r) {
  const exercise::SessionAnalysis& a = r.analysis;
  std::string out = fmt::format("glutescope report: {}\n", r.source);
  out += fmt::format("subject {}, recorded {}\n", r.subject_id.empty() ? "?" : r.subject_id,
                     r.session_start_time);
  out += fmt::format("analysis: {} (scoring {}), {}; input {}\n", r.software_version, a.software_version,
                     r.mode, r.input_hash);
  for (const std::string& w : a.warnings) out += "warning: " + w + "\n";
  if (a.sets.empty()) out += "no exercise sets found\n";
  for (std::size_t i = 0; i < a.sets.size(); ++i) {
    const SetAnalysis& s = a.sets[i];
    const exercise::SetSummary& m = s.summary;
    out += fmt::format(
        "\nSet {}: {}{} {:.1f}-{:.1f} s, {} reps ({} partial, {} scored)\n", i + 1, to_string(s.exercise),
        s.exercise == Exercise::clamshell ? fmt::format(" ({} leg up)", to_string(s.working_side)) : "",
        s.start_s, s.stop_s, m.reps, m.partial_reps, m.valid_reps);
    out += "  " + segmented_from_line(s) + "\n";
    if (s.status != exercise::SetStatus::ok)
      out += fmt::format("  status: {} - {}\n", to_string(s.status), s.status_message);
    out += fmt::format("  normalisation: {}\n", normalisation_words(s));
    out += fmt::format("  overall: {}\n  verdicts: {}\n", set_verdict_line(s), verdict_summary(s));
    out += fmt::format("  glute:ES (GMax) ratio of means {}, mean of ratios {}; symmetry GMax {} GMed {}\n",
                       number_text(m.gmax_to_es.ratio_of_means), number_text(m.gmax_to_es.mean_of_ratios),
                       number_text(m.gmax_symmetry_pct, " %"), number_text(m.gmed_symmetry_pct, " %"));
    if (const std::string b = onset_baseline_line(r, s); !b.empty()) out += "  " + b + "\n";
    for (const RepScore& rep : s.reps) out += "  " + format_rep_line(i, s, rep) + "\n";
  }
  return out;
}

// The set's rep table: traffic light, times, ROM, the clinician line and every verdict with its value (the
// header gives the quantity, unit and threshold).
std::string rep_table(const SetAnalysis& s) {
  std::string h =
      "<table class=\"reps\"><tr><th>rep</th><th>light</th><th>time (s)</th><th>ROM (°)</th>"
      "<th>clinician line</th>";
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v)
    h += fmt::format("<th>{}</th>", html_escape(verdict_header(s, v)));
  h += "</tr>\n";
  for (const RepScore& rep : s.reps) {
    h += fmt::format(
        "<tr class=\"verdict-row {}\"><td>{}{}</td>{}<td>{:.1f}–{:.1f}</td><td>{:.0f}</td>"
        "<td class=\"verdict\">{}</td>",
        row_class(rep), rep.index + 1, rep.partial ? " (partial)" : "", light_cell(rep), rep.start_s,
        rep.end_s, rep.rom_deg, html_escape(rep.summary));
    for (std::size_t v = 0; v < exercise::kVerdictCount; ++v)
      h += verdict_cell(exercise::verdict_at(rep.verdicts, v), v);
    h += "</tr>\n";
  }
  return h + "</table>\n";
}

std::string format_html_report(const AnalysisResult& r) {
  const exercise::SessionAnalysis& a = r.analysis;
  // One A4 page for a 10-rep set: the strips scale with the page width (viewBox), print margins 10 mm.
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>glutescope report</title>\n"
      "<style>@page{size:A4;margin:10mm}body{font-family:sans-serif;margin:12px;max-width:1000px;"
      "font-size:12px}h1{font-size:17px;margin:0 0 4px}h2{font-size:14px;margin:10px 0 2px}"
      "h3{font-size:11px;margin:2px 0;color:#444}svg{width:100%;height:auto;display:block}"
      "table{border-collapse:collapse;margin:4px 0;width:100%}td,th{border:1px solid #ccc;padding:1px 3px;"
      "font-size:9px;vertical-align:top}th{background:#eee}.meta{color:#444;font-size:10px;margin:2px 0}"
      ".light{white-space:nowrap}.light svg{width:9px;height:9px;display:inline}.invalid{background:#eee}"
      "@media print{body{margin:0;max-width:none}.set{break-inside:avoid}}</style></head><body>\n";
  h += fmt::format(
      "<h1>glutescope report</h1>\n<p class=\"meta\">Session <b>{}</b>, subject <b>{}</b>, recorded {}. "
      "Analysis: {} (scoring {}), {}; input {}</p>\n",
      html_escape(r.source), html_escape(r.subject_id), html_escape(r.session_start_time),
      html_escape(r.software_version), html_escape(a.software_version), html_escape(r.mode),
      html_escape(r.input_hash));
  for (const std::string& w : a.warnings) h += "<p class=\"warning meta\">" + html_escape(w) + "</p>\n";
  if (a.sets.empty()) h += "<p>No exercise sets found.</p>\n";
  for (std::size_t i = 0; i < a.sets.size(); ++i) {
    const SetAnalysis& s = a.sets[i];
    Strip g;
    g.t0 = s.start_s;
    g.t1 = std::max(s.stop_s, s.start_s + 1e-3);
    h += fmt::format(
        "<div class=\"set\"><h2>Set {}: {}, {} reps ({} partial) — {}</h2>\n<p class=\"set-summary "
        "meta\">{}. "
        "Amplitudes: <b class=\"normalisation\">{}</b>. Lights: green glutes fired, no compensation; amber a "
        "compensation or no glute verdict; red glutes did not fire or the back dominated.</p>\n",
        i + 1, to_string(s.exercise), s.summary.reps, s.summary.partial_reps,
        html_escape(set_verdict_line(s)), html_escape(verdict_summary(s)),
        html_escape(normalisation_words(s)));
    h += "<p class=\"segmented-from meta\">" + html_escape(segmented_from_line(s)) + "</p>\n";
    h += angle_svg(r, g, i, s);
    h += "<h3>Glutes (envelope per muscle; red ticks: onsets; left solid, right dashed)</h3>\n";
    h += group_svg(r, g, i, s, true);
    h += "<h3>Compensators</h3>\n" + group_svg(r, g, i, s, false);
    h += ratio_svg(g, i, s, a.settings.verdicts.lumbar_es_to_glute_ratio);
    h += rep_table(s);
    if (const std::string b = onset_baseline_line(r, s); !b.empty())
      h += "<p class=\"onset-baseline meta\">" + html_escape(b) + "</p>\n";
    h += "</div>\n";
  }
  h += "<p class=\"meta\">glutescope reports muscle activity patterns; a clinician interprets "
       "them.</p>\n</body></html>\n";
  return h;
}

namespace {

// The sidecar's result when it is current; otherwise the settings to re-analyse with (see the header).
AnalysisResult current_or_reanalysed(const std::filesystem::path& session_path,
                                     const std::optional<std::filesystem::path>& config, std::ostream& out) {
  if (config) return analyse_file(session_path.string(), load_analysis_settings(config->string()));
  const std::filesystem::path sidecar = analysis_path_for(session_path);
  if (!std::filesystem::exists(sidecar)) {
    return analyse_file(session_path.string(), kDefaultAnalysisPipelineSettings);
  }
  // The sidecar is derived data: one from an older glutescope, or one that no longer describes this very
  // session (other raw data), is replaced rather than trusted, with the settings it records.
  std::string why;
  try {
    AnalysisResult result = read_analysis_file(sidecar);
    if (result.input_hash == load_session(session_path).input_hash) return result;
    why = "made from other raw data";
  } catch (const std::exception& e) {
    why = e.what();
  }
  const AnalysisPipelineSettings settings = read_analysis_file_settings(sidecar);
  if (const std::string prefix = sidecar.string() + ": "; why.starts_with(prefix))
    why.erase(0, prefix.size());
  constexpr std::size_t kMaxReason = 120;  // the note stays one readable line
  if (why.size() > kMaxReason) why = why.substr(0, kMaxReason) + "...";
  out << fmt::format("note: {} is stale ({}); re-analysing with the settings it was made with\n",
                     sidecar.filename().string(), why);
  return analyse_file(session_path.string(), settings);
}

}  // namespace

AnalysisResult print_session_report(const std::filesystem::path& session_path, std::ostream& out,
                                    const std::optional<std::filesystem::path>& html_out,
                                    const std::optional<std::filesystem::path>& config) {
  AnalysisResult result = current_or_reanalysed(session_path, config, out);  // returned: moved, so not const
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
