// glutescope cohort: merging analyze --shard outputs (byte identity with one run, every kind of bad shard
// output), --shard-by size, and the longitudinal view (trend against a trend put into the simulation,
// Theil–Sen against scipy, the page in headless Chromium). Real session files, real analyses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <numeric>

#include <fmt/core.h>

#include "analysis/sim_session.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/cohort.hpp"
#include "pipeline/longitudinal.hpp"
#include "support/cli.hpp"
#include "support/files.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;
using pipeline::CohortProblemKind;
using test::slurp;

sim::SimulatorSettings short_bridge(std::uint64_t seed, double glute_scale = 1.0,
                                    sim::Scenario scenario = sim::Scenario::good) {
  sim::SimulatorSettings s;
  s.reps = 3;
  s.mvc_trials = true;
  s.seed = seed;
  s.scenario = scenario;
  s.glute_activation_scale = glute_scale;
  return s;
}

// Six sessions of two subjects (and a foreign file that fails), written once for the merge tests.
class CohortMerge : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(test::make_temp_dir(std::string("glutescope-cohort") + "-" + "merge"));
    files_ = new std::vector<std::string>;
    for (int i = 0; i < 6; ++i) {
      const fs::path p = *dir_ / fmt::format("s{}.h5", i);
      test::write_simulated_session(p, short_bridge(static_cast<std::uint64_t>(i + 1)), i % 2 ? "S2" : "S1",
                                    fmt::format("2024-03-{:02}T09:00:00+01:00", 4 + 7 * (i / 2)));
      files_->push_back(p.string());
    }
    { std::ofstream(*dir_ / "foreign.h5") << "not a session"; }
    files_->push_back((*dir_ / "foreign.h5").string());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
    delete files_;
  }

  // analyze over `files` (shard k/N) into `csv`; returns the --json lines.
  static std::string analyze(
      const std::vector<std::string>& files, pipeline::Shard shard, const std::string& csv,
      const pipeline::AnalysisPipelineSettings& settings = pipeline::kDefaultAnalysisPipelineSettings) {
    pipeline::BatchOptions o;
    o.files = files;
    o.shard = shard;
    o.settings = settings;
    o.summary_csv = (*dir_ / csv).string();
    o.json = true;
    o.log = nullptr;
    std::string lines;
    for (const auto& outcome : pipeline::run_batch(o)) lines += pipeline::outcome_json_line(outcome) + "\n";
    return lines;
  }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  static std::size_t count(const pipeline::CohortMerge& m, CohortProblemKind kind) {
    return static_cast<std::size_t>(std::count_if(m.problems.begin(), m.problems.end(),
                                                  [kind](const auto& p) { return p.kind == kind; }));
  }
  static bool names(const pipeline::CohortMerge& m, CohortProblemKind kind, const std::string& what) {
    return std::any_of(m.problems.begin(), m.problems.end(), [&](const auto& p) {
      return p.kind == kind && p.message.find(what) != std::string::npos;
    });
  }
  static void write(const std::string& name, const std::string& text) {
    std::ofstream(*dir_ / name, std::ios::binary) << text;
  }

  static fs::path* dir_;
  static std::vector<std::string>* files_;
};
fs::path* CohortMerge::dir_ = nullptr;
std::vector<std::string>* CohortMerge::files_ = nullptr;

TEST_F(CohortMerge, ShardsMergeByteIdenticalToOneRunByIndexAndBySize) {
  const std::string one_json = analyze(*files_, {1, 1}, "one.csv");
  const std::string one_csv = slurp(path("one.csv"));
  for (const auto method : {pipeline::ShardMethod::index, pipeline::ShardMethod::size}) {
    std::vector<std::string> outputs;
    std::string json_lines;
    for (unsigned k = 1; k <= 3; ++k) {
      const std::string name = fmt::format("shard-{}-{}.csv", pipeline::to_string(method), k);
      const std::string j = analyze(*files_, {k, 3, method}, name);
      write(name + ".jsonl", j);
      outputs.push_back(path(name));
      outputs.push_back(path(name + ".jsonl"));
    }
    std::reverse(outputs.begin(), outputs.end());  // the order given must not matter
    const pipeline::CohortMerge m = pipeline::merge_cohort(outputs, {});
    EXPECT_FALSE(m.refused);
    if (method == pipeline::ShardMethod::index) {
      EXPECT_EQ(m.csv, one_csv);
    } else {
      // A one-machine run by size says "by size" in its batch row; everything else is the same bytes.
      const std::string one_by_size = analyze(*files_, {1, 1, method}, "one-size.csv");
      EXPECT_EQ(m.csv, slurp(path("one-size.csv")));
      EXPECT_EQ(one_by_size, one_json);
    }
    EXPECT_EQ(m.json, one_json);
    // The foreign file failed in its shard and is named, once (CSV and JSON name the same session).
    EXPECT_EQ(m.failed, 1u);
    EXPECT_EQ(m.analysed, 6u);
    EXPECT_TRUE(names(m, CohortProblemKind::failed, "foreign.h5"));
    EXPECT_EQ(count(m, CohortProblemKind::failed), 1u);
    EXPECT_EQ(m.problems.size(), 1u);
  }
}

