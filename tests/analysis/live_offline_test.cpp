// Live and offline are one analysis core (docs/VALIDATION.md "Live vs offline"): for the same session the
// live consumer (causal streaming conditioning, causal segmenter) and the offline analysis (zero-phase, two-
// pass segmenter) give the same verdict for every rep and onsets within a stated tolerance; a device attached
// mid-stream with a start-up delay puts live windows exactly where the unshifted session has them and
// offline windows where live has them; an error inside live analysis never stops a recording.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <fmt/core.h>
#include <fmt/format.h>

#include "analysis/live_feed.hpp"
#include "analysis/sim_session.hpp"
#include "exercise/session_analysis.hpp"
#include "io/file_replay_source.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/live_analysis.hpp"
#include "pipeline/recorder.hpp"
#include "simulator/frames.hpp"
#include "store/session_reader.hpp"
#include "store/session_writer.hpp"
#include "validation/validation.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;

std::vector<pipeline::LiveRep> run_live(const sim::SimulatedSession& session,
                                        const pipeline::AnalysisPipelineSettings& settings,
                                        const test::LiveFeedShift& shift = {},
                                        std::vector<double>* mvc_reference = nullptr) {
  pipeline::AnalysisPipelineSettings s = settings;
  s.live.queue_capacity_blocks = 1000000;  // unpaced feed: nothing may be dropped
  pipeline::LiveAnalysis live(session.montage, s, nullptr);
  test::feed_live(live, session, shift);
  live.stop();
  EXPECT_EQ(live.dropped_blocks(), 0u);
  EXPECT_EQ(live.error(), "");
  if (mvc_reference != nullptr) *mvc_reference = live.mvc_reference_uv();
  return live.reps();
}

sim::SimulatorSettings grid_cell(Exercise exercise, sim::Scenario scenario, std::uint64_t seed, double snr,
                                 bool contaminated, int reps) {
  sim::SimulatorSettings ss;
  ss.exercise = exercise;
  ss.scenario = scenario;
  ss.seed = seed;
  ss.snr_db = snr;
  ss.reps = reps;
  ss.mvc_trials = true;
  if (contaminated) {
    ss.contaminants.mains = sim::Mains::hz50;
    ss.contaminants.baseline_wander = true;
    ss.contaminants.ecg = true;
    ss.contaminants.motion_artefacts = true;
  }
  return ss;
}

double percentile(std::vector<double> x, double p) {
  if (x.empty()) return 0.0;
  std::sort(x.begin(), x.end());
  const double at = p / 100.0 * static_cast<double>(x.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(at));
  const std::size_t hi = std::min(lo + 1, x.size() - 1);
  return x[lo] + (at - static_cast<double>(lo)) * (x[hi] - x[lo]);
}

// Tolerance on |live onset − offline onset| (ms), p95 over every channel onset both detect in the grid.
// The causal chain delays an onset by the group delay of the band-pass + |TKEO| low-pass near their
// pass-band (a few ms each at 2 kHz; docs/VALIDATION.md) and the threshold sees a slightly different
// baseline; 15 ms is the stated tolerance, measured on the validate grid in docs/VALIDATION.md.
constexpr double kOnsetToleranceP95Ms = 25.0;

// A verdict may differ between live and offline only on a borderline rep: the offline value within the
// onset tolerance (late_glute, ms) or within 10 % (amplitude ratios) of its threshold. A threshold verdict on
// values that differ by a tolerance cannot be identical closer to its threshold than that tolerance.
bool borderline(const exercise::Verdict& offline) {
  if (!std::isfinite(offline.value) || !std::isfinite(offline.threshold)) return false;
  const double distance = std::abs(offline.value - offline.threshold);
  return distance <= kOnsetToleranceP95Ms || distance <= 0.1 * std::abs(offline.threshold);
}

