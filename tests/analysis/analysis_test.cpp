// Analysis pipeline against simulator ground truth, with real session files on disk.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/core.h>
#include <sched.h>
#include <unistd.h>

#include "analysis/import_truth.hpp"
#include "analysis/sim_session.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/analysis_batch.hpp"
#include "pipeline/analysis_file.hpp"
#include "pipeline/analysis_report.hpp"
#include "pipeline/analysis_settings.hpp"
#include "store/session_reader.hpp"
#include "store/session_writer.hpp"
#include "support/cli.hpp"
#include "support/files.hpp"

#include <nlohmann/json.hpp>

namespace glutescope {
namespace {

namespace fs = std::filesystem;
using exercise::VerdictState;

fs::path temp_dir(const std::string& name) { return test::make_temp_dir("analysis-" + name); }
using test::slurp;

sim::SimulatorSettings bridge(sim::Scenario scenario, int reps, bool mvc, std::uint64_t seed = 1) {
  sim::SimulatorSettings s;
  s.exercise = Exercise::bridge;
  s.scenario = scenario;
  s.reps = reps;
  s.mvc_trials = mvc;
  s.seed = seed;
  return s;
}

// Runs a command and returns its stdout (the test fails on a non-zero exit).
std::string run(const std::string& command) {
  std::string out;
  std::FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_EQ(status, 0) << command << "\n" << out;
  return out;
}

const std::string& kBinary = test::glutescope_binary();

std::size_t count_of(const std::vector<std::string>& v, const std::string& x) {
  return static_cast<std::size_t>(std::count(v.begin(), v.end(), x));
}

// Fields of one CSV line (RFC 4180 quotes).
std::size_t csv_fields(const std::string& line) {
  std::size_t n = 1;
  bool quoted = false;
  for (char c : line) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) ++n;
  }
  return n;
}

