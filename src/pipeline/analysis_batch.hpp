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

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/analysis.hpp"

namespace glutescope::pipeline {

// How --shard splits the sorted file list: by index (i mod N) or by file size (each file, largest first,
// to the shard with the fewest bytes so far; ties by path and by lowest shard), docs/SCALING.md.
enum class ShardMethod { index, size };
struct Shard {
  unsigned index = 1;  // k, 1-based
  unsigned count = 1;  // N
  ShardMethod method = ShardMethod::index;
};
// Parses "k/N" (1 ≤ k ≤ N). Throws ConfigError.
Shard parse_shard(const std::string& text);
// Parses "index" | "size". Throws ConfigError.
ShardMethod parse_shard_method(const std::string& text);
std::string_view to_string(ShardMethod method) noexcept;
// The files of `shard` after sorting `files` by path (duplicates removed), in path order. By size, a file
// that cannot be stat'ed counts 0 bytes (its analysis then fails and says why).
std::vector<std::string> select_shard(std::vector<std::string> files, const Shard& shard);

// Runs each file's analysis in a child process (the same glutescope binary, hidden subcommand
// `analyze-one`) with a wall-clock and an address-space limit, so that a file that hangs HDF5, exhausts
// memory or crashes costs that file only: its outcome says "timed out", "out of memory" or "crashed
// (signal N)" and the batch continues. Results are those of an in-process analysis, byte for byte.
struct FileWatchdog {
  std::string executable;          // the glutescope binary (the CLI passes /proc/self/exe)
  std::string settings_path;       // the --config file the child loads (empty = defaults): same parsing
  double timeout_s = 600.0;        // wall clock per file
  std::uint64_t memory_bytes = 0;  // RLIMIT_AS of the child; 0 = unlimited
  bool verbose = false;            // pass --verbose (HDF5 error stacks in messages)
  std::string exercise;            // analyze --exercise, passed on to the child (empty = the settings')
  std::string events_tsv;          // analyze --events, passed on to the child (empty = none)
  std::size_t threads = 1;         // the child's AnalysisPipelineSettings::threads
};

// Threads for one file's analysis when `jobs` files run at once: the CPUs this process may run on
// (sched_getaffinity: a Slurm or taskset allocation, not the whole node) shared among the jobs, at least 1
// and at most kMaxAnalysisThreads.
inline constexpr std::size_t kMaxAnalysisThreads = 4;  // exercise::kConditioningGroupChannels: the channels
                                                       // whose statistics can run at once
std::size_t analysis_threads(unsigned jobs);

struct BatchOptions {
  std::vector<std::string> files;
  AnalysisPipelineSettings settings;
  unsigned jobs = 1;
  Shard shard;
  std::string summary_csv;  // empty = none
  bool json = false;        // fill FileOutcome::json (the whole result, pipeline::to_json)
  bool progress = false;    // draw a progress bar on `log` (the CLI enables it when stderr is a tty)
  std::FILE* log = stderr;
  std::optional<FileWatchdog> watchdog;  // empty = analyse in this process (tests, library use)
  std::string events_tsv;  // BIDS events added to each loaded session before analysis (empty = none)
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

// The child's side of FileWatchdog: analyse one file, return its outcome (never throws for the file), and
// its one-line JSON form read back by the parent.
FileOutcome analyse_one_outcome(const std::string& path, const AnalysisPipelineSettings& settings, bool json,
                                const std::filesystem::path& events_tsv = {});
std::string outcome_to_json(const FileOutcome& outcome);

// Adds the events of a BIDS events TSV (store::read_bids_events, the parser of `import --events`) to a loaded
// session, in memory only (the session file is not touched); onsets are seconds from EMG sample 0. Throws
// store::ImportError naming the TSV and its line.
void add_bids_events(LoadedSession& session, const std::filesystem::path& events_tsv);

// Analyse one file (with the events of `events_tsv` added, when given) and write its sidecar; throws with a
// message naming the file.
AnalysisResult analyse_file(const std::string& path, const AnalysisPipelineSettings& settings,
                            const std::filesystem::path& events_tsv = {});

// The summary CSV (docs/ANALYSIS.md "Summary CSV"): header and the rows of one result.
std::string summary_csv_header();
// A summary CSV cell: the shortest round-trip number or NA; a double-quoted text ("" for a quote).
std::string csv_number(double v);
std::string csv_quoted(const std::string& s);
// Its column names in order.
const std::vector<std::string>& summary_csv_columns();
std::string summary_csv_rows(const AnalysisResult& result);
// The "level = file" row that opens each file's rows (ok with its counts, or failed with the error), and
// the closing "level = batch" row (the files in the batch, how many were analysed, which shard): these let
// `glutescope cohort` tell a complete shard output from a truncated one and name failed sessions.
std::string summary_csv_file_row(const FileOutcome& outcome, const AnalysisResult* result,
                                 const std::string& settings_hash);
struct BatchTotals {
  std::size_t files = 0, analysed = 0;
  Shard shard;
  bool complete = true;  // false: a merge that lacked some shard outputs (glutescope cohort)
  std::string software_version, settings_hash;
};
std::string summary_csv_batch_row(const BatchTotals& totals);
// Identity of the effective settings TOML, "crc32:<hex>-bytes:<n>" (the input hash's form).
std::string settings_hash(const std::string& settings_toml);
// "glutescope X.Y.Z" of this build.
std::string software_version();
// One `analyze --json` line of an outcome (without the trailing newline).
std::string outcome_json_line(const FileOutcome& outcome);

}  // namespace glutescope::pipeline
