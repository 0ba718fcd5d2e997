// glutescope analyze: batch reanalysis of saved sessions (pipeline/analysis_batch.hpp, docs/ANALYSIS.md).
// Exit status: 0 all files analysed, 2 some failed (each failure printed on one line), 1 bad usage/config.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_batch.hpp"
#include "store/error_detail.hpp"
#include "store/hdf5_watchdog.hpp"

namespace glutescope::cli {

void add_analyze_command(CLI::App& app, int& exit_status) {
  struct Args {
    std::vector<std::string> files;
    std::string config, summary, shard = "1/1", shard_by = "index", exercise, events;
    unsigned jobs = 1;
    bool json = false;
    double file_timeout_s = 600.0;
    std::uint64_t file_memory_mib = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("analyze",
                                     "Reanalyse saved sessions (raw data untouched): writes FILE.analysis.h5 "
                                     "beside each FILE.h5 (docs/ANALYSIS.md)");
  cmd->add_option("files", a->files, "Session files (.h5)")->required();
  cmd->add_option("--config", a->config, "Analysis settings TOML (glutescope config --print-defaults)");
  cmd->add_option("--exercise", a->exercise,
                  "A session without set markers is one set of bridge, clamshell or other:NAME (default: the "
                  "settings' sets.exercise_without_markers; docs/IMPORT.md)");
  cmd->add_option(
      "--events", a->events,
      "BIDS events TSV (onset, duration, trial_type; as import --events) added to the session before "
      "analysis, in memory only (one session file; docs/IMPORT.md)");
  cmd->add_option("--jobs,-j", a->jobs, "Files analysed in parallel")
      ->capture_default_str()
      ->check(CLI::Range(1u, 256u));
  cmd->add_option("--summary", a->summary,
                  "Write one CSV row per rep and per set (long format) to this file");
  cmd->add_option("--shard", a->shard,
                  "k/N: analyse only the k-th of N deterministic subsets (sorted path index mod N)")
      ->capture_default_str();
  cmd->add_option("--shard-by", a->shard_by,
                  "index (sorted path index mod N) | size (file sizes balanced across the N shards, "
                  "docs/SCALING.md)")
      ->capture_default_str();
  cmd->add_flag("--json", a->json,
                "Print one JSON object per file on stdout instead of text (with the whole analysis: sets, "
                "reps, verdicts)");
  cmd->add_option("--file-timeout", a->file_timeout_s,
                  "Seconds one file may take; a file that takes longer is stopped and reported")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 86400.0));
  cmd->add_option("--file-memory", a->file_memory_mib,
                  "MiB of address space one file's analysis may use (default: physical memory / jobs, at "
                  "least 1024)");
  cmd->callback([a, &exit_status] {
    // No HDF5 watchdog here: each file's child (analyze-one) has its own, and the in-process fallback
    // (no /proc/self/exe) reads files on several threads, which one process-wide watch cannot follow.
    pipeline::BatchOptions options;
    try {
      options.settings = a->config.empty() ? pipeline::kDefaultAnalysisPipelineSettings
                                           : pipeline::load_analysis_settings(a->config);
      if (!a->exercise.empty())
        pipeline::set_exercise_without_markers(options.settings, a->exercise, "--exercise");
      options.shard = pipeline::parse_shard(a->shard);
      options.shard.method = pipeline::parse_shard_method(a->shard_by);
    } catch (const pipeline::ConfigError& e) {
      throw UserError(e.what(), 1);
    }
    if (!a->events.empty() && a->files.size() != 1)
      throw UserError(
          fmt::format("--events: {} session files given; an events table belongs to one", a->files.size()),
          1);
    options.files = a->files;
    options.events_tsv = a->events;
    options.jobs = a->jobs;
    options.settings.threads = pipeline::analysis_threads(a->jobs);
    options.summary_csv = a->summary;
    options.json = a->json;
    options.progress = ::isatty(STDERR_FILENO) != 0;
    // Each file in its own process (pipeline::FileWatchdog): a damaged file costs that file only.
    pipeline::FileWatchdog watchdog;
    std::error_code ec;
    watchdog.executable = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    watchdog.settings_path = a->config;
    watchdog.exercise = a->exercise;
    watchdog.events_tsv = a->events;
    watchdog.timeout_s = a->file_timeout_s;
    watchdog.threads = options.settings.threads;
    const std::uint64_t physical = static_cast<std::uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                                   static_cast<std::uint64_t>(::sysconf(_SC_PAGE_SIZE));
    const std::uint64_t mib =
        a->file_memory_mib != 0
            ? a->file_memory_mib
            : std::max<std::uint64_t>(1024, physical / (1U << 20) / std::max(1u, a->jobs));
    watchdog.memory_bytes = mib << 20;
    watchdog.verbose = store::hdf5_error_detail();
    if (!ec && !watchdog.executable.empty()) options.watchdog = watchdog;
    std::vector<pipeline::FileOutcome> outcomes;
    try {
      outcomes = pipeline::run_batch(options);
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    std::size_t failed = 0;
    for (const auto& o : outcomes) {
      if (!o.ok) ++failed;
      if (a->json) {
        fmt::print(stdout, "{}\n", pipeline::outcome_json_line(o));
      } else if (o.ok) {
        fmt::print(stdout, "{}: {} sets, {} reps -> {}\n", o.file, o.sets, o.reps, o.output);
        for (const std::string& w : o.warnings) fmt::print(stdout, "{}: warning: {}\n", o.file, w);
      }
      if (!o.ok) fmt::print(stderr, "glutescope: {}\n", o.error);
    }
    if (!a->json) {
      fmt::print(stdout, "{} of {} files analysed{}\n", outcomes.size() - failed, outcomes.size(),
                 failed > 0 ? fmt::format(", {} failed", failed) : std::string());
    }
    std::fflush(stdout);
    exit_status = failed > 0 ? 2 : 0;
  });
}

void add_analyze_one_command(CLI::App& app, int& exit_status) {
  struct Args {
    std::string file, config, exercise, events;
    std::uint64_t memory_limit_bytes = 0;
    std::size_t threads = 1;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("analyze-one", "internal: one file of `analyze` in a child process");
  cmd->group("");  // hidden from --help
  cmd->add_option("file", a->file)->required();
  cmd->add_option("--config", a->config);
  cmd->add_option("--exercise", a->exercise);
  cmd->add_option("--events", a->events);
  cmd->add_option("--memory-limit-bytes", a->memory_limit_bytes);
  cmd->add_option("--threads", a->threads)->check(CLI::Range(std::size_t{1}, pipeline::kMaxAnalysisThreads));
  cmd->add_flag("--json", a->json);
  cmd->callback([a, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    if (a->memory_limit_bytes != 0) {
      const rlimit limit{a->memory_limit_bytes, a->memory_limit_bytes};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    pipeline::FileOutcome outcome;
    try {
      auto settings = a->config.empty() ? pipeline::kDefaultAnalysisPipelineSettings
                                        : pipeline::load_analysis_settings(a->config);
      if (!a->exercise.empty()) pipeline::set_exercise_without_markers(settings, a->exercise, "--exercise");
      settings.threads = a->threads;
      outcome = pipeline::analyse_one_outcome(a->file, settings, a->json, a->events);
    } catch (const std::exception& e) {
      outcome.error = e.what();
    }
    const std::string line = pipeline::outcome_to_json(outcome) + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
    // _exit: a damaged file can leave HDF5 unable to close it, and its exit-time cleanup then prints
    // "infinite loop closing library" (the sidecar is already renamed into place, nothing is lost).
    exit_status = 0;
    ::_exit(0);
  });
}

}  // namespace glutescope::cli