TEST_F(CohortMerge, TruncatedShardOutputsAreNamedAndTheRestMerged) {
  analyze(*files_, {1, 2}, "t1.csv");
  analyze(*files_, {2, 2}, "t2.csv");
  const std::string whole = slurp(path("t2.csv"));
  // Cut inside a row, and cut exactly after a session's last row (only the batch row lost).
  write("cut-mid.csv", whole.substr(0, whole.size() / 2));
  write("cut-row.csv", whole.substr(0, whole.rfind("\"\",\"\",NA,batch")));
  for (const char* cut : {"cut-mid.csv", "cut-row.csv"}) {
    const pipeline::CohortMerge m = pipeline::merge_cohort({path("t1.csv"), path(cut)}, {});
    EXPECT_FALSE(m.refused) << cut;
    EXPECT_EQ(count(m, CohortProblemKind::truncated), 1u) << cut;
    EXPECT_TRUE(names(m, CohortProblemKind::truncated, cut));
    // Every session of the complete shard is there; the batch row says the merge is incomplete.
    for (const auto& f : pipeline::select_shard(*files_, {1, 2}))
      EXPECT_NE(m.csv.find(f), std::string::npos) << f;
    EXPECT_NE(m.csv.find(",batch,NA,NA,incomplete,"), std::string::npos) << cut;
    if (std::string(cut) == "cut-mid.csv") {
      EXPECT_LT(m.sessions.size(), files_->size());
    }
  }
}

TEST_F(CohortMerge, CutJsonLinesAreNamed) {
  const std::string lines = analyze(*files_, {1, 2}, "j1.csv");
  write("j1.jsonl", lines.substr(0, lines.size() - 40));
  const pipeline::CohortMerge m = pipeline::merge_cohort({path("j1.jsonl")}, {});
  EXPECT_TRUE(names(m, CohortProblemKind::truncated, path("j1.jsonl") + ": line 4"));
  EXPECT_EQ(m.sessions.size(), 3u);  // the three complete lines
}

TEST_F(CohortMerge, OtherSoftwareVersionIsRefusedUnlessAllowMixed) {
  analyze(*files_, {1, 2}, "v1.csv");
  analyze(*files_, {2, 2}, "v2.csv");
  std::string other = slurp(path("v2.csv"));
  const std::string mine = pipeline::software_version();
  for (std::size_t p = other.find(mine); p != std::string::npos; p = other.find(mine, p + 1)) {
    other.replace(p, mine.size(), "glutescope 0.0.1");
  }
  write("v2-old.csv", other);
  const pipeline::CohortMerge refused = pipeline::merge_cohort({path("v1.csv"), path("v2-old.csv")}, {});
  EXPECT_TRUE(refused.refused);
  EXPECT_TRUE(refused.csv.empty());
  EXPECT_TRUE(names(refused, CohortProblemKind::mixed, "glutescope 0.0.1 in " + path("v2-old.csv")));
  EXPECT_TRUE(names(refused, CohortProblemKind::mixed, mine + " in " + path("v1.csv")));
  pipeline::CohortOptions allow;
  allow.allow_mixed = true;
  const pipeline::CohortMerge mixed = pipeline::merge_cohort({path("v1.csv"), path("v2-old.csv")}, allow);
  EXPECT_FALSE(mixed.refused);
  EXPECT_EQ(mixed.sessions.size(), files_->size());
  EXPECT_NE(mixed.csv.find("\"mixed\""), std::string::npos);  // the batch row says so
}

