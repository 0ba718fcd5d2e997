// Issue 13: a simulated session exported as CSV with motion (accelerometer columns held at the IMU rate,
// angle columns with empty cells between samples) and marker codes, imported back and analysed, finds the
// same repetitions and verdicts as the native session; malformed motion montages and columns are one line
// naming the file and line, and nothing is written.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include <fmt/core.h>

#include <edflib.h>

#include "analysis/import_truth.hpp"
#include "pipeline/analysis.hpp"
#include "simulator/session.hpp"
#include "store/import.hpp"
#include "support/files.hpp"
#include "validation/validation.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;

sim::SimulatedSession simulate(sim::Scenario scenario) {
  sim::SimulatorSettings ss;
  ss.exercise = Exercise::bridge;
  ss.scenario = scenario;
  ss.seed = 31;
  ss.snr_db = 25.0;
  ss.reps = 5;
  ss.mvc_trials = true;
  return sim::simulate(ss);
}

using test::marker_label;

struct Export {
  std::string csv, montage;
};

// CSV at the EMG rate: EMG counts, the sacral accelerometer in g held between IMU samples, the true hip
// extension (left) only on rows where an IMU sample falls (empty cells between), marker codes only on the
// row of each marker (empty elsewhere).
Export export_csv(const sim::SimulatedSession& s) {
  const auto& dev = s.device_info;
  const std::size_t ch = s.montage.emg.size();
  const std::vector<std::int32_t> emg = s.emg_counts();
  const std::size_t rows = emg.size() / ch;
  const auto sacrum = *s.montage.find_imu(Segment::sacrum);
  const std::vector<std::int16_t> acc = s.imu_accel(static_cast<std::uint8_t>(sacrum));
  const double imu_rate = dev.imu[sacrum].rate_hz;
  std::size_t hip = 0;
  for (std::size_t k = 0; k < s.truth.joint_angles.names.size(); ++k)
    if (s.truth.joint_angles.names[k] == "hip_extension_left_deg") hip = k;
  std::map<std::size_t, int> code_at;
  std::map<std::string, int> codes;
  for (const Event& e : s.events) {
    const std::string label = marker_label(e);
    if (label.empty()) continue;
    codes.emplace(label, static_cast<int>(codes.size()) + 1);
    code_at[static_cast<std::size_t>(std::lround(e.time_s * dev.emg_rate_hz))] = codes[label];
  }
  Export out;
  out.csv = "time_s";
  for (const auto& c : s.montage.emg) out.csv += "," + c.label;
  out.csv += ",ax,ay,az,hip_deg,marker\n";
  for (std::size_t r = 0; r < rows; ++r) {
    out.csv += fmt::format("{:.6f}", static_cast<double>(r) / dev.emg_rate_hz);
    for (std::size_t c = 0; c < ch; ++c) out.csv += fmt::format(",{}", emg[r * ch + c]);
    const double t = static_cast<double>(r) / dev.emg_rate_hz;
    const auto i = std::min(acc.size() / 3 - 1, static_cast<std::size_t>(t * imu_rate));
    const double g = dev.imu[sacrum].accel_g_per_count;
    out.csv += fmt::format(",{:.6f},{:.6f},{:.6f}", acc[3 * i] * g, acc[3 * i + 1] * g, acc[3 * i + 2] * g);
    const bool on_imu_sample = static_cast<std::size_t>(t * imu_rate) !=
                                   static_cast<std::size_t>((t - 1.0 / dev.emg_rate_hz) * imu_rate) ||
                               r == 0;
    out.csv += on_imu_sample ? fmt::format(",{:.4f}", s.truth.joint_angles.values_deg[hip][i]) : ",";
    out.csv += code_at.count(r) != 0 ? fmt::format(",{}\n", code_at[r]) : ",\n";
  }
  for (const auto& c : s.montage.emg) {
    out.montage += fmt::format(
        "[[emg]]\ncolumn = \"{}\"\nmuscle = \"{}\"\nside = \"{}\"\nunit = \"counts\"\nmicrovolts_per_count = "
        "{:.17g}\n\n",
        c.label, to_string(c.muscle), to_string(c.side), c.microvolts_per_count);
  }
  out.montage += "[[events]]\ncolumn = \"marker\"\ncodes = {";
  std::string sep;
  for (const auto& [label, code] : codes)
    out.montage += fmt::format("{} \"{}\" = \"{}\"", sep, code, label), sep = ",";
  out.montage += " }\n";
  return out;
}