// GLUTESCOPE_LIVE_GRID=full runs the validate grid (seeds 101-103, SNR 30/20/15/10, 8 reps) for the docs;
// the default is a reduced grid (seed 201, SNR 30 and 15, 5 reps) that keeps the test suite short.
TEST(LiveVsOffline, SameVerdictsPerRepAndOnsetsWithinToleranceOnTheValidateGrid) {
  const char* grid = std::getenv("GLUTESCOPE_LIVE_GRID");
  const bool full = grid != nullptr && std::string(grid) == "full";
  const std::vector<std::uint64_t> seeds =
      full ? std::vector<std::uint64_t>{101, 102, 103} : std::vector<std::uint64_t>{201};
  const std::vector<double> snrs = full ? std::vector<double>{30, 20, 15, 10} : std::vector<double>{30, 15};
  const int reps = full ? 8 : 5;
  std::vector<double> onset_diff_ms, onset_signed_ms;
  int runs = 0, rep_pairs = 0, verdicts = 0, verdict_mismatch = 0, borderline_mismatch = 0,
      count_mismatch = 0;
  for (Exercise ex : {Exercise::bridge, Exercise::clamshell}) {
    for (sim::Scenario sc : sim::all_scenarios()) {
      if (!sim::scenario_applies(sc, ex)) continue;
      for (std::uint64_t seed : seeds) {
        for (double snr : snrs) {
          for (bool cont : {false, true}) {
            const sim::SimulatedSession session = sim::simulate(grid_cell(ex, sc, seed, snr, cont, reps));
            pipeline::AnalysisPipelineSettings settings;
            if (cont) settings.scoring.emg.mains_hz = 50.0;
            // The clamshell's moving leg: offline picks the thigh that rotated most, live must know it at
            // the set start (the operator's marker names it; the simulator moves the left leg).
            settings.live.clamshell_upper_side = Side::left;
            const auto offline = exercise::analyse_session(validation::session_data_from_simulation(session),
                                                           settings.scoring);
            const auto live = run_live(session, settings);
            ++runs;
            const exercise::SetAnalysis* set = nullptr;
            for (const auto& s : offline.sets) set = s.exercise == ex ? &s : set;
            ASSERT_NE(set, nullptr);
            if (live.size() != set->reps.size()) {
              ++count_mismatch;
              ADD_FAILURE() << to_string(ex) << " " << sim::to_string(sc) << " seed " << seed << " snr "
                            << snr << (cont ? " contaminated" : "") << ": live " << live.size()
                            << " reps, offline " << set->reps.size();
              continue;
            }
            for (std::size_t r = 0; r < live.size(); ++r) {
              const exercise::RepScore& l = live[r].score;
              const exercise::RepScore& o = set->reps[r];
              ++rep_pairs;
              for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
                ++verdicts;
                if (exercise::verdict_at(l.verdicts, v).state != exercise::verdict_at(o.verdicts, v).state) {
                  if (borderline(exercise::verdict_at(o.verdicts, v))) {
                    ++borderline_mismatch;
                    continue;
                  }
                  ++verdict_mismatch;
                  ADD_FAILURE() << to_string(ex) << " " << sim::to_string(sc) << " seed " << seed << " snr "
                                << snr << (cont ? " contaminated" : "") << " rep " << r << " "
                                << exercise::kVerdictNames[v] << ": live '" << l.summary << "' ("
                                << exercise::verdict_at(l.verdicts, v).reason << ") offline '" << o.summary
                                << "' (" << exercise::verdict_at(o.verdicts, v).reason << ")";
                }
              }
              for (std::size_t c = 0; c < l.channels.size() && c < o.channels.size(); ++c) {
                if (!l.channels[c].onset_detected || !o.channels[c].onset_detected) continue;
                const double d = 1000.0 * (l.channels[c].onset_s - o.channels[c].onset_s);
                onset_signed_ms.push_back(d);
                onset_diff_ms.push_back(std::abs(d));
              }
            }
          }
        }
      }
    }
  }
  const double median = percentile(onset_diff_ms, 50), p95 = percentile(onset_diff_ms, 95),
               worst = percentile(onset_diff_ms, 100), bias = percentile(onset_signed_ms, 50);
  // The figures docs/VALIDATION.md quotes (printed, not compared with themselves).
  std::printf(
      "live vs offline (%s grid): %d runs, %d rep pairs, %d verdicts, %d differ (+%d borderline), %d count "
      "mismatches; "
      "|onset live - offline| median %.2f ms, p95 %.2f ms, max %.2f ms (n=%zu, signed median %+.2f ms)\n",
      full ? "full" : "reduced", runs, rep_pairs, verdicts, verdict_mismatch, borderline_mismatch,
      count_mismatch, median, p95, worst, onset_diff_ms.size(), bias);
  EXPECT_EQ(verdict_mismatch, 0);
  EXPECT_EQ(count_mismatch, 0);
  EXPECT_GT(onset_diff_ms.size(), 100u);
  EXPECT_LE(p95, kOnsetToleranceP95Ms);
}

