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

std::string verdict_cell(const exercise::Verdict& v) {
  switch (v.state) {
    case VerdictState::yes:
      return std::isfinite(v.value) ? fmt::format("yes ({:.2f})", v.value) : "yes";
    case VerdictState::no:
      return std::isfinite(v.value) ? fmt::format("no ({:.2f})", v.value) : "no";
    case VerdictState::not_available:
      return "n/a: " + v.reason;
    case VerdictState::invalid:
      return "invalid: " + v.reason;
  }
  return "?";
}

const char* kChannelColours[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                 "#66a61e", "#e6ab02", "#a6761d", "#666666"};

// SVG of one set: envelopes (glute and lumbar channels highlighted), reps shaded by phase.
std::string set_svg(const AnalysisResult& r, std::size_t set_index, const SetAnalysis& s) {
  const double W = 1100, H = 320, left = 60, right = 10, top = 20, bottom = 40;
  const double pw = W - left - right, ph = H - top - bottom;
  const std::size_t ch = r.channels();
  const double rate = r.envelope_rate_hz;
  const std::size_t rows = ch == 0 ? 0 : r.envelopes_uv.size() / ch;
  const auto a = static_cast<std::size_t>(std::clamp(s.start_s * rate, 0.0, static_cast<double>(rows)));
  const auto b = static_cast<std::size_t>(std::clamp(s.stop_s * rate, 0.0, static_cast<double>(rows)));
  double ymax = 1e-9;
  for (std::size_t i = a; i < b; ++i) {
    for (std::size_t c = 0; c < ch; ++c)
      ymax = std::max(ymax, static_cast<double>(r.envelopes_uv[i * ch + c]));
  }
  const double t0 = s.start_s, t1 = std::max(s.stop_s, s.start_s + 1e-3);
  auto x = [&](double t) { return left + (t - t0) / (t1 - t0) * pw; };
  auto y = [&](double v) { return top + ph - v / ymax * ph; };
  std::string svg = fmt::format(
      "<svg class=\"envelope-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"EMG envelopes of set {}\">\n",
      W, H, W, H, set_index + 1);
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n",
                     left, top, pw, ph);
  for (const RepScore& rep : s.reps) {
    const std::pair<double, double> phases[] = {{rep.start_s, rep.concentric_end_s},
                                                {rep.concentric_end_s, rep.hold_end_s},
                                                {rep.hold_end_s, rep.end_s}};
    const char* fills[] = {"#c7e9c0", "#c6dbef", "#fdd0a2"};
    for (int p = 0; p < 3; ++p) {
      svg += fmt::format(
          "<rect class=\"phase\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"{}\" "
          "opacity=\"0.7\"/>\n",
          x(phases[p].first), top, std::max(0.0, x(phases[p].second) - x(phases[p].first)), ph, fills[p]);
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" fill=\"#333\">{}</text>\n",
                       x(rep.start_s) + 2, top + 12, rep.index + 1);
  }
  const std::size_t step = std::max<std::size_t>(1, (b - a) / 1500);
  for (std::size_t c = 0; c < ch; ++c) {
    std::string points;
    for (std::size_t i = a; i < b; i += step) {
      points +=
          fmt::format("{:.1f},{:.1f} ", x(static_cast<double>(i) / rate), y(r.envelopes_uv[i * ch + c]));
    }
    const Muscle m = r.montage.emg[c].muscle;
    const bool key =
        m == Muscle::gluteus_maximus || m == Muscle::gluteus_medius || m == Muscle::erector_spinae_lumbar;
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
        "points=\"{}\"><title>{}</title></polyline>\n",
        kChannelColours[c % 8], key ? 1.6 : 0.7, points, html_escape(r.montage.emg[c].label));
  }
  // Axes labels.
  for (int k = 0; k <= 5; ++k) {
    const double t = t0 + (t1 - t0) * k / 5.0;
    svg +=
        fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{:.0f} s</text>\n",
                    x(t), H - bottom + 15, t);
  }
  svg += fmt::format("<text x=\"5\" y=\"{}\" font-size=\"11\">{:.0f} µV</text>\n", top + 10, ymax);
  svg += fmt::format("<text x=\"5\" y=\"{}\" font-size=\"11\">0</text>\n", top + ph);
  // Legend.
  double lx = left;
  for (std::size_t c = 0; c < ch; ++c) {
    svg += fmt::format(
        "<rect x=\"{:.0f}\" y=\"{}\" width=\"12\" height=\"4\" fill=\"{}\"/><text x=\"{:.0f}\" y=\"{}\" "
        "font-size=\"11\">{}</text>\n",
        lx, H - 12, kChannelColours[c % 8], lx + 15, H - 7, html_escape(r.montage.emg[c].label));
    lx += 90;
  }
  svg += fmt::format(
      "<text x=\"{:.0f}\" y=\"{}\" font-size=\"11\">shading: concentric green, hold blue, eccentric "
      "orange</text>\n",
      lx, H - 7);
  svg += "</svg>\n";
  return svg;
}