const std::string kAccel =
    "\n[[imu]]\nsegment = \"sacrum\"\naccelerometer = [\"ax\", \"ay\", \"az\"]\naccelerometer_unit = \"g\"\n";
const std::string kAngle =
    "\n[[angle]]\ncolumn = \"hip_deg\"\njoint = \"hip\"\nmotion = \"extension\"\nside = \"left\"\nunit = "
    "\"deg\"\n";

struct MotionImport : ::testing::Test {
  fs::path dir = test::make_temp_dir(std::string("gs-motion-") +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void TearDown() override { fs::remove_all(dir); }
  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return dir / name;
  }
  store::ImportOptions options(const fs::path& csv, const std::string& montage, const std::string& out) {
    store::ImportOptions o;
    o.input = csv;
    o.montage = write(out + ".toml", montage);
    o.time_column = "time_s";
    o.subject_id = "S";
    o.out = dir / (out + ".h5");
    o.force = true;  // one file per motion section, rewritten per scenario
    return o;
  }
};

// The one set of an imported session, analysed with the default settings.
exercise::SetAnalysis analysed_set(const fs::path& session) {
  const pipeline::AnalysisResult r =
      pipeline::analyse(pipeline::load_session(session), pipeline::kDefaultAnalysisPipelineSettings);
  if (r.analysis.sets.size() != 1)
    throw std::runtime_error(fmt::format("{} sets, expected 1", r.analysis.sets.size()));
  return r.analysis.sets.front();
}

const exercise::SetAnalysis& bridge_set(const pipeline::AnalysisResult& r) {
  for (const auto& s : r.analysis.sets)
    if (s.exercise == Exercise::bridge) return s;
  throw std::runtime_error("no bridge set");
}

TEST_F(MotionImport, AccelerometerAndAngleColumnsGiveTheNativeRepsAndVerdicts) {
  for (sim::Scenario scenario : {sim::Scenario::good, sim::Scenario::lumbar_dominant}) {
    const sim::SimulatedSession s = simulate(scenario);
    pipeline::LoadedSession native;
    native.data = validation::session_data_from_simulation(s);
    const pipeline::AnalysisResult want =
        pipeline::analyse(native, pipeline::kDefaultAnalysisPipelineSettings);
    const exercise::SetAnalysis& w = bridge_set(want);
    ASSERT_EQ(w.reps.size(), s.truth.schedule.reps.size());
    const Export e = export_csv(s);
    const fs::path csv = write("s.csv", e.csv);
    for (const auto& [name, section, source] :
         {std::tuple{"accel", kAccel, exercise::MotionSource::accelerometer},
          std::tuple{"angle", kAngle, exercise::MotionSource::angle}}) {
      SCOPED_TRACE(fmt::format("{} {}", sim::to_string(scenario), name));
      const store::ImportSummary sum = store::import_csv(options(csv, e.montage + section, name));
      EXPECT_EQ(sum.samples, s.emg_counts().size() / s.montage.emg.size());
      const pipeline::AnalysisResult got =
          pipeline::analyse(pipeline::load_session(dir / (std::string(name) + ".h5")),
                            pipeline::kDefaultAnalysisPipelineSettings);
      const exercise::SetAnalysis& g = bridge_set(got);
      EXPECT_EQ(g.motion_source, source);
      EXPECT_EQ(got.analysis.mvc_trials.size(), want.analysis.mvc_trials.size());
      ASSERT_EQ(g.reps.size(), w.reps.size());
      for (std::size_t k = 0; k < w.reps.size(); ++k) {
        // Tolerances: boundaries within 150 ms (motion resampled to 100 Hz, a different driving signal
        // for the angle channel); the verdicts identical.
        EXPECT_NEAR(g.reps[k].start_s, w.reps[k].start_s, 0.15) << k;
        EXPECT_NEAR(g.reps[k].end_s, w.reps[k].end_s, 0.15) << k;
        for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
          if (v == 3) continue;  // pelvic_compensation: the angle import has no pelvic channel
          EXPECT_EQ(exercise::verdict_at(g.reps[k].verdicts, v).state,
                    exercise::verdict_at(w.reps[k].verdicts, v).state)
              << k << " " << exercise::kVerdictNames[v];
        }
      }
    }
  }
}

