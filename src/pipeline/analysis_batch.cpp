#include "pipeline/analysis_batch.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <new>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

#include <fmt/core.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "exercise/emg_conditioning.hpp"
#include "pipeline/analysis_file.hpp"
#include "store/hdf5_watchdog.hpp"
#include "store/import_motion.hpp"

namespace glutescope::pipeline {
namespace {

std::string num(double v) { return csv_number(v); }

}  // namespace

std::string csv_number(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("NA"); }

std::string csv_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Shard parse_shard(const std::string& text) {
  unsigned k = 0, n = 0;
  char slash = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u%c%u%c", &k, &slash, &n, &extra) != 3 || slash != '/' || n == 0 ||
      k == 0 || k > n) {
    throw ConfigError(fmt::format("--shard {}: expected k/N with 1 <= k <= N (e.g. 3/10)", text));
  }
  return Shard{k, n};
}

ShardMethod parse_shard_method(const std::string& text) {
  if (text == "index") return ShardMethod::index;
  if (text == "size") return ShardMethod::size;
  throw ConfigError(fmt::format("--shard-by {}: expected index or size", text));
}

std::string_view to_string(ShardMethod method) noexcept {
  return method == ShardMethod::size ? "size" : "index";
}

std::vector<std::string> select_shard(std::vector<std::string> files, const Shard& shard) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<std::string> out;
  if (shard.method == ShardMethod::index) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (i % shard.count == shard.index - 1) out.push_back(files[i]);
    }
    return out;
  }
  // Longest-processing-time-first (Graham 1969): analysis time grows with the samples, i.e. the file size.
  // Every shard computes the same assignment from the same sizes, so the shards stay disjoint.
  std::vector<std::pair<std::uintmax_t, std::size_t>> by_size;  // (bytes, index in sorted files)
  for (std::size_t i = 0; i < files.size(); ++i) {
    std::error_code ec;
    const std::uintmax_t bytes = std::filesystem::file_size(files[i], ec);
    by_size.emplace_back(ec ? 0 : bytes, i);
  }
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::uintmax_t> load(shard.count, 0);
  std::vector<bool> mine(files.size(), false);
  for (const auto& [bytes, i] : by_size) {
    const auto least = static_cast<std::size_t>(std::min_element(load.begin(), load.end()) - load.begin());
    load[least] += bytes;
    mine[i] = least == shard.index - 1;
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (mine[i]) out.push_back(files[i]);
  }
  return out;
}

std::string settings_hash(const std::string& settings_toml) {
  const auto crc = crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(settings_toml.data()),
                         static_cast<uInt>(settings_toml.size()));
  return fmt::format("crc32:{:08x}-bytes:{}", crc, settings_toml.size());
}

std::string software_version() { return std::string("glutescope ") + GLUTESCOPE_VERSION; }

namespace {

// Fixed per-muscle column groups (the same header for every montage; NA where a session lacks the electrode).
struct MuscleColumn {
  Muscle muscle;
  Side side;
  const char* prefix;
};
constexpr MuscleColumn kMuscleColumns[] = {
    {Muscle::gluteus_maximus, Side::left, "gmax_l"},     {Muscle::gluteus_maximus, Side::right, "gmax_r"},
    {Muscle::gluteus_medius, Side::left, "gmed_l"},      {Muscle::gluteus_medius, Side::right, "gmed_r"},
    {Muscle::erector_spinae_lumbar, Side::left, "es_l"}, {Muscle::erector_spinae_lumbar, Side::right, "es_r"},
    {Muscle::biceps_femoris, Side::left, "bf_l"},        {Muscle::biceps_femoris, Side::right, "bf_r"},
    {Muscle::tensor_fasciae_latae, Side::left, "tfl_l"}, {Muscle::tensor_fasciae_latae, Side::right, "tfl_r"},
};
// Per-muscle columns. onset_state (rep rows; NA on set rows) says what the onset search found (issue 14:
// "already_active" is neither an onset nor a miss); onset_baseline_contrast_db (set rows; NA on rep rows)
// is the set's rest-to-active contrast (exercise/onset_baseline.hpp).
constexpr const char* kChannelQuantities[] = {
    "onset_rel_ms", "onset_state",           "mean_pct",
    "peak_pct",     "mdf_trend_pct_per_rep", "onset_baseline_contrast_db"};

std::string ratios(const exercise::SideRatios& r) {
  return fmt::format("{},{},{},{}", num(r.per_side[0]), num(r.per_side[1]), num(r.ratio_of_means),
                     num(r.mean_of_ratios));
}

}  // namespace

