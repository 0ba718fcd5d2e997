// Batch reanalysis of saved sessions (`glutescope analyze`): a fixed pool of worker threads, each analysing
// whole files (load → analyse → write FILE.analysis.h5), then one summary CSV in input order.
//
// Determinism: files are sorted by path; each file's analysis is a pure function of the file and the
// settings; every output is assembled in sorted order after all workers finish. Results are therefore
// byte-identical for any --jobs and any run.
// Sharding: --shard k/N keeps the files whose index in the sorted list is ≡ k-1 (mod N), so N machines
// (a Slurm array, GNU parallel) each take a disjoint, stable subset (docs/ANALYSIS.md).
//
// Threading: run_batch() owns its worker threads and joins them before returning; workers share only an
// atomic work counter and write disjoint slots of the outcome vector; progress is drawn by the calling
// thread.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "pipeline/analysis.hpp"

namespace glutescope::pipeline {

struct Shard {
  unsigned index = 1;  // k, 1-based
  unsigned count = 1;  // N
};
// Parses "k/N" (1 ≤ k ≤ N). Throws ConfigError.
Shard parse_shard(const std::string& text);
// The files of `shard` after sorting `files` by path (duplicates removed).
std::vector<std::string> select_shard(std::vector<std::string> files, const Shard& shard);

struct BatchOptions {
  std::vector<std::string> files;
  AnalysisPipelineSettings settings;
  unsigned jobs = 1;
  Shard shard;
  std::string summary_csv;  // empty = none
  bool json = false;        // fill FileOutcome::json (the whole result, pipeline::to_json)
  bool progress = false;    // draw a progress bar on `log` (the CLI enables it when stderr is a tty)
  std::FILE* log = stderr;
};

struct FileOutcome {
  std::string file;
  bool ok = false;
  std::string error;   // one line, names the file
  std::string output;  // the analysis file written
  std::size_t sets = 0, reps = 0;
  std::vector<std::string> warnings;  // the analysis's warnings (e.g. no gyroscope, band-pass lowered)
  std::string csv_rows;               // this file's summary rows
  std::string json;                   // one-line JSON of the result when BatchOptions::json
};

// Analyses the shard's files. Never throws for a bad input file (its outcome says why); throws for an
// unwritable summary CSV.
std::vector<FileOutcome> run_batch(const BatchOptions& options);

// Analyse one file and write its sidecar; throws with a message naming the file.
AnalysisResult analyse_file(const std::string& path, const AnalysisPipelineSettings& settings);

// The summary CSV (docs/ANALYSIS.md "Summary CSV"): header and the rows of one result.
std::string summary_csv_header();
std::string summary_csv_rows(const AnalysisResult& result);

}  // namespace glutescope::pipeline