TEST_F(MotionImport, RepEventsAndAnImpliedSetNeedNoMotionAtAll) {
  // Marker codes for rep boundaries only, and --exercise for the set: the truth reps come back.
  const sim::SimulatedSession s = simulate(sim::Scenario::good);
  const double rate = s.device_info.emg_rate_hz;
  const std::size_t rows = s.emg_counts().size() / s.montage.emg.size();
  std::vector<int> marker(rows, 0);
  for (const auto& r : s.truth.schedule.reps) {
    marker[static_cast<std::size_t>(std::lround(r.start_s * rate))] = 1;
    marker[static_cast<std::size_t>(std::lround(r.end_s * rate))] = 2;
  }
  std::string csv = "t,GMax,rep\n";
  const std::vector<std::int32_t> emg = s.emg_counts();
  const std::size_t ch = s.montage.emg.size();
  for (std::size_t r = 0; r < rows; ++r)
    csv += fmt::format("{:.6f},{},{}\n", static_cast<double>(r) / rate, emg[r * ch],
                       marker[r] == 0 ? "" : std::to_string(marker[r]));
  store::ImportOptions o =
      options(write("r.csv", csv),
              "[[emg]]\ncolumn = \"GMax\"\nmuscle = \"gluteus_maximus\"\nside = \"left\"\n"
              "unit = \"counts\"\n\n[[events]]\ncolumn = \"rep\"\n"
              "codes = { \"1\" = \"rep_start\", \"2\" = \"rep_end\" }\n",
              "rep");
  o.time_column = "t";
  o.exercise = "other:hip_extension";
  store::import_csv(o);
  const exercise::SetAnalysis set = analysed_set(o.out);
  EXPECT_EQ(set.exercise_name, "other:hip_extension");
  EXPECT_EQ(set.motion_source, exercise::MotionSource::events);
  ASSERT_EQ(set.reps.size(), s.truth.schedule.reps.size());
  for (std::size_t k = 0; k < set.reps.size(); ++k) {
    EXPECT_NEAR(set.reps[k].start_s, s.truth.schedule.reps[k].start_s, 1.0 / rate + 1e-9);
    EXPECT_EQ(set.reps[k].verdicts.glute_fired.state, exercise::VerdictState::not_available);
  }
}