std::string summary_csv_header() {
  std::string h =
      "file,subject_id,input_hash,level,set,exercise,set_status,working_side,normalisation,rep,start_s,end_s,"
      "duration_s,rom_deg,partial,valid,invalid_reason,reps,valid_reps,"
      "gmax_to_es_left,gmax_to_es_right,gmax_to_es_ratio_of_means,gmax_to_es_mean_of_ratios,"
      "gmed_to_es_left,gmed_to_es_right,gmed_to_es_ratio_of_means,gmed_to_es_mean_of_ratios,"
      "gmax_to_es_mean_of_rep_ratios,gmed_to_es_mean_of_rep_ratios,gmax_symmetry_pct,gmed_symmetry_pct";
  for (auto v : exercise::kVerdictNames) h += fmt::format(",{0},{0}_value,{0}_reason", v);
  h += ",clinician_line,firing_order";
  for (const MuscleColumn& m : kMuscleColumns) {
    for (const char* q : kChannelQuantities) h += fmt::format(",{}_{}", m.prefix, q);
  }
  return h + ",mode,session_start_time,software_version,settings_hash\n";
}

const std::vector<std::string>& summary_csv_columns() {
  static const std::vector<std::string> columns = [] {
    std::string h = summary_csv_header();
    h.back() = ',';  // each name ends with ','
    std::vector<std::string> c;
    for (std::size_t p = 0, q; (q = h.find(',', p)) != std::string::npos; p = q + 1)
      c.push_back(h.substr(p, q - p));
    return c;
  }();
  return columns;
}

namespace {

// Per-channel columns of one rep (or of a set summary) in kMuscleColumns order; value(channel, quantity).
template <typename Value>
std::string channel_cols(const Montage& montage, Value value) {
  std::string cols;
  for (const MuscleColumn& mc : kMuscleColumns) {
    const auto c = montage.find(mc.muscle, mc.side);
    for (std::size_t q = 0; q < std::size(kChannelQuantities); ++q) {
      cols += ',';
      cols += c ? value(*c, q) : std::string("NA");
    }
  }
  return cols;
}

// One rep's columns after the session's leading ones (`set_cols`: the set's), before the trailing ones.
std::string rep_csv_columns(const AnalysisResult& r, const std::string& set_cols,
                            const exercise::RepScore& x) {
  std::string out = fmt::format(",rep,{},{},{},{},{},{},{},{},{},NA,NA,{},{},NA,NA,NA,NA", set_cols,
                                x.index + 1, num(x.start_s), num(x.end_s), num(x.end_s - x.start_s),
                                num(x.rom_deg), x.partial ? "TRUE" : "FALSE", x.valid ? "TRUE" : "FALSE",
                                csv_quoted(x.invalid_reason), ratios(x.gmax_to_es), ratios(x.gmed_to_es));
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    const exercise::Verdict& vd = exercise::verdict_at(x.verdicts, v);
    out += fmt::format(",{},{},{}", to_string(vd.state), num(vd.value), csv_quoted(vd.reason));
  }
  std::string order;
  for (std::size_t c : x.firing_order) {
    if (!order.empty()) order += '>';
    order += r.montage.emg.at(c).label;
  }
  out += fmt::format(",{},{}", csv_quoted(x.summary), csv_quoted(order));
  out += channel_cols(r.montage, [&](std::size_t c, std::size_t q) {
    if (c >= x.channels.size()) return std::string("NA");
    const exercise::ChannelRepScore& cs = x.channels[c];
    const std::string values[] = {num(cs.onset_rel_ms),
                                  std::string(to_string(cs.onset_state)),
                                  num(cs.mean_pct),
                                  num(cs.peak_pct),
                                  "NA",
                                  "NA"};
    return values[q];
  });
  return out;
}

