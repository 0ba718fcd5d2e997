// The offline analysis of one session: the session file is read into exercise::SessionData (raw counts
// placed by sample index, events, gaps, montage, device scales) and scored by the one scoring implementation,
// exercise::analyse_session (docs/SCORING.md). This file only wires I/O to it and adds what the outputs need
// (provenance, input hash, plot envelopes). The live consumer (live_analysis.hpp) scores each rep with the
// same exercise::score_repetition. Stage wiring and threading: docs/PIPELINE.md.
//
// Threading: analyse() is a pure function of its inputs (no globals, no threads): batch runs call it from
// several worker threads at once, one session per call, and get bit-identical results.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "exercise/session_analysis.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::pipeline {

// One session as read from its file. `data` holds the raw counts exactly as recorded, one row per sample
// index from 0 (the truth for time): a row missing from the file (a recorded gap) holds 0 counts (EMG) or
// repeats the previous IMU sample, and is listed in data.gaps so that reps overlapping it are marked invalid.
struct LoadedSession {
  std::string source;      // the file path as given
  std::string input_hash;  // content hash of the raw datasets (CRC-32 + byte count)
  std::string subject_id;
  std::string session_start_time;
  exercise::SessionData data;
  std::uint64_t emg_gap_samples = 0;  // EMG rows missing from the file
};

// Reads a session file (store::SessionReader) and hashes its raw datasets. Throws std::runtime_error
// (store::SessionFormatError for a foreign/newer/damaged file) naming the path.
LoadedSession load_session(const std::filesystem::path& path);

struct AnalysisResult {
  std::string software_version;  // "glutescope X.Y.Z"
  std::string settings_toml;     // the effective settings (to_toml of AnalysisPipelineSettings)
  std::string source;
  std::string input_hash;
  std::string subject_id;
  std::string session_start_time;
  std::string mode;                    // "offline-zero-phase" (analyse) | "live-causal" (LiveAnalysis)
  Montage montage;                     // channel labels, muscles, sides (montage.emg order = channel order)
  exercise::SessionAnalysis analysis;  // the exercise module's result: sets, reps, verdicts, summaries
  double envelope_rate_hz = 0.0;
  std::vector<float> envelopes_uv;       // [rows x channels] block means of the RMS envelope (µV), for plots
  std::vector<float> driving_angle_deg;  // at envelope_rate_hz; NaN outside scored sets
  std::uint64_t emg_gap_samples = 0;

  [[nodiscard]] std::size_t channels() const noexcept { return montage.emg.size(); }
  [[nodiscard]] std::size_t rep_count() const noexcept;
};

// Runs the whole offline analysis. Throws std::invalid_argument for data the analysis cannot use, naming it.
AnalysisResult analyse(const LoadedSession& session, const AnalysisPipelineSettings& settings);

// The result as JSON: provenance (source, input_hash, software and scoring versions, mode, effective settings
// as TOML text and as a table) and the exercise module's to_json of the analysis (sets, reps, verdicts).
nlohmann::json to_json(const AnalysisResult& result);

// "glutes fired", "back did the work" ...: the exercise module's clinician line of a rep, prefixed with its
// place: "set 1 rep  3 (bridge): <summary>".
std::string format_rep_line(std::size_t set_index, const exercise::SetAnalysis& set,
                            const exercise::RepScore& rep);

// The set's clinician line from its reps' verdict counts (majority of the reps with a yes/no), in the same
// words as the per-rep lines: "glutes fired, back quiet", "back did the work", ...
std::string set_verdict_line(const exercise::SetAnalysis& set);
// "segmented from: 6-axis IMU (IMU on sacrum, ...)", or "segmented from EMG without motion (bursts of ...)".
std::string segmented_from_line(const exercise::SetAnalysis& set);

// How the amplitudes of a set are normalised, in words for tables ("%MVIC" or "% of set peak").
std::string_view amplitude_unit(const exercise::Normalisation& normalisation) noexcept;

}  // namespace glutescope::pipeline