TEST_F(CohortMerge, OtherSettingsAreRefusedAndNamed) {
  pipeline::AnalysisPipelineSettings changed = pipeline::kDefaultAnalysisPipelineSettings;
  changed.scoring.onset.k_sd = 7.0;
  analyze(*files_, {1, 2}, "c1.csv");
  analyze(*files_, {2, 2}, "c2.csv", changed);
  const pipeline::CohortMerge m = pipeline::merge_cohort({path("c1.csv"), path("c2.csv")}, {});
  EXPECT_TRUE(m.refused);
  EXPECT_TRUE(names(m, CohortProblemKind::mixed, "settings"));
  EXPECT_TRUE(names(m, CohortProblemKind::mixed, path("c2.csv")));
  // --config: the expected settings; the shard made with others is named.
  pipeline::CohortOptions expect;
  expect.expected_settings_hash = pipeline::settings_hash(pipeline::to_toml(changed));
  const pipeline::CohortMerge e = pipeline::merge_cohort({path("c1.csv")}, expect);
  EXPECT_TRUE(e.refused);
  EXPECT_TRUE(names(e, CohortProblemKind::mixed, path("c1.csv")));
}

TEST_F(CohortMerge, TwoShardsClaimingOneSessionAreRefused) {
  analyze(*files_, {1, 2}, "d1.csv");
  analyze(*files_, {1, 3}, "d2.csv");  // another split: foreign.h5 and s5.h5 are in both
  const pipeline::CohortMerge m = pipeline::merge_cohort({path("d1.csv"), path("d2.csv")}, {});
  EXPECT_TRUE(m.refused);
  EXPECT_TRUE(names(m, CohortProblemKind::duplicate, (*files_)[5] + " is claimed"));
  EXPECT_EQ(count(m, CohortProblemKind::duplicate), 2u);
  EXPECT_TRUE(names(m, CohortProblemKind::duplicate, path("d1.csv") + " and by " + path("d2.csv")));
  EXPECT_TRUE(names(m, CohortProblemKind::mixed, "different splits"));
}

TEST_F(CohortMerge, MissingShardsAndVanishedSessionsAreNamedAndCounted) {
  const fs::path vanishing = *dir_ / "vanishing.h5";
  fs::copy_file((*files_)[0], vanishing, fs::copy_options::overwrite_existing);
  std::vector<std::string> files = *files_;
  files.push_back(vanishing.string());
  analyze(files, {1, 3}, "m1.csv");
  fs::remove(vanishing);  // gone after the file list was made, before its shard ran
  analyze(files, {2, 3}, "m2.csv");
  analyze(files, {3, 3}, "m3.csv");
  pipeline::CohortMerge m = pipeline::merge_cohort({path("m1.csv"), path("m2.csv"), path("m3.csv")}, {});
  EXPECT_FALSE(m.refused);
  EXPECT_EQ(m.failed, 2u);  // foreign.h5 and vanishing.h5
  EXPECT_TRUE(names(m, CohortProblemKind::failed, vanishing.string()));
  EXPECT_NE(m.csv.find(",batch,NA,NA,complete,"), std::string::npos);
  m = pipeline::merge_cohort({path("m1.csv"), path("m3.csv"), path("no-such-shard.csv")}, {});
  EXPECT_FALSE(m.refused);
  EXPECT_TRUE(names(m, CohortProblemKind::missing, "shard 2/3 by index: no output given"));
  EXPECT_TRUE(names(m, CohortProblemKind::missing, path("no-such-shard.csv")));
  EXPECT_EQ(count(m, CohortProblemKind::missing), 2u);
  EXPECT_NE(m.csv.find(",batch,NA,NA,incomplete,"), std::string::npos);
}

TEST_F(CohortMerge, ForeignFilesAreNamed) {
  write("notes.txt", "hello\n");
  write("old-header.csv", "file,subject_id,input_hash,level\n\"a.h5\",\"S1\",x,rep\n");
  const pipeline::CohortMerge m = pipeline::merge_cohort({path("notes.txt"), path("old-header.csv")}, {});
  EXPECT_EQ(count(m, CohortProblemKind::foreign), 2u);
  EXPECT_TRUE(names(m, CohortProblemKind::foreign, "other columns"));
}