TEST_F(MotionImport, BidsEventsGiveTheSetAndTheReps) {
  const sim::SimulatedSession s = simulate(sim::Scenario::good);
  const double rate = s.device_info.emg_rate_hz;
  const std::size_t ch = s.montage.emg.size();
  const std::vector<std::int32_t> emg = s.emg_counts();
  const std::size_t rows = emg.size() / ch;
  std::string csv = "GMax\n";
  for (std::size_t r = 0; r < rows; ++r) csv += fmt::format("{}\n", emg[r * ch]);
  const auto& reps = s.truth.schedule.reps;
  std::string tsv = "onset\tduration\ttrial_type\tvalue\n";
  const double set0 = reps.front().start_s - 2.0, set1 = reps.back().end_s + 1.0;
  tsv += fmt::format("{:.4f}\t{:.4f}\tother:hip_extension\tn/a\n", set0, set1 - set0);
  for (const auto& r : reps) tsv += fmt::format("{:.4f}\t{:.4f}\trep\tn/a\n", r.start_s, r.end_s - r.start_s);
  tsv += fmt::format("{:.4f}\tn/a\tpatient coughed\tn/a\n", set1);
  store::ImportOptions o =
      options(write("g.csv", csv),
              "[[emg]]\ncolumn = \"GMax\"\nmuscle = \"gluteus_maximus\"\nside = \"left\"\n"
              "unit = \"counts\"\nrole = \"target\"\n",
              "bids");
  o.time_column.clear();
  o.rate_hz = rate;
  o.events_tsv = write("events.tsv", tsv);
  store::import_csv(o);
  EXPECT_EQ(pipeline::load_session(o.out).data.montage.emg.at(0).role, "target");  // stored and read back
  const exercise::SetAnalysis set = analysed_set(o.out);
  EXPECT_EQ(set.exercise_name, "other:hip_extension");
  EXPECT_NEAR(set.start_s, set0, 1e-3);
  EXPECT_NEAR(set.stop_s, set1, 1e-3);
  EXPECT_EQ(set.motion_source, exercise::MotionSource::events);
  ASSERT_EQ(set.reps.size(), reps.size());
  for (std::size_t k = 0; k < reps.size(); ++k) EXPECT_NEAR(set.reps[k].end_s, reps[k].end_s, 1e-3);

  // Malformed: one line naming the events file and its line; nothing written.
  const std::vector<std::pair<std::string, std::string>> bad{
      {"onset\tduration\n1\t2\n", "events.tsv:1: no 'trial_type' column"},
      {"onset\tduration\ttrial_type\n1\t2\trep\nabc\t1\trep\n", "events.tsv:3: onset 'abc'"},
      {"onset\tduration\ttrial_type\n1\t9999\tbridge\n", "events.tsv:2: event 1-10000 s is outside"},
      {"onset\tduration\ttrial_type\n1\t0\tbridge\n", "events.tsv:2: 'bridge' needs a duration > 0"},
      {"onset\tduration\ttrial_type\n1\t2\tmvc:quadriceps\n", "unknown muscle"}};
  for (const auto& [text, expect] : bad) {
    o.events_tsv = write("events.tsv", text);
    o.out = dir / "bad.h5";
    try {
      store::import_csv(o);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const store::ImportError& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(o.out));
  }
}

struct EdfSignal {
  std::string label, unit;
  int rate = 0;
  double range = 0.0;  // physical ± range
  std::vector<double> values;
};
struct EdfAnnotation {
  double onset_s = 0.0, duration_s = -1.0;
  std::string text;
};

// An EDF+ of whole 1-s records, written with EDFlib (signals at their own rates).
void write_edf(const fs::path& path, const std::vector<EdfSignal>& signals,
               const std::vector<EdfAnnotation>& annotations) {
  const int h =
      edfopen_file_writeonly(path.c_str(), EDFLIB_FILETYPE_EDFPLUS, static_cast<int>(signals.size()));
  ASSERT_GE(h, 0);
  std::size_t records = SIZE_MAX;
  for (std::size_t k = 0; k < signals.size(); ++k) {
    const EdfSignal& sg = signals[k];
    const int i = static_cast<int>(k);
    ASSERT_EQ(edf_set_samplefrequency(h, i, sg.rate), 0);
    ASSERT_EQ(edf_set_physical_maximum(h, i, sg.range), 0);
    ASSERT_EQ(edf_set_physical_minimum(h, i, -sg.range), 0);
    ASSERT_EQ(edf_set_digital_maximum(h, i, 32767), 0);
    ASSERT_EQ(edf_set_digital_minimum(h, i, -32768), 0);
    ASSERT_EQ(edf_set_label(h, i, sg.label.c_str()), 0);
    ASSERT_EQ(edf_set_physical_dimension(h, i, sg.unit.c_str()), 0);
    records = std::min(records, sg.values.size() / static_cast<std::size_t>(sg.rate));
  }
  for (std::size_t rec = 0; rec < records; ++rec) {
    for (const EdfSignal& sg : signals) {
      std::vector<double> buf(sg.values.begin() + static_cast<std::ptrdiff_t>(rec * sg.rate),
                              sg.values.begin() + static_cast<std::ptrdiff_t>((rec + 1) * sg.rate));
      ASSERT_EQ(edfwrite_physical_samples(h, buf.data()), 0);
    }
  }
  const auto tenth_ms = [](double t) { return static_cast<long long>(std::llround(t * 10000.0)); };
  for (const EdfAnnotation& a : annotations) {
    const long long duration = a.duration_s < 0.0 ? -1 : tenth_ms(a.duration_s);
    ASSERT_EQ(edfwrite_annotation_utf8(h, tenth_ms(a.onset_s), duration, a.text.c_str()), 0);
  }
  ASSERT_EQ(edfclose_file(h), 0);
}

