#include "pipeline/cohort.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "pipeline/analysis_batch.hpp"

namespace glutescope::pipeline {
namespace {

// A shard output larger than this is not a summary of a plausible cohort (10,000 one-hour sessions of 200
// reps are ≈ 1.5 GB of rows); refusing bounds the memory the merge takes.
constexpr std::uintmax_t kMaxShardOutputBytes = std::uintmax_t{4} << 30;

// Column positions the merge reads.
struct Columns {
  std::size_t file, level, set, set_status, invalid_reason, reps, software_version, settings_hash;
};

Columns find_columns() {
  const auto& c = summary_csv_columns();
  auto at = [&c](std::string_view name) {
    return static_cast<std::size_t>(std::find(c.begin(), c.end(), name) - c.begin());
  };
  return {at("file"),
          at("level"),
          at("set"),
          at("set_status"),
          at("invalid_reason"),
          at("reps"),
          at("software_version"),
          at("settings_hash")};
}

bool parse_count(const std::string& s, std::size_t& out) {
  if (s.empty() || s.size() > 12 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  out = std::stoull(s);
  return true;
}

// What one shard output holds.
struct ShardOutput {
  std::string path;
  bool csv = false;
  std::vector<SessionBlock> blocks;
  bool has_batch = false;
  unsigned shard_k = 0, shard_n = 0;
  std::string method;
  std::size_t batch_files = 0;
};

// Reads the CSV rows after the header into session blocks; a block is kept only when it is complete.
class CsvShardReader {
 public:
  CsvShardReader(ShardOutput& shard, std::vector<CohortProblem>& problems)
      : shard_(shard), problems_(problems), col_(find_columns()) {}

  // Returns false when reading must stop (a cut or malformed row).
  bool row(std::size_t line_no, const std::string& line) {
    if (shard_.has_batch) return fail(line_no, "rows after the batch row");
    if (!split_csv_record(line, f_) || f_.size() != summary_csv_columns().size()) {
      return fail(line_no, fmt::format("a cut or malformed row ({} fields, expected {})", f_.size(),
                                       summary_csv_columns().size()));
    }
    const std::string& level = f_[col_.level];
    if (level == "file") return file_row(line_no, line);
    if (level == "batch") return batch_row(line_no);
    if (level != "rep" && level != "set") return fail(line_no, fmt::format("unknown level '{}'", level));
    if (!open_ || f_[col_.file] != block_.session || (level == "rep" ? reps_left_ : sets_left_) == 0) {
      return fail(line_no, fmt::format("a {} row of {} outside its session block", level, f_[col_.file]));
    }
    if (f_[col_.software_version] != block_.software_version ||
        f_[col_.settings_hash] != block_.settings_hash) {
      return fail(line_no, "a row whose version or settings differ from its file row");
    }
    --(level == "rep" ? reps_left_ : sets_left_);
    block_.text += line + '\n';
    if (reps_left_ == 0 && sets_left_ == 0) close_block();
    return true;
  }

  void end(std::size_t last_line) {
    if (open_) {
      truncated(fmt::format("the rows of {} end early (line {})", block_.session, last_line));
    } else if (!shard_.has_batch) {
      truncated(fmt::format("no batch row after line {} (cut?)", last_line));
    } else if (shard_.blocks.size() != shard_.batch_files) {
      truncated(fmt::format("{} sessions, its batch row says {}", shard_.blocks.size(), shard_.batch_files));
    }
  }

  bool fail(std::size_t line_no, const std::string& what) {
    truncated(fmt::format("line {}: {}", line_no, what));
    return false;
  }

 private:
  bool file_row(std::size_t line_no, const std::string& line) {
    if (open_) {
      truncated(fmt::format("the rows of {} end early (line {})", block_.session, line_no));
      open_ = false;
    }
    block_ = SessionBlock{};
    block_.session = f_[col_.file];
    block_.origin = shard_.path;
    block_.ok = f_[col_.set_status] == "ok";
    block_.error = f_[col_.invalid_reason];
    block_.software_version = f_[col_.software_version];
    block_.settings_hash = f_[col_.settings_hash];
    block_.text = line + '\n';
    sets_left_ = reps_left_ = 0;
    if (block_.ok && (!parse_count(f_[col_.set], sets_left_) || !parse_count(f_[col_.reps], reps_left_))) {
      return fail(line_no, "a file row without set and rep counts");
    }
    open_ = true;
    if (reps_left_ == 0 && sets_left_ == 0) close_block();
    return true;
  }

  bool batch_row(std::size_t line_no) {
    if (open_) return fail(line_no, fmt::format("the rows of {} end early", block_.session));
    char method[16] = {};
    char extra = 0;
    if (std::sscanf(f_[col_.invalid_reason].c_str(), "shard %u/%u by %15s%c", &shard_.shard_k,
                    &shard_.shard_n, method, &extra) != 3 ||
        !parse_count(f_[col_.reps], shard_.batch_files) || shard_.shard_n == 0 ||
        shard_.shard_k > shard_.shard_n) {
      return fail(line_no, "a batch row without its shard and file count");
    }
    shard_.method = method;
    shard_.has_batch = true;
    return true;
  }

  void close_block() {
    shard_.blocks.push_back(std::move(block_));
    open_ = false;
  }
  void truncated(const std::string& what) {
    problems_.push_back(
        {CohortProblemKind::truncated, shard_.path, fmt::format("{}: {}", shard_.path, what)});
  }

  ShardOutput& shard_;
  std::vector<CohortProblem>& problems_;
  Columns col_;
  std::vector<std::string> f_;
  SessionBlock block_;
  bool open_ = false;
  std::size_t sets_left_ = 0, reps_left_ = 0;
};

void read_csv_shard(ShardOutput& shard, const std::string& text, std::vector<CohortProblem>& problems) {
  CsvShardReader reader(shard, problems);
  std::size_t line_no = 1;
  std::size_t p = text.find('\n') + 1;  // after the header (checked by the caller)
  while (p < text.size()) {
    const std::size_t q = text.find('\n', p);
    ++line_no;
    if (q == std::string::npos) {
      reader.fail(line_no, "the last row is cut (no line end)");
      return;
    }
    if (!reader.row(line_no, text.substr(p, q - p))) return;
    p = q + 1;
  }
  reader.end(line_no);
}

void read_json_shard(ShardOutput& shard, const std::string& text, std::vector<CohortProblem>& problems) {
  std::size_t line_no = 0;
  for (std::size_t p = 0; p < text.size();) {
    const std::size_t q = text.find('\n', p);
    ++line_no;
    const std::string line = text.substr(p, q == std::string::npos ? std::string::npos : q - p);
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (q == std::string::npos || j.is_discarded() || !j.is_object() || !j.contains("file") ||
        !j["file"].is_string() || !j.contains("ok") || !j["ok"].is_boolean()) {
      problems.push_back({CohortProblemKind::truncated, shard.path,
                          fmt::format("{}: line {}: a cut or foreign JSON line", shard.path, line_no)});
      return;
    }
    SessionBlock b;
    b.session = j["file"].get<std::string>();
    b.origin = shard.path;
    b.ok = j["ok"].get<bool>();
    b.text = line + '\n';
    const nlohmann::json& a = b.ok ? j.value("analysis", nlohmann::json::object()) : j;
    b.software_version = a.value("software_version", std::string());
    b.error = j.value("error", std::string());
    if (b.ok) b.settings_hash = settings_hash(a.value("settings_toml", std::string()));
    shard.blocks.push_back(std::move(b));
    p = q + 1;
  }
}

// Reads one shard output by its first line; a problem when it is missing or foreign.
ShardOutput read_shard(const std::string& path, std::vector<CohortProblem>& problems) {
  ShardOutput shard;
  shard.path = path;
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  if (ec) {
    problems.push_back({CohortProblemKind::missing, path, fmt::format("{}: no such shard output", path)});
    return shard;
  }
  if (bytes > kMaxShardOutputBytes) {
    problems.push_back(
        {CohortProblemKind::foreign, path, fmt::format("{}: {} bytes, over the 4 GiB limit", path, bytes)});
    return shard;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  const std::string text = s.str();
  const std::string header = summary_csv_header();
  if (text.compare(0, header.size(), header) == 0) {
    shard.csv = true;
    read_csv_shard(shard, text, problems);
  } else if (!text.empty() && text[0] == '{') {
    read_json_shard(shard, text, problems);
  } else if (text.rfind("file,subject_id,", 0) == 0) {
    problems.push_back(
        {CohortProblemKind::foreign, path,
         fmt::format("{}: a summary CSV with other columns (another glutescope version?)", path)});
  } else {
    problems.push_back({CohortProblemKind::foreign, path,
                        fmt::format("{}: neither a glutescope summary CSV nor --json lines", path)});
  }
  return shard;
}

// Lists each distinct value with the shard outputs holding it; a problem when there is more than one.
void check_uniform(const std::vector<ShardOutput>& shards, std::string SessionBlock::*field, const char* what,
                   CohortMerge& merge, const CohortOptions& options) {
  std::map<std::string, std::set<std::string>> where;
  for (const ShardOutput& s : shards) {
    for (const SessionBlock& b : s.blocks) {
      if (!(b.*field).empty()) where[b.*field].insert(s.path);
    }
  }
  if (where.size() <= 1) return;
  std::string list;
  for (const auto& [value, paths] : where) {
    std::string names;
    for (const auto& p : paths) names += (names.empty() ? "" : ", ") + p;
    list += fmt::format("{}{} in {}", list.empty() ? "" : "; ", value, names);
  }
  merge.problems.push_back(
      {CohortProblemKind::mixed, "",
       fmt::format("{} differ: {}{}", what, list,
                   options.allow_mixed ? " (merged: --allow-mixed)" : "; --allow-mixed merges them")});
  if (!options.allow_mixed) merge.refused = true;
}

// Sessions analysed with settings other than the expected ones (cohort --config).
void check_expected_settings(const std::vector<ShardOutput>& shards, CohortMerge& merge,
                             const CohortOptions& options) {
  std::set<std::string> other;
  for (const ShardOutput& s : shards) {
    for (const SessionBlock& b : s.blocks) {
      if (!b.settings_hash.empty() && b.settings_hash != options.expected_settings_hash) other.insert(s.path);
    }
  }
  if (other.empty()) return;
  std::string names;
  for (const auto& p : other) names += (names.empty() ? "" : ", ") + p;
  merge.problems.push_back(
      {CohortProblemKind::mixed, "",
       fmt::format("settings differ from --config ({}): {}{}", options.expected_settings_hash, names,
                   options.allow_mixed ? " (merged: --allow-mixed)" : "")});
  if (!options.allow_mixed) merge.refused = true;
}

// Shard k of N not given, or given twice.
void check_shard_set(const std::vector<ShardOutput>& shards, CohortMerge& merge,
                     const CohortOptions& options) {
  std::map<std::pair<unsigned, std::string>, std::vector<unsigned>> splits;  // (N, method) -> ks
  for (const ShardOutput& s : shards) {
    if (s.has_batch) splits[{s.shard_n, s.method}].push_back(s.shard_k);
  }
  if (splits.size() > 1) {
    std::string list;
    for (const auto& [split, ks] : splits)
      list += fmt::format("{}{} by {}", list.empty() ? "" : ", ", split.first, split.second);
    merge.problems.push_back(
        {CohortProblemKind::mixed, "", fmt::format("shard outputs of different splits: {}", list)});
    if (!options.allow_mixed) merge.refused = true;
  }
  for (const auto& [split, ks] : splits) {
    if (split.first < 2) continue;
    for (unsigned k = 1; k <= split.first && k <= 100000; ++k) {
      if (std::find(ks.begin(), ks.end(), k) == ks.end()) {
        const std::string name = fmt::format("shard {}/{} by {}", k, split.first, split.second);
        merge.problems.push_back(
            {CohortProblemKind::missing, name, fmt::format("{}: no output given", name)});
      }
    }
  }
}

// Sessions in canonical order; a duplicate claim is a problem and refuses the merge.
std::vector<SessionBlock> ordered_sessions(std::vector<ShardOutput>& shards, bool csv, CohortMerge& merge) {
  std::map<std::string, SessionBlock> by_path;
  for (ShardOutput& s : shards) {
    if (s.csv != csv) continue;
    for (SessionBlock& b : s.blocks) {
      const auto [it, inserted] = by_path.try_emplace(b.session, std::move(b));  // b is kept if not inserted
      if (!inserted) {
        merge.problems.push_back(
            {CohortProblemKind::duplicate, b.session,
             fmt::format("{} is claimed by {} and by {}", b.session, it->second.origin, b.origin)});
        merge.refused = true;
      }
    }
  }
  std::vector<SessionBlock> out;
  for (auto& [path, block] : by_path) out.push_back(std::move(block));
  return out;  // std::map orders by byte-wise path comparison, as analyze's std::sort does
}

// The one value of a field over the sessions, "mixed" for several, `none` for no session.
std::string common_or_mixed(const std::vector<SessionBlock>& blocks, std::string SessionBlock::*field,
                            const std::string& none) {
  std::set<std::string> values;
  for (const auto& b : blocks) {
    if (!(b.*field).empty()) values.insert(b.*field);
  }
  if (values.size() == 1) return *values.begin();
  return values.empty() ? none : std::string("mixed");
}

std::string merged_csv(const std::vector<SessionBlock>& blocks, ShardMethod method, bool complete) {
  std::string out = summary_csv_header();
  std::size_t bytes = out.size() + 1024;
  for (const SessionBlock& b : blocks) bytes += b.text.size();
  out.reserve(bytes);
  BatchTotals totals;
  for (const SessionBlock& b : blocks) {
    out += b.text;
    totals.analysed += b.ok ? 1 : 0;
  }
  totals.files = blocks.size();
  totals.complete = complete;
  totals.shard.method = method;
  totals.software_version = common_or_mixed(blocks, &SessionBlock::software_version, software_version());
  totals.settings_hash = common_or_mixed(blocks, &SessionBlock::settings_hash, "NA");
  return out + summary_csv_batch_row(totals);
}

}  // namespace

bool split_csv_record(std::string_view line, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted_field = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted_field) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted_field = false;
      }
    } else if (c == '"' && field.empty()) {
      quoted_field = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(std::move(field));
  return !quoted_field;
}

std::string_view to_string(CohortProblemKind kind) noexcept {
  switch (kind) {
    case CohortProblemKind::missing:
      return "missing";
    case CohortProblemKind::truncated:
      return "truncated";
    case CohortProblemKind::foreign:
      return "foreign";
    case CohortProblemKind::mixed:
      return "mixed";
    case CohortProblemKind::duplicate:
      return "duplicate";
    case CohortProblemKind::failed:
      return "failed";
  }
  return "?";
}

CohortMerge merge_cohort(const std::vector<std::string>& shard_outputs, const CohortOptions& options) {
  CohortMerge merge;
  std::vector<ShardOutput> shards;
  std::set<std::string> seen;
  for (const std::string& path : shard_outputs) {
    if (!seen.insert(path).second) continue;  // the same output named twice is one output
    shards.push_back(read_shard(path, merge.problems));
  }
  check_uniform(shards, &SessionBlock::software_version, "software versions", merge, options);
  check_uniform(shards, &SessionBlock::settings_hash, "settings (hash of the effective TOML)", merge,
                options);
  check_shard_set(shards, merge, options);
  if (!options.expected_settings_hash.empty()) check_expected_settings(shards, merge, options);
  const bool any_csv = std::any_of(shards.begin(), shards.end(), [](const auto& s) { return s.csv; });
  const ShardMethod method = std::any_of(shards.begin(), shards.end(),
                                         [](const auto& s) { return s.has_batch && s.method == "size"; })
                                 ? ShardMethod::size
                                 : ShardMethod::index;
  std::vector<SessionBlock> csv_blocks = ordered_sessions(shards, true, merge);
  std::vector<SessionBlock> json_blocks = ordered_sessions(shards, false, merge);
  shards.clear();  // the blocks now own the rows: free the rest before assembling the output
  const std::vector<SessionBlock>& counted = any_csv ? csv_blocks : json_blocks;
  for (const SessionBlock& b : counted) {
    if (b.ok) {
      ++merge.analysed;
    } else {
      ++merge.failed;
      merge.problems.push_back({CohortProblemKind::failed, b.session,
                                b.error.empty() ? fmt::format("{}: analysis failed", b.session) : b.error});
    }
  }
  if (merge.refused) {
    merge.sessions = any_csv ? std::move(csv_blocks) : std::move(json_blocks);
    return merge;
  }
  const bool complete =
      std::none_of(merge.problems.begin(), merge.problems.end(), [](const CohortProblem& p) {
        return p.kind == CohortProblemKind::missing || p.kind == CohortProblemKind::truncated ||
               p.kind == CohortProblemKind::foreign;
      });
  if (any_csv) merge.csv = merged_csv(csv_blocks, method, complete);
  for (const SessionBlock& b : json_blocks) merge.json += b.text;
  merge.sessions = any_csv ? std::move(csv_blocks) : std::move(json_blocks);
  return merge;
}

void write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fmt::format("{}: cannot write", path));
    out << text;
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw std::runtime_error(fmt::format("{}: write failed (disk full?)", path));
    }
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace glutescope::pipeline