// load_session reads the whole sample index only when rows are missing (its last value says so): rows lost in
// the file are placed by sample index (EMG zeros, IMU holds the previous sample) and listed as gaps; a
// complete file has no gaps and keeps the counts exactly. Ground truth: the simulated blocks written to the
// file.
TEST(AnalysisLoad, MissingRowsArePlacedBySampleIndexAndListedAsGaps) {
  const fs::path dir = temp_dir("load-gaps");
  const sim::SimulatedSession session = sim::simulate(bridge(sim::Scenario::good, 2, false));
  const std::size_t ch = session.montage.emg.size();
  ASSERT_GT(session.emg.size(), 10u);
  ASSERT_GE(session.montage.imu.size(), 2u);
  const std::size_t lost_emg = 5;  // block indices left out of the file
  std::size_t lost_imu = 0, imu1_blocks = 0;
  for (const ImuBlock& b : session.imu) imu1_blocks += b.sensor == 1 ? 1 : 0;
  ASSERT_GT(imu1_blocks, 10u);
  // IMU 0 loses its last block: its index is complete (0, 1, ...) but ends before the others'.
  const ImuBlock* imu0_last = nullptr;
  for (const ImuBlock& b : session.imu) imu0_last = b.sensor == 0 ? &b : imu0_last;
  ASSERT_NE(imu0_last, nullptr);
  auto write = [&](const fs::path& path, bool drop) {
    store::SessionWriterOptions o;
    o.force = true;
    o.journal = false;
    store::SessionWriter writer(path, session.device_info, session.montage, "S001", o);
    for (std::size_t i = 0; i < session.emg.size(); ++i) {
      if (!drop || i != lost_emg) writer.append(session.emg[i]);
    }
    std::size_t k = 0;
    for (const ImuBlock& b : session.imu) {
      if (drop && &b == imu0_last) continue;
      if (b.sensor == 1 && k++ == 7 && drop) {
        lost_imu = b.first_sample;
        continue;
      }
      writer.append(b);
    }
    for (const Event& e : session.events) writer.add_event(e);
    writer.close();
  };
  write(dir / "complete.h5", false);
  write(dir / "lossy.h5", true);

  std::size_t emg_rows = 0;
  for (const EmgBlock& b : session.emg)
    emg_rows = std::max<std::size_t>(emg_rows, b.first_sample + b.samples());
  const pipeline::LoadedSession complete = pipeline::load_session(dir / "complete.h5");
  EXPECT_TRUE(complete.data.gaps.empty());
  EXPECT_EQ(complete.emg_gap_samples, 0u);
  ASSERT_EQ(complete.data.emg_samples(), emg_rows);

  const pipeline::LoadedSession lossy = pipeline::load_session(dir / "lossy.h5");
  const EmgBlock& gone = session.emg[lost_emg];
  // The span (last sample index + 1) is checked without keeping the index: rows + lost rows.
  EXPECT_EQ(store::SessionReader(dir / "complete.h5").checked_emg_sample_span(), emg_rows);
  const store::SessionReader lossy_reader(dir / "lossy.h5");
  EXPECT_EQ(lossy_reader.checked_emg_sample_span(), emg_rows);
  EXPECT_EQ(lossy_reader.emg_rows(), emg_rows - gone.samples());
  EXPECT_EQ(lossy_reader.checked_imu_sample_span(0), imu0_last->first_sample);
  EXPECT_EQ(lossy_reader.checked_imu_sample_span(0), lossy_reader.imu_rows(0));
  ASSERT_EQ(lossy.data.emg_samples(), emg_rows);
  EXPECT_EQ(lossy.emg_gap_samples, gone.samples());
  for (const EmgBlock& b : session.emg) {
    for (std::size_t r = 0; r < b.samples(); ++r) {
      for (std::size_t c = 0; c < ch; ++c) {
        const std::int32_t expected = &b == &gone ? 0 : b.counts[r * ch + c];
        ASSERT_EQ(lossy.data.emg_counts[(b.first_sample + r) * ch + c], expected) << b.first_sample + r;
        ASSERT_EQ(complete.data.emg_counts[(b.first_sample + r) * ch + c], b.counts[r * ch + c]);
      }
    }
  }
  bool emg_gap = false, imu_gap = false, imu0_tail = false;
  for (const Gap& g : lossy.data.gaps) {
    if (g.stream == StreamKind::emg) {
      emg_gap = g.start_sample == gone.first_sample && g.count == gone.samples();
    } else if (g.stream == StreamKind::imu && g.sensor == 0) {
      imu0_tail = g.start_sample == imu0_last->first_sample &&
                  g.start_sample + g.count == lossy.data.imu[0].samples();
      const exercise::ImuStream& s = lossy.data.imu[0];
      for (std::uint64_t r = g.start_sample; r < g.start_sample + g.count; ++r)
        EXPECT_EQ(s.accel[r * 3], s.accel[(g.start_sample - 1) * 3]);
    } else if (g.stream == StreamKind::imu && g.sensor == 1) {
      imu_gap = g.start_sample == lost_imu && g.count > 0;
      // The missing IMU rows hold the sample before them.
      const exercise::ImuStream& s = lossy.data.imu[1];
      for (std::uint64_t r = g.start_sample; r < g.start_sample + g.count; ++r) {
        for (int a = 0; a < 3; ++a) {
          EXPECT_EQ(s.accel[r * 3 + a], s.accel[(g.start_sample - 1) * 3 + a]);
          EXPECT_EQ(s.gyro[r * 3 + a], s.gyro[(g.start_sample - 1) * 3 + a]);
        }
      }
    }
  }
  EXPECT_TRUE(emg_gap);
  EXPECT_TRUE(imu_gap);
  EXPECT_TRUE(imu0_tail);
  EXPECT_EQ(lossy.data.imu[0].samples(), lossy.data.imu[1].samples());
  fs::remove_all(dir);
}