TEST_F(CohortMerge, CommandExitsTwoWithTheListAndOneWhenRefused) {
  analyze(*files_, {1, 2}, "x1.csv");
  analyze(*files_, {2, 2}, "x2.csv");
  const std::string g = glutescope::test::glutescope_binary();
  const std::string merged = path("x.csv"), err = path("x.err");
  int rc = std::system(fmt::format("{} cohort {} {} --summary {} >/dev/null 2>{}", g, path("x1.csv"),
                                   path("x2.csv"), merged, err)
                           .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);  // foreign.h5 failed
  EXPECT_NE(slurp(err).find("failed: " + path("foreign.h5")), std::string::npos) << slurp(err);
  EXPECT_EQ(slurp(merged), [&] {
    analyze(*files_, {1, 1}, "x-one.csv");
    return slurp(path("x-one.csv"));
  }());
  fs::remove(merged);
  rc = std::system(fmt::format("{} cohort {} {} {} --summary {} >/dev/null 2>{}", g, path("x1.csv"),
                               path("x1.csv"), path("x2.csv"), merged, err)
                       .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 2);  // the same output named twice counts once; still the failed file
  EXPECT_EQ(slurp(err).find("duplicate"), std::string::npos) << slurp(err);
  fs::remove(merged);
  analyze(*files_, {1, 3}, "x3.csv");
  rc = std::system(fmt::format("{} cohort {} {} --summary {} >/dev/null 2>{}", g, path("x1.csv"),
                               path("x3.csv"), merged, err)
                       .c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  EXPECT_NE(slurp(err).find("duplicate: " + (*files_)[5]), std::string::npos) << slurp(err);
  EXPECT_FALSE(fs::exists(merged));
}

TEST(ShardBySize, PartitionsDeterministicallyAndBalancesBytes) {
  const fs::path dir = test::make_temp_dir(std::string("glutescope-cohort") + "-" + "size");
  // Skewed sizes: index mod N puts both large files in one shard.
  const std::vector<std::size_t> sizes{9000, 100, 9000, 100, 100, 100, 5000, 100};
  std::vector<std::string> files;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    const fs::path p = dir / fmt::format("f{}.h5", i);
    std::ofstream(p) << std::string(sizes[i], 'x');
    files.push_back(p.string());
  }
  auto bytes_of = [&](const std::vector<std::string>& shard) {
    std::uintmax_t b = 0;
    for (const auto& f : shard) b += fs::file_size(f);
    return b;
  };
  std::vector<std::string> all;
  std::uintmax_t largest_by_size = 0, largest_by_index = 0;
  for (unsigned k = 1; k <= 2; ++k) {
    const auto shard = pipeline::select_shard(files, {k, 2, pipeline::ShardMethod::size});
    EXPECT_EQ(shard, pipeline::select_shard(files, {k, 2, pipeline::ShardMethod::size}));
    EXPECT_TRUE(std::is_sorted(shard.begin(), shard.end()));
    all.insert(all.end(), shard.begin(), shard.end());
    largest_by_size = std::max(largest_by_size, bytes_of(shard));
    largest_by_index = std::max(largest_by_index, bytes_of(pipeline::select_shard(files, {k, 2})));
  }
  std::sort(all.begin(), all.end());
  std::vector<std::string> sorted = files;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(all, sorted);  // disjoint and complete
  // Greedy largest-first onto 2 shards: {9000, 5000} vs {9000, 5 x 100}... the optimum is 14000 / 9500.
  EXPECT_EQ(largest_by_size, 14000u);
  EXPECT_EQ(largest_by_index, 23100u);
  EXPECT_THROW((void)pipeline::parse_shard_method("random"), pipeline::ConfigError);
  fs::remove_all(dir);
}

TEST(Longitudinal, Iso8601OffsetsAndDates) {
  double a = 0, b = 0;
  ASSERT_TRUE(pipeline::parse_iso8601_utc_seconds("2024-03-04T09:00:00+01:00", a));
  ASSERT_TRUE(pipeline::parse_iso8601_utc_seconds("2024-03-04T08:00:00Z", b));
  EXPECT_EQ(a, b);
  EXPECT_EQ(b, 1709539200.0);  // date -u -d 2024-03-04T08:00:00Z +%s
  ASSERT_TRUE(pipeline::parse_iso8601_utc_seconds("1970-01-01T00:00:00-00:30", a));
  EXPECT_EQ(a, 1800.0);
  EXPECT_FALSE(pipeline::parse_iso8601_utc_seconds("2024-03-04 09:00", a));
  EXPECT_FALSE(pipeline::parse_iso8601_utc_seconds("2024-13-04T09:00:00Z", a));
  EXPECT_FALSE(pipeline::parse_iso8601_utc_seconds("2024-03-04T09:00:00+0100", a));
}