// A device attached mid-stream (sample counters start at 5000, not 0) and a 3 s start-up delay (the first
// sample 3 s after session time 0, every event 3 s later on the host clock): through the one time model live
// places the set, its baseline and every rep exactly 5000 samples later than in the unshifted session, and
// the offline analysis of the same shifted recording (timing fit in the file) agrees with live.
TEST(LiveVsOffline, MidStreamDeviceAndStartupDelayGiveTheSameWindowsLiveAndOffline) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("gs-live-clock-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  sim::SimulatorSettings ss = grid_cell(Exercise::bridge, sim::Scenario::good, 7, 20.0, false, 4);
  const sim::SimulatedSession session = sim::simulate(ss);
  const double emg_rate = session.device_info.emg_rate_hz, imu_rate = session.device_info.imu[0].rate_hz;
  test::LiveFeedShift shift;
  shift.emg_first_sample = 5000;
  shift.imu_first_sample = static_cast<std::uint64_t>(std::llround(5000 * imu_rate / emg_rate));
  ASSERT_DOUBLE_EQ(static_cast<double>(shift.imu_first_sample) / imu_rate, 5000 / emg_rate);
  shift.startup_delay_s = 3.0;
  shift.send_clock = true;
  const pipeline::AnalysisPipelineSettings settings;

  std::vector<double> mvc_plain, mvc_shifted;
  const auto plain = run_live(session, settings, {}, &mvc_plain);
  const auto shifted = run_live(session, settings, shift, &mvc_shifted);
  ASSERT_EQ(plain.size(), session.truth.schedule.reps.size());
  ASSERT_EQ(shifted.size(), plain.size());
  const double dt = 5000 / emg_rate;
  for (std::size_t r = 0; r < plain.size(); ++r) {
    EXPECT_EQ(shifted[r].set_window.begin, plain[r].set_window.begin + 5000) << r;
    EXPECT_EQ(shifted[r].baseline_window.begin, plain[r].baseline_window.begin + 5000) << r;
    EXPECT_EQ(shifted[r].baseline_window.end, plain[r].baseline_window.end + 5000) << r;
    EXPECT_NEAR(shifted[r].score.start_s, plain[r].score.start_s + dt, 1e-9) << r;
    EXPECT_EQ(shifted[r].score.summary, plain[r].score.summary) << r;
    for (std::size_t c = 0; c < plain[r].score.channels.size(); ++c) {
      // Same samples through the same filters (the leading zeros leave the state at zero): same bits.
      EXPECT_EQ(shifted[r].score.channels[c].mean_pct, plain[r].score.channels[c].mean_pct) << r << " " << c;
      // The onset state moved with the clock too; only a detected onset has a time (issue 14).
      EXPECT_EQ(shifted[r].score.channels[c].onset_state, plain[r].score.channels[c].onset_state)
          << r << " " << c;
      if (plain[r].score.channels[c].onset_detected)
        EXPECT_NEAR(shifted[r].score.channels[c].onset_s, plain[r].score.channels[c].onset_s + dt, 1e-9);
      else
        ADD_FAILURE() << "rep " << r << " channel " << c << " state "
                      << exercise::to_string(plain[r].score.channels[c].onset_state);
    }
  }
  ASSERT_EQ(mvc_shifted.size(), mvc_plain.size());
  for (std::size_t c = 0; c < mvc_plain.size(); ++c) {
    EXPECT_TRUE(std::isfinite(mvc_plain[c])) << c;
    EXPECT_EQ(mvc_shifted[c], mvc_plain[c]) << c;  // the MVC window moved with the clock
  }

  // The recording the recorder would have written: shifted indices, events on the host clock, the fit.
  {
    store::SessionWriterOptions o;
    o.force = true;
    o.journal = false;
    o.session_start_time = "2024-01-01T10:00:00+00:00";
    o.host_clock_at_start_s = shift.host_clock_at_start_s;
    store::SessionWriter writer(dir / "shifted.h5", session.device_info, session.montage, "S1", o);
    for (EmgBlock b : session.emg) {
      b.device_time_us = static_cast<std::uint64_t>(std::llround(
          (shift.device_clock_at_first_sample_s + static_cast<double>(b.first_sample) / emg_rate) * 1e6));
      b.first_sample += shift.emg_first_sample;
      writer.append(b);
    }
    for (ImuBlock b : session.imu) {
      b.first_sample += shift.imu_first_sample;
      writer.append(b);
    }
    for (Event e : session.events) {
      e.time_s += shift.startup_delay_s;
      writer.add_event(e);
    }
    const ClockMapping m = test::shifted_clock(shift);
    writer.set_timing_fit(store::TimingFit{m.offset_s, 0.0, 0.0, 10});
    writer.close();
  }
  const auto offline = pipeline::analyse(pipeline::load_session(dir / "shifted.h5"), settings);
  const exercise::SetAnalysis* set = nullptr;
  for (const auto& s : offline.analysis.sets) set = s.exercise == Exercise::bridge ? &s : set;
  ASSERT_NE(set, nullptr);
  ASSERT_EQ(set->reps.size(), shifted.size());
  EXPECT_NEAR(set->start_s, static_cast<double>(shifted.front().set_window.begin) / emg_rate, 1e-6);
  for (std::size_t r = 0; r < shifted.size(); ++r) {
    EXPECT_EQ(set->reps[r].summary, shifted[r].score.summary) << r;
    EXPECT_NEAR(set->reps[r].start_s, shifted[r].score.start_s, 0.25) << r;
  }
  for (std::size_t c = 0; c < mvc_shifted.size(); ++c) {
    // Causal live vs zero-phase offline over the same MVC window: close, not equal.
    EXPECT_NEAR(mvc_shifted[c], offline.analysis.mvc_reference_uv[c],
                0.1 * offline.analysis.mvc_reference_uv[c]);
  }
  fs::remove_all(dir);
}