EdfSignal gmax_signal(const sim::SimulatedSession& s) {
  const std::size_t ch = s.montage.emg.size();
  const std::vector<std::int32_t> emg = s.emg_counts();
  EdfSignal g{"GMax_L", "uV", static_cast<int>(s.device_info.emg_rate_hz), 3000.0, {}};
  for (std::size_t r = 0; r < emg.size() / ch; ++r)
    g.values.push_back(emg[r * ch] * s.montage.emg[0].microvolts_per_count);
  return g;
}

TEST_F(MotionImport, EdfPlusAnnotationsBecomeTheSetAndTheReps) {
  // One EMG signal (µV) and annotations for the set (with its duration) and each repetition: imported, the
  // annotations are the set and the rep events.
  const sim::SimulatedSession s = simulate(sim::Scenario::good);
  const auto& reps = s.truth.schedule.reps;
  const double set0 = reps.front().start_s - 2.0, set1 = reps.back().end_s + 1.0;
  std::vector<EdfAnnotation> notes{{set0, set1 - set0, "other:hip_extension"}, {set1, -1.0, "a note"}};
  for (const auto& r : reps) notes.push_back({r.start_s, r.end_s - r.start_s, "rep"});
  write_edf(dir / "s.edf", {gmax_signal(s)}, notes);

  store::ImportOptions o;
  o.input = dir / "s.edf";
  o.subject_id = "S";
  o.out = dir / "edf.h5";
  store::import_edf(o);
  const exercise::SetAnalysis set = analysed_set(o.out);
  EXPECT_EQ(set.exercise_name, "other:hip_extension");
  EXPECT_NEAR(set.start_s, set0, 1e-3);
  EXPECT_EQ(set.motion_source, exercise::MotionSource::events);
  ASSERT_EQ(set.reps.size(), reps.size());
  for (std::size_t k = 0; k < reps.size(); ++k) {
    EXPECT_NEAR(set.reps[k].start_s, reps[k].start_s, 1e-3);
    EXPECT_NEAR(set.reps[k].end_s, reps[k].end_s, 1e-3);
  }
}

TEST_F(MotionImport, EdfAccelerometerSignalsMappedByTheMontageSegmentTheBridge) {
  // EMG at 2 kHz and the sacral accelerometer at the IMU rate as three EDF signals, one "bridge" annotation:
  // the reps come from the accelerometer and match the native session's within 150 ms.
  const sim::SimulatedSession s = simulate(sim::Scenario::good);
  pipeline::LoadedSession native;
  native.data = validation::session_data_from_simulation(s);
  const pipeline::AnalysisResult native_result =
      pipeline::analyse(native, pipeline::kDefaultAnalysisPipelineSettings);
  const exercise::SetAnalysis& want = bridge_set(native_result);
  const auto sacrum = *s.montage.find_imu(Segment::sacrum);
  const std::vector<std::int16_t> acc = s.imu_accel(static_cast<std::uint8_t>(sacrum));
  std::vector<EdfSignal> signals{gmax_signal(s)};
  for (std::size_t k = 0; k < 3; ++k) {
    EdfSignal a{
        std::string("ACC_") + "XYZ"[k], "g", static_cast<int>(s.device_info.imu[sacrum].rate_hz), 4.0, {}};
    for (std::size_t n = k; n < acc.size(); n += 3)
      a.values.push_back(acc[n] * s.device_info.imu[sacrum].accel_g_per_count);
    signals.push_back(std::move(a));
  }
  double set0 = 0.0, set1 = 0.0;
  for (const Event& e : s.events) {
    if (e.exercise == Exercise::bridge) (e.kind == EventKind::set_start ? set0 : set1) = e.time_s;
  }
  write_edf(dir / "a.edf", signals, {{set0, set1 - set0, "bridge"}});
  store::ImportOptions o;
  o.input = dir / "a.edf";
  o.montage = write("a.toml",
                    "[[emg]]\ncolumn = \"GMax_L\"\nmuscle = \"gluteus_maximus\"\nside = \"left\"\n\n[[imu]]\n"
                    "segment = \"sacrum\"\naccelerometer = [\"ACC_X\", \"ACC_Y\", \"ACC_Z\"]\n");
  o.subject_id = "S";
  o.out = dir / "a.h5";
  store::import_edf(o);
  const exercise::SetAnalysis set = analysed_set(o.out);
  EXPECT_EQ(set.motion_source, exercise::MotionSource::accelerometer);
  ASSERT_EQ(set.reps.size(), want.reps.size());
  for (std::size_t k = 0; k < want.reps.size(); ++k) {
    EXPECT_NEAR(set.reps[k].start_s, want.reps[k].start_s, 0.15) << k;
    EXPECT_NEAR(set.reps[k].end_s, want.reps[k].end_s, 0.15) << k;
  }
}