TEST(Longitudinal, TheilSenSlopeAndIntervalMatchScipy) {
  // Deterministic noisy line with a tie in x; scipy.stats.theilslopes is the independent reference.
  std::vector<double> x, y;
  for (int i = 0; i < 12; ++i) {
    x.push_back(i == 5 ? 4.0 : i * 0.5);
    y.push_back(1.5 + 0.8 * x.back() + 0.3 * std::sin(7.0 * i));
  }
  const pipeline::TrendEstimate e = pipeline::theil_sen(x, y);
  const fs::path dir = test::make_temp_dir(std::string("glutescope-cohort") + "-" + "scipy");
  std::string xs, ys;
  for (std::size_t i = 0; i < x.size(); ++i) {
    xs += fmt::format("{}{:.17g}", i ? "," : "", x[i]);
    ys += fmt::format("{}{:.17g}", i ? "," : "", y[i]);
  }
  const std::string cmd = fmt::format(
      "{} -c \"from scipy.stats import theilslopes; r = theilslopes([{}], [{}], 0.95, method='joint'); "
      "print(repr(r[0]), repr(r[1]), repr(r[2]), repr(r[3]))\" > {}",
      GLUTESCOPE_SYSTEM_PYTHON, ys, xs, (dir / "r.txt").string());
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  double slope = 0, intercept = 0, low = 0, high = 0;
  std::istringstream(slurp(dir / "r.txt")) >> slope >> intercept >> low >> high;
  ASSERT_TRUE(e.ci_available);
  EXPECT_NEAR(e.slope, slope, 1e-12);
  EXPECT_NEAR(e.intercept, intercept, 1e-12);
  EXPECT_NEAR(e.ci_low, low, 1e-12);
  EXPECT_NEAR(e.ci_high, high, 1e-12);
  EXPECT_GT(e.slope, 0.6);
  EXPECT_LT(e.slope, 1.0);
  // Too few points for an interval; one x only: no slope.
  EXPECT_FALSE(pipeline::theil_sen({0, 1, 2}, {1, 2, 4}).ci_available);
  EXPECT_TRUE(std::isnan(pipeline::theil_sen({1, 1}, {1, 2}).slope));
  fs::remove_all(dir);
}