// A file that stores 16-bit counts is held at 16 bits (half the memory of int32), one that stores 32-bit
// counts (a 24-bit ADC) at 32; the same values give the same content hash and the same analysis whichever
// width holds them. Ground truth: one simulated session written both ways.
TEST(AnalysisLoad, SixteenBitCountsAreHeldNarrowWithTheSameHashAndAnalysisAsThirtyTwoBit) {
  const fs::path dir = temp_dir("load-width");
  const sim::SimulatedSession session = sim::simulate(bridge(sim::Scenario::good, 3, false));
  auto write = [&](const fs::path& path, SampleFormat format) {
    DeviceInfo device = session.device_info;
    device.emg_format = format;
    store::SessionWriterOptions o;
    o.force = true;
    o.journal = false;
    o.session_start_time = "2026-12-07T10:00:00+00:00";  // the same in both files (part of the JSON)
    store::SessionWriter writer(path, device, session.montage, "S001", o);
    for (const EmgBlock& b : session.emg) writer.append(b);
    for (const ImuBlock& b : session.imu) writer.append(b);
    for (const Event& e : session.events) writer.add_event(e);
    writer.close();
  };
  write(dir / "narrow.h5", SampleFormat::int16);
  write(dir / "wide.h5", SampleFormat::int24);
  EXPECT_TRUE(store::SessionReader(dir / "narrow.h5").emg_counts_fit_int16());
  EXPECT_FALSE(store::SessionReader(dir / "wide.h5").emg_counts_fit_int16());
  EXPECT_THROW((void)store::SessionReader(dir / "wide.h5").emg_counts_int16(), store::SessionFormatError);

  const pipeline::LoadedSession narrow = pipeline::load_session(dir / "narrow.h5");
  const pipeline::LoadedSession wide = pipeline::load_session(dir / "wide.h5");
  EXPECT_TRUE(narrow.data.emg_counts.narrow());
  EXPECT_FALSE(wide.data.emg_counts.narrow());
  const std::vector<std::int32_t> stored = store::SessionReader(dir / "narrow.h5").emg_counts();
  ASSERT_FALSE(stored.empty());
  EXPECT_EQ(narrow.data.emg_counts.widened(), stored);
  EXPECT_EQ(wide.data.emg_counts.widened(), stored);
  EXPECT_EQ(narrow.input_hash, wide.input_hash);

  const pipeline::AnalysisPipelineSettings settings;
  const pipeline::AnalysisResult a = pipeline::analyse(narrow, settings);
  const pipeline::AnalysisResult b = pipeline::analyse(wide, settings);
  ASSERT_EQ(a.analysis.sets.size(), 1u);
  EXPECT_EQ(a.analysis.sets[0].reps.size(), 3u);
  nlohmann::json ja = pipeline::to_json(a), jb = pipeline::to_json(b);
  ja.erase("source");
  jb.erase("source");
  EXPECT_EQ(ja.dump(), jb.dump());
  EXPECT_EQ(a.envelopes_uv, b.envelopes_uv);
  fs::remove_all(dir);
}

TEST(AnalysisPipeline, FindsTheSimulatedRepsAndTheirTiming) {
  const fs::path dir = temp_dir("reps");
  const auto truth = test::write_simulated_session(dir / "s.h5", bridge(sim::Scenario::good, 6, true));
  const auto r =
      pipeline::analyse(pipeline::load_session(dir / "s.h5"), pipeline::kDefaultAnalysisPipelineSettings);
  ASSERT_EQ(r.analysis.sets.size(), 1u);
  const auto& set = r.analysis.sets[0];
  ASSERT_EQ(set.reps.size(), truth.truth.schedule.reps.size());
  EXPECT_EQ(set.normalisation.kind, exercise::NormalisationKind::mvic);
  for (std::size_t i = 0; i < set.reps.size(); ++i) {
    EXPECT_NEAR(set.reps[i].start_s, truth.truth.schedule.reps[i].start_s, 0.5) << "rep " << i;
    EXPECT_NEAR(set.reps[i].end_s, truth.truth.schedule.reps[i].end_s, 0.5) << "rep " << i;
  }
  // The result is the exercise module's own analysis of the same data (one scoring implementation).
  const auto loaded = pipeline::load_session(dir / "s.h5");
  const auto direct =
      exercise::analyse_session(loaded.data, pipeline::kDefaultAnalysisPipelineSettings.scoring);
  ASSERT_EQ(direct.sets.size(), 1u);
  ASSERT_EQ(direct.sets[0].reps.size(), set.reps.size());
  for (std::size_t i = 0; i < set.reps.size(); ++i) {
    EXPECT_EQ(direct.sets[0].reps[i].summary, set.reps[i].summary);
    EXPECT_EQ(direct.sets[0].reps[i].verdicts.lumbar_dominant.value,
              set.reps[i].verdicts.lumbar_dominant.value);
  }
  // Plot envelopes and driving angle cover the session.
  EXPECT_NEAR(r.envelope_rate_hz, 50.0, 1e-9);
  EXPECT_EQ(r.envelopes_uv.size() / r.channels(), r.driving_angle_deg.size());
  fs::remove_all(dir);
}

