// Analysis pipeline against simulator ground truth, with real session files on disk.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <unistd.h>

#include "analysis/sim_session.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_file.hpp"
#include "pipeline/analysis_report.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;
using pipeline::Verdict;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("gs-analysis-{}-{}", name, ::getpid());
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

sim::SimulatorSettings bridge(sim::Scenario scenario, int reps, bool mvc, std::uint64_t seed = 1) {
  sim::SimulatorSettings s;
  s.exercise = Exercise::bridge;
  s.scenario = scenario;
  s.reps = reps;
  s.mvc_trials = mvc;
  s.seed = seed;
  return s;
}

TEST(AnalysisPipeline, FindsTheSimulatedRepsAndTheirTiming) {
  const fs::path dir = temp_dir("reps");
  const auto truth = test::write_simulated_session(dir / "s.h5", bridge(sim::Scenario::good, 6, true));
  const pipeline::AnalysisResult r =
      pipeline::analyse(pipeline::load_session(dir / "s.h5"), pipeline::kDefaultAnalysisPipelineSettings);
  ASSERT_EQ(r.sets.size(), 1u);
  ASSERT_EQ(r.reps.size(), truth.truth.schedule.reps.size());
  EXPECT_EQ(r.normalisation, "mvc");
  for (std::size_t i = 0; i < r.reps.size(); ++i) {
    // Movement onset/end of the simulated rep (device time = session time) within 0.5 s: the segmenter
    // (exercise/rep_segmenter) reports tangent-line boundaries of the filtered angle, measured ~0.45 s off here.
    EXPECT_NEAR(r.reps[i].start_s, truth.truth.schedule.reps[i].start_s, 0.5) << "rep " << i;
    EXPECT_NEAR(r.reps[i].end_s, truth.truth.schedule.reps[i].end_s, 0.5) << "rep " << i;
  }
  fs::remove_all(dir);
}

TEST(AnalysisPipeline, VerdictsFollowTheSimulatedScenario) {
  const fs::path dir = temp_dir("verdicts");
  struct Case {
    sim::Scenario scenario;
    Verdict expected;
  };
  // Scenario truth (tools/simulator/schedule.cpp): good = GMax 40 vs ES 15 %MVIC; lumbar-dominant = 22 vs 42;
  // silent glute = 3 %MVIC; hamstring-dominant = BF 48 vs GMax 20.
  for (const Case c : {Case{sim::Scenario::good, Verdict::glutes_led}, Case{sim::Scenario::lumbar_dominant, Verdict::back_dominant},
                       Case{sim::Scenario::silent_glute, Verdict::glutes_silent},
                       Case{sim::Scenario::hamstring_dominant, Verdict::hamstrings_dominant}}) {
    test::write_simulated_session(dir / "s.h5", bridge(c.scenario, 4, true, 7));
    const auto r = pipeline::analyse(pipeline::load_session(dir / "s.h5"), pipeline::kDefaultAnalysisPipelineSettings);
    ASSERT_EQ(r.reps.size(), 4u) << sim::to_string(c.scenario);
    std::size_t matching = 0;
    for (const auto& rep : r.reps) matching += rep.verdict == c.expected;
    EXPECT_GE(matching, 3u) << sim::to_string(c.scenario);
    EXPECT_EQ(r.sets[0].verdict, c.expected) << sim::to_string(c.scenario);
  }
  fs::remove_all(dir);
}

TEST(AnalysisSettings, DefaultsRoundTripAndStrictKeys) {
  const std::string text = pipeline::to_toml(pipeline::kDefaultAnalysisPipelineSettings);
  EXPECT_EQ(pipeline::to_toml(pipeline::parse_analysis_settings(text, "defaults")), text);
  const auto changed = pipeline::parse_analysis_settings("[emg]\nenvelope_cutoff_hz = 8\n", "x.toml");
  EXPECT_EQ(changed.emg.envelope_cutoff_hz, 8.0);
  try {
    (void)pipeline::parse_analysis_settings("[emg]\ncutoff = 8\n", "x.toml");
    FAIL();
  } catch (const pipeline::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("x.toml: unknown key 'emg.cutoff'"), std::string::npos) << e.what();
  }
  try {
    (void)pipeline::parse_analysis_settings("[scoring]\nmin_glute_pct_mvc = 150\n", "y.toml");
    FAIL();
  } catch (const pipeline::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("y.toml: scoring.min_glute_pct_mvc = 150 is out of range"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)pipeline::parse_analysis_settings("[emg]\nenvelope = \"fancy\"\n", "z"), pipeline::ConfigError);
  EXPECT_THROW((void)pipeline::parse_analysis_settings("[nope]\nx = 1\n", "z"), pipeline::ConfigError);
}