// Bar chart of each rep's ES/glute ratio (the lumbar_dominant verdict's value) with its threshold line.
std::string ratio_svg(std::size_t set_index, const SetAnalysis& s, double threshold) {
  const double W = 1100, H = 200, left = 60, top = 15, bottom = 30;
  const double pw = W - left - 10, ph = H - top - bottom;
  double ymax = std::max(threshold * 1.5, 1.0);
  for (const RepScore& rep : s.reps) {
    const double v = rep.verdicts.lumbar_dominant.value;
    if (std::isfinite(v)) ymax = std::max(ymax, v * 1.1);
  }
  auto y = [&](double v) { return top + ph - v / ymax * ph; };
  std::string svg = fmt::format(
      "<svg class=\"ratio-plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 "
      "0 {} {}\" "
      "role=\"img\" aria-label=\"erector spinae to glute ratio per rep, set {}\">\n",
      W, H, W, H, set_index + 1);
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fff\" stroke=\"#999\"/>\n",
                     left, top, pw, ph);
  const double bw = s.reps.empty() ? 0 : pw / static_cast<double>(s.reps.size());
  for (std::size_t i = 0; i < s.reps.size(); ++i) {
    const double raw = s.reps[i].verdicts.lumbar_dominant.value;
    const double v = std::isfinite(raw) ? raw : 0.0;
    const char* fill = v >= threshold ? "#de2d26" : "#2ca25f";
    svg += fmt::format(
        "<rect class=\"ratio-bar\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\">"
        "<title>rep {}: {}</title></rect>\n",
        left + i * bw + bw * 0.15, y(v), bw * 0.7, top + ph - y(v), fill, i + 1, number_text(raw));
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
                       left + (i + 0.5) * bw, H - bottom + 14, i + 1);
  }
  svg += fmt::format(
      "<line x1=\"{}\" x2=\"{}\" y1=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#555\" stroke-dasharray=\"4 3\"/>"
      "<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\">back dominant at ES/glute {:.2f}</text>\n",
      left, left + pw, y(threshold), y(threshold), left + pw - 190, y(threshold) - 3, threshold);
  svg += fmt::format(
      "<text x=\"5\" y=\"{}\" font-size=\"11\">{:.1f}</text><text x=\"5\" y=\"{}\" "
      "font-size=\"11\">0</text>\n",
      top + 10, ymax, top + ph);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"11\">rep (ES/glute, %MVIC)</text>\n",
                     left + pw / 2 - 60, H - 3);
  svg += "</svg>\n";
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

std::string format_html_report(const AnalysisResult& r) {
  const exercise::SessionAnalysis& a = r.analysis;
  const double threshold = a.settings.verdicts.lumbar_es_to_glute_ratio;
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>glutescope report</title>\n"
      "<style>body{font-family:sans-serif;margin:20px;max-width:1140px}table{border-collapse:collapse;margin:"
      "8px 0}"
      "td,th{border:1px solid #bbb;padding:3px 8px;font-size:13px}th{background:#eee}"
      ".glutes_fired{background:#e5f5e0}.compensated{background:#fee0d2}.late{background:#fff5d6}"
      ".invalid{background:#eee}.meta{color:#444;font-size:14px}</style></head><body>\n";
  h += fmt::format(
      "<h1>glutescope report</h1>\n<p class=\"meta\">Session <b>{}</b>, subject <b>{}</b>, recorded {}<br>"
      "Analysis: {} (scoring {}), {}; input {}</p>\n",
      html_escape(r.source), html_escape(r.subject_id), html_escape(r.session_start_time),
      html_escape(r.software_version), html_escape(a.software_version), html_escape(r.mode),
      html_escape(r.input_hash));
  for (const std::string& w : a.warnings) h += "<p class=\"warning\">" + html_escape(w) + "</p>\n";
  if (a.sets.empty()) h += "<p>No exercise sets found.</p>\n";
  for (std::size_t i = 0; i < a.sets.size(); ++i) {
    const SetAnalysis& s = a.sets[i];
    h += fmt::format(
        "<h2>Set {}: {}</h2>\n<p class=\"set-summary\">{} reps ({} partial). Overall: <b>{}</b>. {}.<br>"
        "Normalisation: <b class=\"normalisation\">{}</b></p>\n",
        i + 1, to_string(s.exercise), s.summary.reps, s.summary.partial_reps,
        html_escape(set_verdict_line(s)), html_escape(verdict_summary(s)),
        html_escape(normalisation_words(s)));
    h += "<p class=\"segmented-from\">" + html_escape(segmented_from_line(s)) + "</p>\n";
    if (const std::string b = onset_baseline_line(r, s); !b.empty())
      h += "<p class=\"onset-baseline\">" + html_escape(b) + "</p>\n";
    h += set_svg(r, i, s);
    h += ratio_svg(i, s, threshold);
    h += "<table class=\"reps\"><tr><th>rep</th><th>start–end (s)</th><th>ROM (deg)</th><th>verdict</th>";
    for (auto name : exercise::kVerdictNames) h += fmt::format("<th>{}</th>", name);
    h += "</tr>\n";
    for (const RepScore& rep : s.reps) {
      h += fmt::format(
          "<tr class=\"verdict-row {}\"><td>{}{}</td><td>{:.1f}–{:.1f}</td><td>{:.0f}</td>"
          "<td class=\"verdict\">{}</td>",
          row_class(rep), rep.index + 1, rep.partial ? " (partial)" : "", rep.start_s, rep.end_s, rep.rom_deg,
          html_escape(rep.summary));
      for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
        h += "<td>" + html_escape(verdict_cell(exercise::verdict_at(rep.verdicts, v))) + "</td>";
      }
      h += "</tr>\n";
    }
    h += "</table>\n";
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