// A set's row: medians over the valid reps, set-level ratios, symmetry, fatigue trends; verdict columns hold
// the counts "yes/no/not_available/invalid".
std::string set_csv_columns(const AnalysisResult& r, const std::string& set_cols,
                            const exercise::SetAnalysis& s) {
  const exercise::SetSummary& m = s.summary;
  std::string out = fmt::format(
      ",set,{},NA,{},{},{},NA,NA,NA,{},{},{},{},{},{},{},{},{}", set_cols, num(s.start_s), num(s.stop_s),
      num(s.stop_s - s.start_s), csv_quoted(s.status_message), m.reps, m.valid_reps, ratios(m.gmax_to_es),
      ratios(m.gmed_to_es), num(m.gmax_to_es_mean_of_rep_ratios), num(m.gmed_to_es_mean_of_rep_ratios),
      num(m.gmax_symmetry_pct), num(m.gmed_symmetry_pct));
  for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
    const exercise::VerdictCounts& c = m.verdicts[v];
    out += fmt::format(",{}/{}/{}/{},NA,", c.yes, c.no, c.not_available, c.invalid);
  }
  out += fmt::format(",{},", csv_quoted(set_verdict_line(s)));
  out += channel_cols(r.montage, [&](std::size_t c, std::size_t q) {
    auto at = [c](const std::vector<double>& v) {
      return c < v.size() ? v[c] : std::numeric_limits<double>::quiet_NaN();
    };
    const double contrast = c < s.onset_baseline.size() ? s.onset_baseline[c].contrast_db
                                                        : std::numeric_limits<double>::quiet_NaN();
    const std::string values[] = {num(at(m.median_onset_rel_ms)),
                                  "NA",
                                  num(at(m.median_mean_pct)),
                                  num(at(m.median_peak_pct)),
                                  num(at(m.median_frequency_trend_pct_per_rep)),
                                  num(contrast)};
    return values[q];
  });
  return out;
}

}  // namespace

std::string summary_csv_rows(const AnalysisResult& r) {
  std::string out;
  const std::string head =
      fmt::format("{},{},{}", csv_quoted(r.source), csv_quoted(r.subject_id), r.input_hash);
  const std::string tail = fmt::format(",{},{},{},{}\n", r.mode, csv_quoted(r.session_start_time),
                                       csv_quoted(r.software_version), settings_hash(r.settings_toml));
  for (std::size_t si = 0; si < r.analysis.sets.size(); ++si) {
    const exercise::SetAnalysis& s = r.analysis.sets[si];
    const std::string set_cols =
        fmt::format("{},{},{},{},{}", si + 1, to_string(s.exercise), to_string(s.status),
                    to_string(s.working_side), to_string(s.normalisation.kind));
    for (const exercise::RepScore& x : s.reps)
      out.append(head).append(rep_csv_columns(r, set_cols, x)).append(tail);
    out.append(head).append(set_csv_columns(r, set_cols, s)).append(tail);
  }
  return out;
}

namespace {

// A row with every column NA except `values` (column name -> already formatted cell).
std::string row_with(const std::vector<std::pair<std::string_view, std::string>>& values) {
  const std::vector<std::string>& columns = summary_csv_columns();
  std::string out;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    if (i > 0) out += ',';
    const auto v =
        std::find_if(values.begin(), values.end(), [&](const auto& kv) { return kv.first == columns[i]; });
    out += v == values.end() ? std::string("NA") : v->second;
  }
  return out + '\n';
}

}  // namespace