// Settings that load but that live analysis cannot use on this device (a band-pass whose low edge lies above
// 0.45 × the EMG rate): the live worker prints one line and stops scoring; the recording completes and the
// file holds every sample.
TEST(LiveVsOffline, AnErrorInLiveAnalysisNeverStopsTheRecording) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("gs-live-error-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  sim::SimulatorSettings s;
  s.reps = 2;
  const sim::SimulatedSession session = sim::simulate(s);
  const auto bytes = sim::encode_frames(session);
  std::ofstream(dir / "frames.bin", std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  std::ofstream(dir / "bad.toml") << "[emg]\nbandpass_low_hz = 950\nbandpass_high_hz = 1000\n";
  const pipeline::AnalysisPipelineSettings settings =
      pipeline::load_analysis_settings((dir / "bad.toml").string());
  std::FILE* lines = std::tmpfile();
  pipeline::LiveAnalysis live(session.montage, settings, lines);
  pipeline::RecordOptions o;
  o.subject_id = "E1";
  o.out = dir / "rec.h5";
  o.keyboard = false;
  o.log = std::tmpfile();
  o.end_when_source_closes = true;
  o.source_factory = [&] {
    return std::make_unique<io::FileReplaySource>(
        io::FileReplaySettings{(dir / "frames.bin").string(), 4096, 0.0});
  };
  o.live_consumer = &live;
  o.clock_consumer = [&](double h, const ClockMapping& m) { live.on_clock(h, m); };
  const auto summary = pipeline::run_recording(o);
  live.stop();
  EXPECT_EQ(summary.emg_samples, session.truth.emg_samples);
  EXPECT_EQ(store::SessionReader(o.out).emg_rows(), session.truth.emg_samples);
  EXPECT_NE(live.error(), "");
  std::rewind(lines);
  char buf[512];
  std::vector<std::string> printed;
  while (std::fgets(buf, sizeof buf, lines) != nullptr) printed.emplace_back(buf);
  ASSERT_EQ(printed.size(), 1u) << fmt::format("{}", fmt::join(printed, ""));
  EXPECT_EQ(printed[0].rfind("live analysis stopped: ", 0), 0u) << printed[0];
  EXPECT_LE(printed[0].size(), 201u) << printed[0];
  EXPECT_TRUE(live.reps().empty());
  std::fclose(lines);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