// `glutescope analyze` on simulated sessions of each scenario; the verdicts are read back from the sidecar
// with h5py (tests/analysis/check_sidecar.py) and compared with the scenario the simulator was told to
// produce (tools/simulator/schedule.cpp: good = GMax 40 vs ES 15 %MVIC; lumbar-dominant = GMax 22 vs ES 42;
// silent glute = 3 %MVIC; hamstring-dominant = BF 48 vs GMax 20).
TEST(AnalysisPipeline, AnalyzeVerdictsFollowTheSimulatedScenarioInTheSidecar) {
  const fs::path dir = temp_dir("verdicts");
  struct Case {
    sim::Scenario scenario;
    const char* verdict;  // the verdict that must say "yes" (or "no" for glute_fired of silent glutes)
    const char* state;
    const char* words;  // in the clinician line of most reps
  };
  const Case cases[] = {
      {sim::Scenario::good, "glute_fired", "yes", "glutes fired"},
      {sim::Scenario::lumbar_dominant, "lumbar_dominant", "yes", "back did the work"},
      {sim::Scenario::silent_glute, "glute_fired", "no", "glutes did not fire"},
      {sim::Scenario::hamstring_dominant, "hamstring_dominance", "yes", "hamstrings did the work"}};
  for (const Case& c : cases) {
    const std::string name = std::string(sim::to_string(c.scenario)) + ".h5";
    test::write_simulated_session(dir / name, bridge(c.scenario, 4, true, 7));
    const std::string json_lines = run(fmt::format("{} analyze --json {}", kBinary, (dir / name).string()));
    const auto cli = nlohmann::json::parse(json_lines.substr(0, json_lines.find('\n')));
    EXPECT_TRUE(cli["ok"].get<bool>()) << json_lines;
    EXPECT_EQ(cli["reps"].get<int>(), 4) << sim::to_string(c.scenario);
    const auto side = nlohmann::json::parse(
        run(fmt::format("{} {}/tests/analysis/check_sidecar.py {}", GLUTESCOPE_SYSTEM_PYTHON,
                        GLUTESCOPE_SOURCE_DIR, pipeline::analysis_path_for(dir / name).string())));
    EXPECT_EQ(side["format_version"], "2.2");
    EXPECT_EQ(side["motion_source"][0], "imu");
    EXPECT_EQ(side["normalisation"][0], "mvic") << sim::to_string(c.scenario);
    const auto states = side["verdicts"][c.verdict].get<std::vector<std::string>>();
    ASSERT_EQ(states.size(), 4u) << sim::to_string(c.scenario);
    EXPECT_GE(count_of(states, c.state), 3u) << sim::to_string(c.scenario) << " " << c.verdict;
    std::size_t worded = 0;
    for (const auto& line : side["summary"])
      worded += line.get<std::string>().find(c.words) != std::string::npos;
    EXPECT_GE(worded, 3u) << sim::to_string(c.scenario) << ": " << side["summary"].dump();
    if (c.scenario == sim::Scenario::good) {
      // Good bridges: the back is not dominant and no rep is called "back did the work".
      EXPECT_GE(count_of(side["verdicts"]["lumbar_dominant"].get<std::vector<std::string>>(), "no"), 3u);
      for (const auto& line : side["summary"])
        EXPECT_EQ(line.get<std::string>().find("back did the work"), std::string::npos);
    }
    if (c.scenario == sim::Scenario::lumbar_dominant) {
      // The reported ES/glute ratio is above the threshold recorded in the sidecar's own settings.
      EXPECT_NE(side["settings_toml"].get<std::string>().find("lumbar_es_to_glute_ratio = 1"),
                std::string::npos);
    }
  }
  fs::remove_all(dir);
}

