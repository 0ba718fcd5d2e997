// `glutescope validate`: accuracy of the analysis against the simulator's ground truth. Thin: parses the
// options, calls validation::run_validation and prints its table or JSON (docs/VALIDATION.md).
#include <string>
#include <vector>

#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "pipeline/analysis_settings.hpp"
#include "validation/validation.hpp"

namespace glutescope::cli {

void add_validate_command(CLI::App& app, int& exit_status) {
  struct Options {
    int seeds = 3;
    int first_seed = 101;
    std::vector<double> snr{30.0, 20.0, 15.0, 10.0};
    int jobs = 1;
    int reps = 8;
    bool json = false;
    bool quick = false;
    bool no_mvc = false;
    std::string settings_file;
    std::vector<std::string> motion_sources{"imu"};
    std::vector<std::string> conditions;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "validate",
      "Simulate every scenario of both exercises over seeds, SNRs and contaminants, analyse each run "
      "and print onset error, rep detection, verdict accuracy and angle RMSE against the truth");
  cmd->add_option("--seeds", opt->seeds, "number of seeds per grid cell")->check(CLI::Range(1, 1000));
  cmd->add_option("--first-seed", opt->first_seed, "first seed (seeds first-seed .. first-seed+N-1)");
  cmd->add_option("--snr", opt->snr, "SNR list in dB, e.g. --snr 30,20,15,10")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 60.0));
  cmd->add_option("--jobs,-j", opt->jobs, "Runs analysed in parallel (worker threads)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--reps", opt->reps, "repetitions per simulated set")->check(CLI::Range(1, 200));
  auto* config = cmd->add_option("--config", opt->settings_file,
                                 "Analysis settings TOML (glutescope config --print-defaults)");
  // Old spelling, hidden; kept for one release (docs/CLI.md).
  cmd->add_option("--settings", opt->settings_file, "")->group("")->excludes(config);
  cmd->add_option(
         "--motion-sources", opt->motion_sources,
         "Motion sources to reduce each session to, e.g. imu,accelerometer,angle,events,emg (each runs "
         "the grid; docs/VALIDATION.md)")
      ->delimiter(',')
      ->check(CLI::IsMember({"imu", "accelerometer", "angle", "events", "emg"}));
  cmd->add_option("--conditions", opt->conditions,
                  "Recording conditions to run (default all): standard,slow-short-rests,tonic-background,"
                  "low-amplitude,no-rest-marker")
      ->delimiter(',')
      ->check(CLI::IsMember(
          {"standard", "slow-short-rests", "tonic-background", "low-amplitude", "no-rest-marker"}));
  cmd->add_flag("--json", opt->json, "print the full report as JSON instead of tables");
  cmd->add_flag("--quick", opt->quick, "reduced grid: 2 seeds, SNR 30 and 15 dB, 5 reps");
  cmd->add_flag("--no-mvc", opt->no_mvc,
                "simulate without MVC trials (amplitude verdicts become not available)");
  cmd->callback([opt, &exit_status]() {
    validation::ValidationSettings vs;
    if (!opt->settings_file.empty()) {
      // The same file and parser as analyze/record/report --config; validation uses its scoring tables.
      try {
        vs.analysis = pipeline::load_analysis_settings(opt->settings_file).scoring;
      } catch (const std::exception& e) {
        throw UserError(e.what());
      }
    }
    int seeds = opt->seeds;
    vs.snr_db = opt->snr;
    vs.reps = opt->reps;
    if (opt->quick) {
      seeds = 2;
      vs.snr_db = {30.0, 15.0};
      vs.reps = 5;
    }
    vs.seeds.clear();
    for (int s = 0; s < seeds; ++s) vs.seeds.push_back(static_cast<std::uint64_t>(opt->first_seed + s));
    vs.jobs = opt->jobs;
    vs.mvc_trials = !opt->no_mvc;
    if (!opt->conditions.empty()) {
      vs.conditions.clear();
      for (validation::Condition c : validation::all_conditions()) {
        for (const std::string& name : opt->conditions) {
          if (validation::to_string(c) == name) vs.conditions.push_back(c);
        }
      }
    }
    vs.motion_sources.clear();
    for (const std::string& name : opt->motion_sources) {
      for (auto m :
           {exercise::MotionSource::imu, exercise::MotionSource::accelerometer, exercise::MotionSource::angle,
            exercise::MotionSource::events, exercise::MotionSource::emg}) {
        if (exercise::to_string(m) == name) vs.motion_sources.push_back(m);
      }
    }
    const validation::ValidationReport report = validation::run_validation(vs);
    if (opt->json)
      fmt::print("{}\n", validation::to_json(report).dump(2));
    else
      fmt::print("{}", validation::format_validation_table(report));
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
