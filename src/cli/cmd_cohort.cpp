// glutescope cohort: merges `analyze --shard k/N` outputs into one cohort output and, optionally, the
// per-subject longitudinal view (pipeline/cohort.hpp, pipeline/longitudinal.hpp, docs/SCALING.md).
// Exit status: 0 merged, nothing wrong; 2 merged the rest, some problem listed (missing, truncated,
// foreign shard outputs, failed sessions); 1 refused (mixed versions/settings, duplicate sessions) or bad
// usage: nothing written.
#include <cstdio>
#include <map>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/cohort.hpp"
#include "pipeline/longitudinal.hpp"
#include "store/hdf5_watchdog.hpp"

namespace glutescope::cli {

void add_cohort_command(CLI::App& app, int& exit_status) {
  struct Args {
    std::vector<std::string> inputs;
    std::string config, summary, json, longitudinal, trends, html;
    bool allow_mixed = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "cohort",
      "Merge the shard outputs of analyze --shard k/N (summary CSVs, --json lines) into one cohort output, "
      "byte-identical to one run; optionally each subject's sessions over time (docs/SCALING.md)");
  cmd->add_option("inputs", a->inputs, "Shard outputs: summary CSVs and/or saved --json lines")->required();
  cmd->add_option("--summary", a->summary, "Write the merged summary CSV here");
  cmd->add_option("--json-lines", a->json, "Write the merged --json lines here");
  cmd->add_option("--config", a->config,
                  "Analysis settings TOML the shards must have used (refuses others unless --allow-mixed)");
  cmd->add_flag("--allow-mixed", a->allow_mixed,
                "Merge outputs of different software versions or settings anyway (still listed)");
  cmd->add_option("--longitudinal", a->longitudinal,
                  "Write the tidy per-subject timeline CSV (per set and per rep figures by session date)");
  cmd->add_option("--trends", a->trends,
                  "Write one trend per subject, exercise and figure (Theil-Sen) as CSV");
  cmd->add_option("--html", a->html, "Write the self-contained timeline page (inline SVG, no scripts)");
  cmd->callback([a, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    pipeline::CohortOptions options;
    options.allow_mixed = a->allow_mixed;
    if (!a->config.empty()) {
      try {
        options.expected_settings_hash =
            pipeline::settings_hash(pipeline::to_toml(pipeline::load_analysis_settings(a->config)));
      } catch (const pipeline::ConfigError& e) {
        throw UserError(e.what(), 1);
      }
    }
    const pipeline::CohortMerge merge = pipeline::merge_cohort(a->inputs, options);
    // One line per problem, at most kShownPerKind of each kind (a wrong split can make thousands).
    constexpr std::size_t kShownPerKind = 20;
    std::map<pipeline::CohortProblemKind, std::size_t> counts;
    for (const auto& p : merge.problems) {
      if (++counts[p.kind] <= kShownPerKind)
        fmt::print(stderr, "glutescope cohort: {}: {}\n", to_string(p.kind), p.message);
    }
    for (const auto& [kind, n] : counts) {
      if (n > kShownPerKind)
        fmt::print(stderr, "glutescope cohort: {}: ... and {} more\n", to_string(kind), n - kShownPerKind);
    }
    std::string tally;
    for (const auto& [kind, n] : counts)
      tally += fmt::format("{}{} {}", tally.empty() ? "" : ", ", n, to_string(kind));
    fmt::print(stdout, "{} sessions ({} analysed, {} failed) from {} shard outputs{}{}\n",
               merge.sessions.size(), merge.analysed, merge.failed, a->inputs.size(),
               tally.empty() ? "" : "; problems: ", tally);
    if (merge.refused) throw UserError("merge refused; nothing written", 1);
    try {
      if (!a->summary.empty()) pipeline::write_file_atomically(a->summary, merge.csv);
      if (!a->json.empty()) pipeline::write_file_atomically(a->json, merge.json);
      if (!a->longitudinal.empty() || !a->trends.empty() || !a->html.empty()) {
        if (merge.csv.empty())
          throw UserError("--longitudinal, --trends and --html read summary CSVs; none given", 1);
        const pipeline::LongitudinalView view = pipeline::build_longitudinal(merge.sessions);
        for (const auto& line : view.skipped) fmt::print(stderr, "glutescope cohort: {}\n", line);
        if (!a->longitudinal.empty()) pipeline::write_file_atomically(a->longitudinal, view.tidy_csv);
        if (!a->trends.empty()) pipeline::write_file_atomically(a->trends, view.trends_csv);
        if (!a->html.empty()) pipeline::write_file_atomically(a->html, view.html);
      }
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    std::fflush(stdout);
    exit_status = merge.problems.empty() ? 0 : 2;
  });
}

}  // namespace glutescope::cli