TEST_F(MotionImport, MalformedMotionInputIsOneLineAndWritesNothing) {
  const std::string csv = "t,E,a,m\n0,1,10,\n0.001,2,,\n0.002,3,x,\n";
  const std::string emg = "[[emg]]\ncolumn = \"E\"\nunit = \"counts\"\n";
  struct Case {
    Case(std::string m, std::string c, std::string e, std::string ev = {})
        : montage(std::move(m)), csv(std::move(c)), expect(std::move(e)), events(std::move(ev)) {}
    std::string montage, csv, expect;
    std::string events;  // a BIDS events table given with --events, when not empty
  };
  const std::vector<Case> cases{
      {emg + "[[angle]]\ncolumn = \"nope\"\njoint = \"hip\"\nmotion = \"extension\"\n", csv,
       "'nope' does not exist"},
      {emg + "[[angle]]\ncolumn = \"a\"\njoint = \"hip\"\nmotion = \"extension\"\nunit = \"grad\"\n", csv,
       "unit 'grad' is not deg or rad"},
      {emg + "[[angle]]\ncolumn = \"a\"\njoint = \"elbow\"\nmotion = \"extension\"\n", csv, "joint 'elbow'"},
      {emg + "[[angle]]\ncolumn = \"a\"\njoint = \"hip\"\nmotion = \"extension\"\ncolour = 1\n", csv,
       "unknown key 'colour'"},
      {emg + "[[angle]]\ncolumn = \"a\"\njoint = \"hip\"\nmotion = \"extension\"\n", csv,
       ":4: column 'a': 'x'"},
      {emg + "[[imu]]\nsegment = \"sacrum\"\naccelerometer = [\"a\", \"a\", \"a\"]\naccelerometer_unit = "
             "\"G\"\n",
       csv, "accelerometer_unit 'G'"},
      {emg + "[[events]]\ncolumn = \"m\"\ncodes = { \"1\" = \"set_start:squat\" }\n", csv, "squat"},
      // A time column that goes back (times 0, 0.002, 0.001 s: a mean period of 0.5 ms from the first and
      // last rows; line 3, at 2 ms, is the first off that grid) and a BIDS event past the 3-ms recording.
      {emg, "t,E\n0,1\n0.002,2\n0.001,3\n", "bad.csv:3: time column 't' is not uniform"},
      {emg, "t,E\n0,1\n0.001,2\n0.002,3\n", "is outside the recording",
       "onset\tduration\ttrial_type\n5\t1\tbridge\n"},
  };
  for (const Case& c : cases) {
    store::ImportOptions o = options(write("bad.csv", c.csv), c.montage, "bad");
    o.time_column = "t";
    if (!c.events.empty()) o.events_tsv = write("bad_events.tsv", c.events);
    try {
      store::import_csv(o);
      ADD_FAILURE() << "accepted: " << c.montage << c.csv;
    } catch (const store::ImportError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(c.expect), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
    EXPECT_FALSE(fs::exists(o.out));
  }
}

}  // namespace
}  // namespace glutescope
