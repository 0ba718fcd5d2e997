// `glutescope cohort`: merges the per-shard outputs of `glutescope analyze --shard k/N` (summary CSVs, and
// optionally the --json lines) into one cohort output, byte-identical to one `analyze` run over all the
// sessions with the same settings (docs/SCALING.md).
//
// Canonical order: sessions sorted by their path as given to analyze (byte-wise, as analyze sorts them),
// each session's rows in the order analyze wrote them (file row, then per set its rep rows and set row),
// then one batch row. A shard output is read as blocks: a "level = file" row announces how many sets and
// reps follow; the closing "level = batch" row states how many files the shard had. Whatever does not
// match is named.
//
// Bad input (each named and counted in CohortMerge::problems):
//   missing     a named shard output does not exist, or shard k of N was not given
//   truncated   a cut row, a session block shorter than its file row announces, no batch row
//   foreign     not a summary CSV of this format (header differs), or not JSON
//   mixed       software version or settings hash differ between rows (refused unless allow_mixed)
//   duplicate   two shard outputs (or one, twice) hold the same session (refused)
//   failed      a session analyze could not analyse (its error, e.g. the file vanished mid-run)
// A refused merge writes nothing (exit 1); otherwise the complete blocks are merged and any problem gives
// exit 2, as analyze does for failed files.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace glutescope::pipeline {

// One field list of a CSV record (RFC 4180 quoting: "" inside quotes is a quote). Returns false for an
// unterminated quote.
bool split_csv_record(std::string_view line, std::vector<std::string>& fields);

enum class CohortProblemKind { missing, truncated, foreign, mixed, duplicate, failed };
std::string_view to_string(CohortProblemKind kind) noexcept;

struct CohortProblem {
  CohortProblemKind kind;
  std::string file;     // the shard output or session it is about
  std::string message;  // one line
};

// One session as read from a shard output: its rows verbatim and what the merge checks.
struct SessionBlock {
  std::string session;  // the path analyze was given
  std::string origin;   // the shard output it came from
  std::string text;     // its rows (CSV) or its line (JSON), each with '\n'
  bool ok = false;
  std::string error;
  std::string software_version, settings_hash;
};

struct CohortOptions {
  bool allow_mixed = false;            // merge rows of different software versions / settings (saying so)
  std::string expected_settings_hash;  // non-empty: every session must have these settings (cohort --config)
};

struct CohortMerge {
  bool refused = false;
  std::string csv;   // merged summary CSV (empty when refused or no CSV given)
  std::string json;  // merged --json lines (empty when refused or none given)
  std::vector<CohortProblem> problems;
  std::vector<SessionBlock> sessions;  // merged, canonical order (from the CSVs, else the JSON)
  std::size_t analysed = 0, failed = 0;
};

// Merges the given shard outputs: files whose first line is the summary header are CSVs, files starting
// with '{' are --json lines. Never throws for a bad shard output (a problem says why).
CohortMerge merge_cohort(const std::vector<std::string>& shard_outputs, const CohortOptions& options);

// Writes `text` to `path` through a temporary name and rename. Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace glutescope::pipeline
