#include "pipeline/analysis_export.hpp"

#include <cmath>

#include <fmt/core.h>

#include "exercise/session_analysis.hpp"
#include "pipeline/analysis.hpp"
#include "store/export.hpp"
#include "store/session_reader.hpp"

namespace glutescope::pipeline {

void export_session(const std::filesystem::path& session_path, ExportFormat format,
                    const std::filesystem::path& out) {
  store::ExportInput in;
  {
    store::SessionReader reader(session_path);
    const Montage montage = reader.montage();
    in.rate_hz = reader.device().emg_rate_hz;
    in.counts = reader.emg_counts();
    in.subject_id = reader.info().subject_id;
    for (const EmgChannel& c : montage.emg) {
      in.labels.push_back(c.label);
      in.microvolts_per_count.push_back(c.microvolts_per_count);
    }
  }
  const LoadedSession session = load_session(session_path);
  const AnalysisPipelineSettings& settings = kDefaultAnalysisPipelineSettings;
  const exercise::SessionData& d = session.data;
  const std::size_t ch = d.emg_channels();
  const std::size_t rows = d.emg_samples();
  if (format == ExportFormat::csv && ch > 0 && session.emg_gap_samples == 0) {
    // Full-rate moving-RMS envelope from the scoring module's own conditioning (exercise::condition_channel),
    // so the exported envelope is the amplitude the verdicts used.
    in.envelope_uv.assign(rows * ch, 0.0);
    std::vector<double> uv(rows);
    for (std::size_t c = 0; c < ch; ++c) {
      const double scale = c < d.device.emg.size() ? d.device.emg[c].microvolts_per_count
                                                   : d.montage.emg[c].microvolts_per_count;
      for (std::size_t n = 0; n < rows; ++n) uv[n] = d.emg_counts[n * ch + c] * scale;
      try {
        const exercise::ChannelSignals sig =
            exercise::condition_channel(uv, d.montage.emg[c].muscle, d.device.emg_rate_hz, settings.scoring);
        for (std::size_t n = 0; n < rows; ++n) in.envelope_uv[n * ch + c] = sig.rms_uv[n];
      } catch (const std::invalid_argument&) {
        in.envelope_uv.clear();  // record too short to filter: export without envelopes
        break;
      }
    }
  }
  const AnalysisResult result = analyse(session, settings);
  const exercise::SessionAnalysis& a = result.analysis;
  for (std::size_t i = 0; i < a.sets.size(); ++i) {
    const exercise::SetAnalysis& s = a.sets[i];
    in.annotations.push_back(
        {s.start_s, s.stop_s - s.start_s,
         fmt::format("set {} {}: {}", i + 1, to_string(s.exercise), set_verdict_line(s))});
    for (const exercise::RepScore& r : s.reps) {
      in.annotations.push_back(
          {r.start_s, r.end_s - r.start_s, fmt::format("set {} rep {}: {}", i + 1, r.index + 1, r.summary)});
    }
  }
  for (const Event& e : d.events) {
    if (e.kind == EventKind::marker || e.kind == EventKind::note) {
      in.annotations.push_back({e.time_s, 0.0, e.text.empty() ? std::string("marker") : e.text});
    }
  }
  if (format == ExportFormat::csv) {
    store::export_csv(in, out);
  } else {
    store::export_bdf(in, out);
  }
}

}  // namespace glutescope::pipeline