TEST(AnalysisBatch, BitIdenticalAcrossJobsAndRunsAndBadFilesDoNotStopTheBatch) {
  const fs::path dir = temp_dir("batch");
  std::vector<std::string> files;
  for (int i = 0; i < 4; ++i) {
    const fs::path p = dir / fmt::format("s{}.h5", i);
    test::write_simulated_session(p, bridge(i % 2 ? sim::Scenario::lumbar_dominant : sim::Scenario::good, 3, false,
                                            static_cast<std::uint64_t>(i + 1)));
    files.push_back(p.string());
  }
  { std::ofstream(dir / "foreign.h5") << "this is not HDF5"; }
  { std::ofstream(dir / "truncated.h5") << slurp(files[0]).substr(0, 5000); }
  files.push_back((dir / "foreign.h5").string());
  files.push_back((dir / "truncated.h5").string());

  auto run = [&](unsigned jobs, const std::string& csv) {
    pipeline::BatchOptions o;
    o.files = files;
    o.jobs = jobs;
    o.summary_csv = (dir / csv).string();
    o.log = nullptr;
    return pipeline::run_batch(o);
  };
  const auto first = run(1, "one.csv");
  std::vector<std::string> sidecars;
  for (const auto& f : files) sidecars.push_back(fs::exists(pipeline::analysis_path_for(f)) ? slurp(pipeline::analysis_path_for(f)) : "");
  const auto second = run(3, "three.csv");
  ASSERT_EQ(first.size(), 6u);
  std::size_t failed = 0;
  for (std::size_t i = 0; i < second.size(); ++i) {
    if (!second[i].ok) {
      ++failed;
      EXPECT_NE(second[i].error.find(second[i].file), std::string::npos) << second[i].error;
      EXPECT_FALSE(fs::exists(pipeline::analysis_path_for(second[i].file)));
    }
  }
  EXPECT_EQ(failed, 2u);
  EXPECT_EQ(slurp(dir / "one.csv"), slurp(dir / "three.csv"));
  for (std::size_t i = 0; i < files.size(); ++i) {
    const fs::path p = pipeline::analysis_path_for(files[i]);
    if (fs::exists(p)) {
      EXPECT_EQ(slurp(p), sidecars[i]) << p;
    }
  }
  // The CSV: one row per rep and per set, 3 reps + 1 set per good file.
  std::istringstream csv(slurp(dir / "one.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line + "\n", pipeline::summary_csv_header());
  int reps = 0, sets = 0;
  while (std::getline(csv, line)) {
    reps += line.find(",rep,") != std::string::npos;
    sets += line.find(",set,") != std::string::npos;
  }
  EXPECT_EQ(reps, 12);
  EXPECT_EQ(sets, 4);
  fs::remove_all(dir);
}

TEST(AnalysisBatch, ShardsPartitionTheSortedFiles) {
  const std::vector<std::string> files{"d.h5", "a.h5", "c.h5", "b.h5", "e.h5"};
  std::vector<std::string> all;
  for (unsigned k = 1; k <= 2; ++k) {
    for (const auto& f : pipeline::select_shard(files, pipeline::Shard{k, 2})) all.push_back(f);
  }
  EXPECT_EQ(all, (std::vector<std::string>{"a.h5", "c.h5", "e.h5", "b.h5", "d.h5"}));
  EXPECT_THROW((void)pipeline::parse_shard("3/2"), pipeline::ConfigError);
  EXPECT_THROW((void)pipeline::parse_shard("0/2"), pipeline::ConfigError);
  EXPECT_EQ(pipeline::parse_shard("2/5").index, 2u);
}

TEST(AnalysisFile, RoundTripAndReportText) {
  const fs::path dir = temp_dir("file");
  test::write_simulated_session(dir / "s.h5", bridge(sim::Scenario::good, 3, true));
  const auto r = pipeline::analyse_file((dir / "s.h5").string(), pipeline::kDefaultAnalysisPipelineSettings);
  const auto back = pipeline::read_analysis_file(dir / "s.analysis.h5");
  EXPECT_EQ(back.input_hash, r.input_hash);
  EXPECT_EQ(back.settings_toml, r.settings_toml);
  ASSERT_EQ(back.reps.size(), r.reps.size());
  for (std::size_t i = 0; i < r.reps.size(); ++i) {
    EXPECT_EQ(back.reps[i].start_s, r.reps[i].start_s);
    EXPECT_EQ(back.reps[i].verdict, r.reps[i].verdict);
    EXPECT_EQ(back.reps[i].channel_amplitude, r.reps[i].channel_amplitude);
  }
  std::ostringstream out;
  pipeline::print_session_report(dir / "s.h5", out, dir / "r.html");
  const std::string text = out.str();
  EXPECT_NE(text.find("normalisation: %MVC"), std::string::npos) << text;
  EXPECT_NE(text.find("set 1 rep  3"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir / "r.html"));
  // Foreign and newer files are refused with the path in the message.
  { std::ofstream(dir / "x.analysis.h5") << "junk"; }
  try {
    (void)pipeline::read_analysis_file(dir / "x.analysis.h5");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("x.analysis.h5: not an HDF5 file"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