std::string summary_csv_file_row(const FileOutcome& o, const AnalysisResult* r, const std::string& hash) {
  std::size_t valid = 0;
  if (r != nullptr) {
    for (const auto& s : r->analysis.sets) {
      valid += static_cast<std::size_t>(
          std::count_if(s.reps.begin(), s.reps.end(), [](const auto& x) { return x.valid; }));
    }
  }
  return row_with({{"file", csv_quoted(o.file)},
                   {"subject_id", csv_quoted(r != nullptr ? r->subject_id : std::string())},
                   {"input_hash", r != nullptr ? r->input_hash : std::string("NA")},
                   {"level", "file"},
                   {"set", r != nullptr ? std::to_string(r->analysis.sets.size()) : std::string("NA")},
                   {"set_status", o.ok ? "ok" : "failed"},
                   {"invalid_reason", csv_quoted(o.error)},
                   {"reps", r != nullptr ? std::to_string(r->rep_count()) : std::string("NA")},
                   {"valid_reps", r != nullptr ? std::to_string(valid) : std::string("NA")},
                   {"mode", r != nullptr ? r->mode : std::string("NA")},
                   {"session_start_time", csv_quoted(r != nullptr ? r->session_start_time : std::string())},
                   {"software_version", csv_quoted(software_version())},
                   {"settings_hash", hash}});
}

std::string summary_csv_batch_row(const BatchTotals& t) {
  return row_with({{"file", "\"\""},
                   {"subject_id", "\"\""},
                   {"level", "batch"},
                   {"set_status", t.complete ? "complete" : "incomplete"},
                   {"invalid_reason", csv_quoted(fmt::format("shard {}/{} by {}", t.shard.index,
                                                             t.shard.count, to_string(t.shard.method)))},
                   {"reps", std::to_string(t.files)},
                   {"valid_reps", std::to_string(t.analysed)},
                   {"session_start_time", "\"\""},
                   {"software_version", csv_quoted(t.software_version)},
                   {"settings_hash", t.settings_hash}});
}

std::string outcome_json_line(const FileOutcome& o) {
  nlohmann::json j{{"file", o.file}, {"ok", o.ok}};
  if (o.ok) {
    j["output"] = o.output;
    j["sets"] = o.sets;
    j["reps"] = o.reps;
    j["analysis"] = nlohmann::json::parse(o.json);
  } else {
    j["error"] = o.error;
    j["software_version"] = software_version();
  }
  return j.dump();
}

void add_bids_events(LoadedSession& session, const std::filesystem::path& events_tsv) {
  exercise::SessionData& d = session.data;
  const double rate = d.device.emg_rate_hz;
  const double end_s = rate > 0.0 ? static_cast<double>(d.emg_samples()) / rate : 0.0;
  std::vector<Event> added = store::read_bids_events(events_tsv, end_s);
  d.events.insert(d.events.end(), std::make_move_iterator(added.begin()),
                  std::make_move_iterator(added.end()));
  std::stable_sort(d.events.begin(), d.events.end(),
                   [](const Event& a, const Event& b) { return a.time_s < b.time_s; });
}

AnalysisResult analyse_file(const std::string& path, const AnalysisPipelineSettings& settings,
                            const std::filesystem::path& events_tsv) {
  try {
    LoadedSession session = load_session(path);
    if (!events_tsv.empty()) add_bids_events(session, events_tsv);
    AnalysisResult result = analyse(session, settings);
    if (!events_tsv.empty())
      result.analysis.warnings.push_back(
          fmt::format("events from {} added to the session's own (analyze --events)", events_tsv.string()));
    write_analysis_file(result, analysis_path_for(path));
    return result;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // Store errors already name the path; others get it prefixed.
    throw std::runtime_error(what.find(path) != std::string::npos ? what : fmt::format("{}: {}", path, what));
  }
}

