#include "pipeline/analysis_batch.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include <fmt/core.h>

#include "pipeline/analysis_file.hpp"

namespace glutescope::pipeline {
namespace {

std::string num(double v) { return std::isfinite(v) ? fmt::format("{}", v) : std::string("NA"); }

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Shard parse_shard(const std::string& text) {
  unsigned k = 0, n = 0;
  char slash = 0;
  char extra = 0;
  if (std::sscanf(text.c_str(), "%u%c%u%c", &k, &slash, &n, &extra) != 3 || slash != '/' || n == 0 || k == 0 ||
      k > n) {
    throw ConfigError(fmt::format("--shard {}: expected k/N with 1 <= k <= N (e.g. 3/10)", text));
  }
  return Shard{k, n};
}

std::vector<std::string> select_shard(std::vector<std::string> files, const Shard& shard) {
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < files.size(); ++i) {
    if (i % shard.count == shard.index - 1) out.push_back(files[i]);
  }
  return out;
}

std::string summary_csv_header() {
  return "file,subject_id,input_hash,level,set,exercise,rep,start_s,end_s,duration_s,rom_deg,partial,"
         "amplitude_unit,glute,lumbar,hamstring,tfl,glute_lumbar_ratio,verdict,normalisation,mode\n";
}

std::string summary_csv_rows(const AnalysisResult& r) {
  std::string out;
  const std::string head = fmt::format("{},{},{}", quoted(r.source), quoted(r.subject_id), r.input_hash);
  const std::string tail = fmt::format("{},{}", r.normalisation, r.mode);
  for (const RepResult& x : r.reps) {
    out += fmt::format("{},rep,{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", head, x.set_index + 1,
                       to_string(x.exercise), x.rep_index + 1, num(x.start_s), num(x.end_s), num(x.end_s - x.start_s),
                       num(x.rom_deg), x.partial ? "TRUE" : "FALSE", r.amplitude_unit, num(x.glute), num(x.lumbar),
                       num(x.hamstring), num(x.tfl), num(x.glute_lumbar_ratio), to_string(x.verdict), tail);
  }
  for (const SetResult& s : r.sets) {
    // Set rows: amplitudes are not repeated (NA); the ratio is the ratio of the set's mean amplitudes.
    out += fmt::format("{},set,{},{},NA,{},{},{},NA,NA,{},NA,NA,NA,NA,{},{},{}\n", head, s.set_index + 1,
                       to_string(s.exercise), num(s.start_s), num(s.end_s), num(s.end_s - s.start_s),
                       r.amplitude_unit, num(s.ratio_of_means), to_string(s.verdict), tail);
  }
  return out;
}

AnalysisResult analyse_file(const std::string& path, const AnalysisPipelineSettings& settings) {
  try {
    const SessionData session = load_session(path);
    AnalysisResult result = analyse(session, settings);
    write_analysis_file(result, analysis_path_for(path));
    return result;
  } catch (const std::exception& e) {
    const std::string what = e.what();
    // Store errors already name the path; others get it prefixed.
    throw std::runtime_error(what.find(path) != std::string::npos ? what : fmt::format("{}: {}", path, what));
  }
}

std::vector<FileOutcome> run_batch(const BatchOptions& options) {
  const std::vector<std::string> files = select_shard(options.files, options.shard);
  std::vector<FileOutcome> outcomes(files.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < files.size(); i = next++) {
      FileOutcome& o = outcomes[i];
      o.file = files[i];
      try {
        const AnalysisResult r = analyse_file(files[i], options.settings);
        o.ok = true;
        o.output = analysis_path_for(files[i]).string();
        o.sets = r.sets.size();
        o.reps = r.reps.size();
        o.csv_rows = summary_csv_rows(r);
      } catch (const std::exception& e) {
        o.error = e.what();
      }
      ++done;
    }
  };
  const unsigned jobs = std::max(1u, std::min<unsigned>(options.jobs, static_cast<unsigned>(std::max<std::size_t>(files.size(), 1))));
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
      if (!out) throw std::runtime_error(fmt::format("{}: cannot write the summary CSV", options.summary_csv));
      out << summary_csv_header();
      for (const FileOutcome& o : outcomes) out << o.csv_rows;
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