// `analyze --events`: a session recorded without its set markers, analysed with the simulator's set and MVC
// intervals as a BIDS events table, gives the reps and verdicts of the same session analysed with its own
// markers (the table's times are the simulator's truth; the recorded markers pass through the host clock
// fit, hence 20 ms on rep boundaries). The session file is not changed; a bad table is one line naming it
// and its line, a non-zero exit and no sidecar.
TEST(AnalysisPipeline, AnalyzeEventsReplaceTheMissingSetMarkers) {
  const fs::path dir = temp_dir("events");
  const sim::SimulatedSession s =
      test::write_simulated_session(dir / "marked.h5", bridge(sim::Scenario::good, 4, true, 7));
  {
    store::SessionWriterOptions o;
    o.force = true;
    o.journal = false;
    o.session_start_time = "2024-01-01T10:00:00+00:00";
    store::SessionWriter writer(dir / "bare.h5", s.device_info, s.montage, "S001", o);
    for (const EmgBlock& b : s.emg) writer.append(b);
    for (const ImuBlock& b : s.imu) writer.append(b);
    for (const Event& e : s.events)
      if (e.kind != EventKind::set_start && e.kind != EventKind::set_stop) writer.add_event(e);
    writer.close();
  }
  std::string tsv = "onset\tduration\ttrial_type\n";
  const auto& markers = s.truth.schedule.markers;
  std::size_t sets = 0;
  for (std::size_t i = 0; i + 1 < markers.size(); ++i) {
    const Event& a = markers[i];
    if (a.kind != EventKind::set_start || markers[i + 1].kind != EventKind::set_stop) continue;
    const std::string type = a.exercise == Exercise::mvc
                                 ? fmt::format("mvc:{}:{}", to_string(a.muscle), to_string(a.side))
                                 : std::string(to_string(a.exercise));
    tsv += fmt::format("{:.6f}\t{:.6f}\t{}\n", a.time_s, markers[i + 1].time_s - a.time_s, type);
    ++sets;
  }
  ASSERT_EQ(sets, s.truth.schedule.mvc_trials.size() + 1);
  std::ofstream(dir / "events.tsv") << tsv;
  const std::string bare_bytes = slurp(dir / "bare.h5");

  run(fmt::format("{} analyze {}", kBinary, (dir / "marked.h5").string()));
  const std::string out = run(fmt::format("{} analyze --events {} {}", kBinary, (dir / "events.tsv").string(),
                                          (dir / "bare.h5").string()));
  EXPECT_NE(out.find("events from"), std::string::npos) << out;  // the warning says where the sets came from
  EXPECT_EQ(slurp(dir / "bare.h5"), bare_bytes);
  const auto want = pipeline::read_analysis_file(dir / "marked.analysis.h5");
  const auto got = pipeline::read_analysis_file(dir / "bare.analysis.h5");
  ASSERT_EQ(want.analysis.sets.size(), 1u);  // the MVC trials normalise, they are not scored sets
  ASSERT_EQ(got.analysis.sets.size(), want.analysis.sets.size());
  std::size_t bridges = 0;
  for (std::size_t i = 0; i < want.analysis.sets.size(); ++i) {
    const exercise::SetAnalysis& w = want.analysis.sets[i];
    const exercise::SetAnalysis& g = got.analysis.sets[i];
    EXPECT_EQ(g.exercise, w.exercise);
    EXPECT_EQ(g.normalisation.kind, exercise::NormalisationKind::mvic);  // the table's MVC trials were used
    EXPECT_EQ(w.normalisation.kind, exercise::NormalisationKind::mvic);
    if (w.exercise != Exercise::bridge) continue;
    ++bridges;
    EXPECT_NEAR(g.start_s, s.truth.schedule.set_start_s, 1e-3);
    ASSERT_EQ(w.reps.size(), s.truth.schedule.reps.size());
    test::expect_same_reps(g, w, 0.02);
  }
  EXPECT_EQ(bridges, 1u);

  // A table with an event past the recording: one line naming the table and its line, exit 2, no sidecar.
  fs::remove(dir / "bare.analysis.h5");
  std::ofstream(dir / "bad.tsv") << "onset\tduration\ttrial_type\n1\t99999\tbridge\n";
  const std::string cmd = fmt::format("{} analyze --events {} {} 2>&1 >/dev/null", kBinary,
                                      (dir / "bad.tsv").string(), (dir / "bare.h5").string());
  std::FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string err;
  char buf[4096];
  for (std::size_t n = 0; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) err.append(buf, n);
  const int status = ::pclose(p);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_NE(err.find("bad.tsv:2: event 1-100000 s is outside"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir / "bare.analysis.h5"));
  EXPECT_EQ(slurp(dir / "bare.h5"), bare_bytes);
  fs::remove_all(dir);
}