FileOutcome analyse_one_outcome(const std::string& path, const AnalysisPipelineSettings& settings, bool json,
                                const std::filesystem::path& events_tsv) {
  FileOutcome o;
  o.file = path;
  const std::string hash = settings_hash(to_toml(settings));
  try {
    const AnalysisResult r = analyse_file(path, settings, events_tsv);
    o.ok = true;
    o.output = analysis_path_for(path).string();
    o.sets = r.analysis.sets.size();
    o.reps = r.rep_count();
    o.warnings = r.analysis.warnings;
    o.csv_rows = summary_csv_file_row(o, &r, hash) + summary_csv_rows(r);
    if (json) o.json = to_json(r).dump();
  } catch (const std::bad_alloc&) {
    o.error = fmt::format("{}: out of memory while analysing (file too large for the memory limit?)", path);
  } catch (const std::exception& e) {
    o.error = e.what();
  }
  if (!o.ok) o.csv_rows = summary_csv_file_row(o, nullptr, hash);
  return o;
}

std::string outcome_to_json(const FileOutcome& o) {
  return nlohmann::json{
      {"ok", o.ok},     {"error", o.error},       {"output", o.output},     {"sets", o.sets},
      {"reps", o.reps}, {"warnings", o.warnings}, {"csv_rows", o.csv_rows}, {"json", o.json}}
      .dump();
}

std::size_t analysis_threads(unsigned jobs) {
  static_assert(kMaxAnalysisThreads == exercise::kConditioningGroupChannels);
  cpu_set_t set;
  CPU_ZERO(&set);
  const int cpus = ::sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
  const std::size_t share = static_cast<std::size_t>(std::max(cpus, 1)) / std::max(jobs, 1U);
  return std::clamp<std::size_t>(share, 1, kMaxAnalysisThreads);
}

namespace {

// Reads everything the child writes to `fd` until EOF or the deadline; false on timeout.
bool read_until_eof(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buffer[65536];
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return true;
    out.append(buffer, static_cast<std::size_t>(n));
  }
}

// Analyses `path` in a child process under the watchdog's limits (see FileWatchdog).
FileOutcome analyse_in_child(const std::string& path, const BatchOptions& options) {
  const FileWatchdog& w = *options.watchdog;
  FileOutcome o;
  o.file = path;
  std::vector<std::string> args = {w.executable};
  if (w.verbose) args.emplace_back("--verbose");
  args.insert(args.end(), {"analyze-one", "--memory-limit-bytes", std::to_string(w.memory_bytes)});
  if (w.threads > 1) args.insert(args.end(), {"--threads", std::to_string(w.threads)});
  if (!w.settings_path.empty()) args.insert(args.end(), {"--config", w.settings_path});
  if (!w.exercise.empty()) args.insert(args.end(), {"--exercise", w.exercise});
  if (!w.events_tsv.empty()) args.insert(args.end(), {"--events", w.events_tsv});
  if (options.json) args.emplace_back("--json");
  args.insert(args.end(), {"--", path});
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    o.error = fmt::format("{}: cannot start the analysis process: {}", path, std::strerror(errno));
    return o;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  // The child reports through its JSON line; what a crashing library prints goes nowhere.
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, w.executable.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  if (spawned != 0) {
    ::close(pipe_fds[0]);
    o.error = fmt::format("{}: cannot start the analysis process: {}", path, std::strerror(spawned));
    return o;
  }
  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(w.timeout_s);
  const bool finished = read_until_eof(
      pipe_fds[0], reply, std::chrono::time_point_cast<std::chrono::steady_clock::duration>(deadline));
  ::close(pipe_fds[0]);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) {
    o.error =
        fmt::format("{}: analysis stopped after {:g} s without finishing (damaged file?)", path, w.timeout_s);
  } else if (WIFSIGNALED(status)) {
    o.error = fmt::format("{}: analysis crashed (signal {}, {}): damaged file?", path, WTERMSIG(status),
                          ::strsignal(WTERMSIG(status)));
  } else if (reply.empty() && WIFEXITED(status) && WEXITSTATUS(status) == store::kHdf5StallExitStatus) {
    // The child's HDF5 watchdog (store/hdf5_watchdog.hpp) gave up on a read that did not return.
    o.error = fmt::format("{}: HDF5 did not return while reading the file (damaged file?)", path);
  } else if (reply.empty() && WIFEXITED(status) && WEXITSTATUS(status) == store::kHdf5FaultExitStatus) {
    o.error =
        fmt::format("{}: reading the file stopped with a fault inside the HDF5 reader (damaged file?)", path);
  } else {
    try {
      const auto j = nlohmann::json::parse(reply);
      o.ok = j.at("ok").get<bool>();
      o.error = j.at("error").get<std::string>();
      o.output = j.at("output").get<std::string>();
      o.sets = j.at("sets").get<std::size_t>();
      o.reps = j.at("reps").get<std::size_t>();
      o.warnings = j.at("warnings").get<std::vector<std::string>>();
      o.csv_rows = j.at("csv_rows").get<std::string>();
      o.json = j.at("json").get<std::string>();
    } catch (const std::exception&) {
      o.ok = false;
      o.error = fmt::format("{}: analysis process ended (exit status {}) without a result", path,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
  }
  // A child that timed out, crashed or gave no result still gets its file row (a merge must see it).
  if (!o.ok && o.csv_rows.empty())
    o.csv_rows = summary_csv_file_row(o, nullptr, settings_hash(to_toml(options.settings)));
  return o;
}

}  // namespace