// Two subjects over eight weeks: A's glutes work harder each week (scale 0.60 + 0.05 per week, a known
// linear trend put into the simulation), B's do not change. Files are named so that path order is not
// date order, and the start times carry different UTC offsets.
TEST(Longitudinal, RecoversTheTrendPutIntoTheSimulationAndRendersInChromium) {
  const fs::path dir = test::make_temp_dir(std::string("glutescope-cohort") + "-" + "timeline");
  std::vector<std::string> files;
  std::vector<double> scale_of_week;
  for (int w = 0; w < 8; ++w) {
    const double scale = 0.60 + 0.05 * w;
    scale_of_week.push_back(scale);
    const std::string day = fmt::format("2024-03-{:02}", 4 + w * 3);  // every 3 days = 3/7 week
    for (const char* subject : {"A", "B"}) {
      const fs::path p = dir / fmt::format("{}-{}.h5", subject, (w * 5) % 8);  // path order != date order
      test::write_simulated_session(
          p,
          short_bridge(static_cast<std::uint64_t>(10 * w + (subject[0] == 'A' ? 1 : 2)),
                       subject[0] == 'A' ? scale : 1.0),
          subject, fmt::format("{}T{}", day, w % 2 ? "09:00:00+02:00" : "07:00:00Z"));
      files.push_back(p.string());
    }
  }
  pipeline::BatchOptions o;
  o.files = files;
  o.jobs = 2;
  o.summary_csv = (dir / "one.csv").string();
  o.log = nullptr;
  (void)pipeline::run_batch(o);
  const pipeline::CohortMerge m = pipeline::merge_cohort({o.summary_csv}, {});
  ASSERT_TRUE(m.problems.empty()) << m.problems.front().message;
  const pipeline::LongitudinalView view = pipeline::build_longitudinal(m.sessions);
  EXPECT_TRUE(view.skipped.empty());

  // The timeline: A's sessions in date order, weeks = days / 7 since the first.
  std::vector<double> weeks;
  std::vector<double> ratio;
  std::istringstream tidy(view.tidy_csv);
  std::string line;
  std::getline(tidy, line);
  EXPECT_EQ(line, "subject_id,session_start_time,weeks,file,set,exercise,level,rep,metric,value");
  std::vector<std::string> f;
  while (std::getline(tidy, line)) {
    ASSERT_TRUE(pipeline::split_csv_record(line, f));
    ASSERT_EQ(f.size(), 10u) << line;
    if (f[0] == "A" && f[6] == "set" && f[8] == "gmax_to_es_ratio_of_means") {
      weeks.push_back(std::stod(f[2]));
      ratio.push_back(std::stod(f[9]));
    }
  }
  ASSERT_EQ(weeks.size(), 8u);
  for (int w = 0; w < 8; ++w) EXPECT_NEAR(weeks[w], 3.0 * w / 7.0, 1e-9) << w;

  // Expected slope per week from the simulation: ratio ∝ glute scale (ES unchanged), so the slope is the
  // measured ratio per unit of scale times the scale's change per week (0.05 per 3 days).
  double per_scale = 0.0;
  for (int w = 0; w < 8; ++w) per_scale += ratio[w] / scale_of_week[w] / 8.0;
  const double expected = per_scale * 0.05 * 7.0 / 3.0;
  auto trend = [&](const std::string& subject, const std::string& metric) {
    const auto t = std::find_if(view.trends.begin(), view.trends.end(), [&](const pipeline::SubjectTrend& x) {
      return x.subject == subject && x.metric == metric && x.exercise == "bridge";
    });
    EXPECT_NE(t, view.trends.end()) << subject << " " << metric;
    return t == view.trends.end() ? pipeline::SubjectTrend{} : *t;
  };
  const pipeline::SubjectTrend a = trend("A", "gmax_to_es_ratio_of_means");
  ASSERT_TRUE(a.estimate.ci_available);
  EXPECT_NEAR(a.estimate.slope, expected, 0.2 * expected);
  EXPECT_GT(a.estimate.ci_low, 0.0);
  EXPECT_LE(a.estimate.ci_low, expected);
  EXPECT_GE(a.estimate.ci_high, expected);
  EXPECT_EQ(a.statement.find("GMax:ES ratio (bridge): rose by"), 0u) << a.statement;
  EXPECT_EQ(a.sessions, 8u);
  EXPECT_GT(trend("A", "gmax_l_mean_pct").estimate.ci_low, 0.0);
  const pipeline::SubjectTrend b = trend("B", "gmax_to_es_ratio_of_means");
  ASSERT_TRUE(b.estimate.ci_available);
  EXPECT_LE(b.estimate.ci_low, 0.0);
  EXPECT_GE(b.estimate.ci_high, 0.0);
  EXPECT_NE(b.statement.find("no clear change"), std::string::npos) << b.statement;
  for (const auto& t : view.trends) {
    for (const char* word : {"diagnos", "improv", "patholog", "injur"}) {
      EXPECT_EQ(t.statement.find(word), std::string::npos) << t.statement;
    }
  }

  // The page: self-contained, and what a browser builds from it.
  std::ofstream(dir / "timeline.html") << view.html;
  EXPECT_EQ(view.html.find("<script"), std::string::npos);
  EXPECT_EQ(view.html.find("http://"), view.html.find("http://www.w3.org/2000/svg"));
  const std::string chromium =
      "chromium --headless --no-sandbox --disable-gpu --disable-background-networking "
      "--disable-component-update "
      "--disable-sync --no-first-run --user-data-dir=" +
      (dir / "profile").string();
  const std::string page = "file://" + (dir / "timeline.html").string();
  ASSERT_EQ(std::system(
                fmt::format("{} --dump-dom {} > {} 2>/dev/null", chromium, page, (dir / "dom.html").string())
                    .c_str()),
            0);
  const std::string dom = slurp(dir / "dom.html");
  auto occurrences = [&dom](const std::string& s) {
    std::size_t n = 0;
    for (std::size_t p = dom.find(s); p != std::string::npos; p = dom.find(s, p + 1)) ++n;
    return n;
  };
  EXPECT_EQ(occurrences("class=\"subject-section\""), 2u);
  EXPECT_EQ(occurrences("class=\"trend-plot\""), 8u);  // four figures per subject
  EXPECT_EQ(occurrences("class=\"cohort-plot\""), 1u);
  EXPECT_EQ(occurrences("class=\"session-row\""), 16u);
  EXPECT_GE(occurrences("class=\"trend-line\""), 8u);
  EXPECT_NE(dom.find("rose by"), std::string::npos);
  ASSERT_EQ(std::system(fmt::format("{} --window-size=1000,1400 --screenshot={} {} >/dev/null 2>&1", chromium,
                                    (dir / "timeline.png").string(), page)
                            .c_str()),
            0);
  EXPECT_GT(fs::file_size(dir / "timeline.png"), 20000u);  // a drawn page, not a blank one
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