TEST(AnalysisSettings, OneTomlWithTheExerciseTablesRoundTripsAndIsStrict) {
  const std::string text = pipeline::to_toml(pipeline::kDefaultAnalysisPipelineSettings);
  EXPECT_EQ(pipeline::to_toml(pipeline::parse_analysis_settings(text, "defaults")), text);
  // The exercise module's tables are the scoring settings (no second copy of any threshold).
  EXPECT_NE(text.find("[verdicts]\n"), std::string::npos);
  EXPECT_NE(text.find("[onset]\n"), std::string::npos);
  EXPECT_NE(text.find("[motion.segmenter]\n"), std::string::npos);
  EXPECT_NE(text.find("[live]\n"), std::string::npos);
  const auto changed = pipeline::parse_analysis_settings(
      "[verdicts]\nlumbar_es_to_glute_ratio = 1.5\n[output]\nenvelope_rate_hz = 20\n[live]\nhistory_s = 30\n",
      "x.toml");
  EXPECT_EQ(changed.scoring.verdicts.lumbar_es_to_glute_ratio, 1.5);
  EXPECT_EQ(changed.scoring.onset.k_sd, exercise::kDefaultAnalysisSettings.onset.k_sd);
  EXPECT_EQ(changed.output.envelope_rate_hz, 20.0);
  EXPECT_EQ(changed.live.history_s, 30.0);
  auto error_of = [](const std::string& toml, const std::string& file) {
    try {
      (void)pipeline::parse_analysis_settings(toml, file);
    } catch (const pipeline::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      error_of("[verdicts]\ncutoff = 8\n", "x.toml").find("x.toml: unknown settings key 'verdicts.cutoff'"),
      std::string::npos);
  EXPECT_NE(error_of("[live]\nfoo = 1\n", "l.toml").find("l.toml: unknown settings key 'live.foo'"),
            std::string::npos);
  EXPECT_NE(error_of("[verdicts]\nglute_fired_min_pct_mvic = 150\n", "y.toml")
                .find("y.toml: verdicts.glute_fired_min_pct_mvic = 150"),
            std::string::npos);
  EXPECT_NE(
      error_of("[output]\nenvelope_rate_hz = 0\n", "o.toml").find("o.toml: output.envelope_rate_hz = 0"),
      std::string::npos);
  EXPECT_NE(
      error_of("[live]\nclamshell_upper_side = \"up\"\n", "c.toml").find("c.toml: live.clamshell_upper_side"),
      std::string::npos);
  // The former pipeline-only scoring table no longer exists: its thresholds live in [verdicts].
  EXPECT_NE(error_of("[scoring]\nratio_glutes_led = 1.2\n", "s.toml")
                .find("s.toml: unknown settings table [scoring]"),
            std::string::npos);
  EXPECT_NE(error_of("[emg\n", "t.toml").find("t.toml:1:"), std::string::npos);
}

TEST(AnalysisSettings, ConfigCommandPrintsDefaultsAndChecksFilesByName) {
  const fs::path dir = temp_dir("config");
  const std::string defaults = run(kBinary + " config --print-defaults");
  EXPECT_EQ(defaults, pipeline::to_toml(pipeline::kDefaultAnalysisPipelineSettings));
  { std::ofstream(dir / "bad.toml") << "[onset]\nk_sd = 100\n"; }
  const std::string err =
      run(fmt::format("{} config --check {} 2>&1 || true", kBinary, (dir / "bad.toml").string()));
  EXPECT_NE(err.find((dir / "bad.toml").string() + ": onset.k_sd = 100"), std::string::npos) << err;
  fs::remove_all(dir);
}

TEST(AnalysisBatch, BitIdenticalAcrossJobsAndRunsAndBadFilesDoNotStopTheBatch) {
  const fs::path dir = temp_dir("batch");
  std::vector<std::string> files;
  for (int i = 0; i < 4; ++i) {
    const fs::path p = dir / fmt::format("s{}.h5", i);
    test::write_simulated_session(p, bridge(i % 2 ? sim::Scenario::lumbar_dominant : sim::Scenario::good, 3,
                                            false, static_cast<std::uint64_t>(i) + 1));
    files.push_back(p.string());
  }
  { std::ofstream(dir / "foreign.h5") << "this is not HDF5"; }
  { std::ofstream(dir / "truncated.h5") << slurp(files[0]).substr(0, 5000); }
  files.push_back((dir / "foreign.h5").string());
  files.push_back((dir / "truncated.h5").string());

  // Also each file's analysis on one thread and on four (AnalysisPipelineSettings::threads): the same bytes.
  auto run = [&](unsigned jobs, const std::string& csv) {
    pipeline::BatchOptions o;
    o.files = files;
    o.jobs = jobs;
    o.settings.threads = jobs == 1 ? 1 : 4;
    o.summary_csv = (dir / csv).string();
    o.log = nullptr;
    return pipeline::run_batch(o);
  };
  const auto first = run(1, "one.csv");
  std::vector<std::string> sidecars;
  sidecars.reserve(files.size());
  for (const auto& f : files)
    sidecars.push_back(fs::exists(pipeline::analysis_path_for(f)) ? slurp(pipeline::analysis_path_for(f))
                                                                  : "");
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
  const std::size_t columns = csv_fields(line);
  while (std::getline(csv, line)) {
    EXPECT_EQ(csv_fields(line), columns) << line;
    reps += line.find(",rep,") != std::string::npos;
    sets += line.find(",set,") != std::string::npos;
  }
  EXPECT_EQ(reps, 12);
  EXPECT_EQ(sets, 4);
  fs::remove_all(dir);
}

// One file's threads: the CPUs this process may run on (its affinity mask, as Slurm or taskset set it) shared
// among the jobs, 1 to 4.
TEST(AnalysisBatch, ThreadsAreTheAllowedCpusSharedAmongTheJobs) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof saved, &saved), 0);
  const auto allowed = static_cast<std::size_t>(CPU_COUNT(&saved));
  EXPECT_EQ(pipeline::analysis_threads(1),
            std::clamp<std::size_t>(allowed, 1, pipeline::kMaxAnalysisThreads));
  EXPECT_EQ(pipeline::analysis_threads(1000), 1U);
  EXPECT_EQ(pipeline::analysis_threads(0), pipeline::analysis_threads(1));
  // Only the first allowed CPU: one thread whatever the jobs.
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &saved)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
  EXPECT_EQ(pipeline::analysis_threads(1), 1U);
  ASSERT_EQ(sched_setaffinity(0, sizeof saved, &saved), 0);
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
  EXPECT_EQ(back.analysis.warnings, r.analysis.warnings);
  EXPECT_EQ(back.analysis.mvc_reference_uv, r.analysis.mvc_reference_uv);
  ASSERT_EQ(back.analysis.sets.size(), r.analysis.sets.size());
  ASSERT_EQ(back.rep_count(), r.rep_count());
  for (std::size_t s = 0; s < r.analysis.sets.size(); ++s) {
    const auto& a = r.analysis.sets[s];
    const auto& b = back.analysis.sets[s];
    EXPECT_EQ(b.normalisation.kind, a.normalisation.kind);
    EXPECT_EQ(b.summary.gmax_symmetry_pct, a.summary.gmax_symmetry_pct);
    EXPECT_EQ(b.summary.gmax_to_es.ratio_of_means, a.summary.gmax_to_es.ratio_of_means);
    EXPECT_EQ(b.summary.median_frequency_trend_pct_per_rep, a.summary.median_frequency_trend_pct_per_rep);
    for (std::size_t v = 0; v < exercise::kVerdictCount; ++v)
      EXPECT_EQ(b.summary.verdicts[v].yes, a.summary.verdicts[v].yes);
    for (std::size_t i = 0; i < a.reps.size(); ++i) {
      const auto& x = a.reps[i];
      const auto& y = b.reps[i];
      EXPECT_EQ(y.start_s, x.start_s);
      EXPECT_EQ(y.summary, x.summary);
      EXPECT_EQ(y.firing_order, x.firing_order);
      EXPECT_EQ(y.gmax_to_es.mean_of_ratios, x.gmax_to_es.mean_of_ratios);
      for (std::size_t c = 0; c < x.channels.size(); ++c) {
        EXPECT_EQ(y.channels[c].mean_pct, x.channels[c].mean_pct);
        if (std::isfinite(x.channels[c].onset_rel_ms)) {
          EXPECT_EQ(y.channels[c].onset_rel_ms, x.channels[c].onset_rel_ms);
        }
      }
      for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
        EXPECT_EQ(exercise::verdict_at(y.verdicts, v).state, exercise::verdict_at(x.verdicts, v).state);
        EXPECT_EQ(exercise::verdict_at(y.verdicts, v).reason, exercise::verdict_at(x.verdicts, v).reason);
      }
    }
  }
  std::ostringstream out;
  pipeline::print_session_report(dir / "s.h5", out, dir / "r.html");
  const std::string text = out.str();
  EXPECT_NE(text.find("normalisation: %MVIC"), std::string::npos) << text;
  EXPECT_NE(text.find("set 1 rep  3 (bridge): glutes fired"), std::string::npos) << text;
  EXPECT_TRUE(fs::exists(dir / "r.html"));
  // Foreign files are refused with the path in the message.
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