std::vector<FileOutcome> run_batch(const BatchOptions& options) {
  const std::vector<std::string> files = select_shard(options.files, options.shard);
  std::vector<FileOutcome> outcomes(files.size());
  const std::string hash = settings_hash(to_toml(options.settings));
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      outcomes[i] = options.watchdog
                        ? analyse_in_child(files[i], options)
                        : analyse_one_outcome(files[i], options.settings, options.json, options.events_tsv);
      ++done;
    }
  };
  const unsigned jobs = std::max(
      1u, std::min<unsigned>(options.jobs, static_cast<unsigned>(std::max<std::size_t>(files.size(), 1))));
  std::vector<std::thread> pool;
  for (unsigned j = 0; j < jobs; ++j) pool.emplace_back(worker);
  if (options.progress && options.log != nullptr) {
    std::size_t shown = static_cast<std::size_t>(-1);
    while (true) {
      const std::size_t d = done.load();
      if (d != shown) {
        shown = d;
        const std::size_t width = 30;
        const std::size_t filled = files.empty() ? width : d * width / files.size();
        fmt::print(options.log, "\ranalysing [{}{}] {}/{} files", std::string(filled, '#'),
                   std::string(width - filled, ' '), d, files.size());
        std::fflush(options.log);
      }
      if (d == files.size()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    fmt::print(options.log, "\n");
  }
  for (std::thread& t : pool) t.join();

  if (!options.summary_csv.empty()) {
    const std::string tmp = fmt::format("{}.tmp-{}", options.summary_csv, ::getpid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out)
        throw std::runtime_error(fmt::format("{}: cannot write the summary CSV", options.summary_csv));
      out << summary_csv_header();
      BatchTotals totals{outcomes.size(), 0, options.shard, true, software_version(), hash};
      for (const FileOutcome& o : outcomes) {
        out << o.csv_rows;
        totals.analysed += o.ok ? 1 : 0;
      }
      out << summary_csv_batch_row(totals);
      out.flush();
      if (!out) {
        std::filesystem::remove(tmp);
        throw std::runtime_error(fmt::format("{}: write failed (disk full?)", options.summary_csv));
      }
    }
    std::filesystem::rename(tmp, options.summary_csv);
  }
  return outcomes;
}

}  // namespace glutescope::pipeline
