#include "pipeline/analysis_export.hpp"

#include <cmath>

#include <fmt/core.h>

#include "dsp/zero_phase.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/analysis_stages.hpp"
#include "store/export.hpp"
#include "store/session_reader.hpp"

namespace glutescope::pipeline {

void export_session(const std::filesystem::path& session_path, ExportFormat format, const std::filesystem::path& out) {
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
  const SessionData session = load_session(session_path);
  const AnalysisPipelineSettings& settings = kDefaultAnalysisPipelineSettings;
  if (format == ExportFormat::csv && session.emg_channels > 0) {
    // Full-rate envelope with the default offline chain (zero-phase band-pass → |x| → 6 Hz low-pass).
    const EmgChain chain = design_emg_chain(settings.emg, session.emg_rate_hz);
    const std::size_t rows = session.emg_samples();
    if (rows > dsp::sosfiltfilt_padlen(chain.bandpass) && session.emg_gap_samples == 0) {
      std::vector<double> env = dsp::sosfiltfilt_interleaved(chain.bandpass, session.emg_uv, session.emg_channels);
      for (double& v : env) v = std::fabs(v);
      in.envelope_uv = dsp::sosfiltfilt_interleaved(chain.envelope_lowpass, env, session.emg_channels);
    }
  }
  const AnalysisResult result = analyse(session, settings);
  for (const SetResult& s : result.sets) {
    in.annotations.push_back({s.start_s, s.end_s - s.start_s, fmt::format("set {} {}", s.set_index + 1, to_string(s.exercise))});
  }
  for (const RepResult& r : result.reps) {
    in.annotations.push_back({r.start_s, r.end_s - r.start_s,
                              fmt::format("set {} rep {}: {}", r.set_index + 1, r.rep_index + 1, to_string(r.verdict))});
  }
  for (const Event& e : session.events) {
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
