// sEMG model: spectrum, activation timing against the ground truth, scenario differences, SNR, contaminants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "signal_helpers.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"

namespace glutescope::sim {
namespace {

using test::channel_uv;
using test::index_at;
using test::rms;

SimulatorSettings settings_for(Scenario scenario, Exercise exercise = Exercise::bridge, int reps = 6) {
  SimulatorSettings s;
  s.scenario = scenario;
  s.exercise = exercise;
  s.reps = reps;
  s.seed = 42;
  return s;
}

// Mean %MVIC of a channel over the plateau of the concentric phase of every rep, measured from samples.
double measured_mvic_pct(const SimulatedSession& session, std::size_t channel) {
  const auto x = channel_uv(session, channel);
  const double rate = session.settings.emg_rate_hz;
  double sum = 0.0;
  for (const RepPlan& rep : session.truth.schedule.reps) {
    sum += rms(x, index_at(rep.start_s + 0.5, rate), index_at(rep.concentric_end_s - 0.1, rate));
  }
  return 100.0 * sum / static_cast<double>(session.truth.schedule.reps.size()) /
         session.truth.emg_channels[channel].mvic_rms_uv;
}

TEST(SimulatorEmg, MedianFrequencyOfEveryActiveChannelIsPhysiological) {
  for (const double rate : {1000.0, 2000.0, 4000.0}) {
    SimulatorSettings s = settings_for(Scenario::good);
    s.emg_rate_hz = rate;
    const SimulatedSession session = simulate(s);
    for (std::size_t c = 0; c < session.montage.emg.size(); ++c) {
      const auto x = channel_uv(session, c);
      test::WelchPsd psd(static_cast<std::size_t>(rate / 8.0));  // 125 ms segments, 8 Hz resolution
      for (const RepPlan& rep : session.truth.schedule.reps) {
        psd.add(x, index_at(rep.onset_s[c] + 0.15, rate), index_at(rep.hold_end_s, rate));
      }
      ASSERT_GT(psd.segments(), 20U);
      const double mdf = psd.median_frequency(rate);
      EXPECT_GE(mdf, 60.0) << session.montage.emg[c].label << " at " << rate << " Hz";
      EXPECT_LE(mdf, 120.0) << session.montage.emg[c].label << " at " << rate << " Hz";
    }
  }
}

TEST(SimulatorEmg, EnvelopeOnsetsAndOffsetsMatchTheTruth) {
  for (const Scenario scenario : {Scenario::good, Scenario::late_glute, Scenario::lumbar_dominant}) {
    const SimulatedSession session = simulate(settings_for(scenario));
    const double rate = session.settings.emg_rate_hz;
    for (std::size_t c = 0; c < session.montage.emg.size(); ++c) {
      const auto envelope = test::moving_rms(channel_uv(session, c), index_at(0.050, rate));  // 50 ms RMS
      for (const RepPlan& rep : session.truth.schedule.reps) {
        // Threshold: 10 % of this rep's concentric level, far above the noise at 30 dB SNR.
        const double threshold = 0.1 * rep.level_mvic[c] * session.truth.emg_channels[c].mvic_rms_uv;
        std::size_t n = index_at(rep.onset_s[c] - 0.5, rate);
        while (envelope[n] < threshold) ++n;
        const double detected_onset = static_cast<double>(n) / rate;
        EXPECT_NEAR(detected_onset, rep.onset_s[c], 0.030)
            << to_string(scenario) << " " << session.montage.emg[c].label << " rep " << rep.index;
        std::size_t m = index_at(rep.offset_s[c] + 0.5, rate);
        while (envelope[m] < threshold) --m;
        const double detected_offset = static_cast<double>(m) / rate;
        // The offset ramp falls from the (lower) eccentric level, so the crossing sits earlier in the ramp.
        EXPECT_NEAR(detected_offset, rep.offset_s[c], 0.050)
            << to_string(scenario) << " " << session.montage.emg[c].label << " rep " << rep.index;
      }
    }
  }
}

TEST(SimulatorEmg, SilentGluteStaysBelowFivePercentMvic) {
  for (const Exercise exercise : {Exercise::bridge, Exercise::clamshell}) {
    const SimulatedSession session = simulate(settings_for(Scenario::silent_glute, exercise));
    const double rate = session.settings.emg_rate_hz;
    for (std::size_t c = 0; c < session.montage.emg.size(); ++c) {
      const Muscle m = session.montage.emg[c].muscle;
      if (m != Muscle::gluteus_maximus && m != Muscle::gluteus_medius) continue;
      const auto envelope = test::moving_rms(channel_uv(session, c), index_at(0.250, rate));
      double peak = 0.0;
      for (double v : envelope) peak = std::max(peak, v);
      EXPECT_LT(100.0 * peak / session.truth.emg_channels[c].mvic_rms_uv, 5.0)
          << session.montage.emg[c].label;
    }
  }
}

TEST(SimulatorEmg, ScenarioDifferencesShowInTheSamples) {
  const Montage montage = default_montage();
  const std::size_t gmax = *montage.find(Muscle::gluteus_maximus, Side::left);
  const std::size_t es = *montage.find(Muscle::erector_spinae_lumbar, Side::left);
  const std::size_t bf = *montage.find(Muscle::biceps_femoris, Side::left);

  const SimulatedSession good = simulate(settings_for(Scenario::good));
  EXPECT_GT(measured_mvic_pct(good, gmax), 25.0);
  EXPECT_LT(measured_mvic_pct(good, gmax), 55.0);
  EXPECT_GT(measured_mvic_pct(good, gmax), 2.0 * measured_mvic_pct(good, es));
  for (const RepPlan& rep : good.truth.schedule.reps) EXPECT_LT(rep.onset_s[gmax], rep.onset_s[es]);

  const SimulatedSession lumbar = simulate(settings_for(Scenario::lumbar_dominant));
  EXPECT_GE(measured_mvic_pct(lumbar, es), measured_mvic_pct(lumbar, gmax));

  const SimulatedSession late = simulate(settings_for(Scenario::late_glute));
  for (const RepPlan& rep : late.truth.schedule.reps) {
    EXPECT_GT(rep.onset_s[gmax], rep.onset_s[es] + 0.100);
    EXPECT_LT(rep.onset_s[gmax], rep.onset_s[es] + 0.300 + 0.011);
  }

  const SimulatedSession hamstring = simulate(settings_for(Scenario::hamstring_dominant));
  EXPECT_GT(measured_mvic_pct(hamstring, bf), measured_mvic_pct(hamstring, gmax));
}

TEST(SimulatorEmg, MeasuredSnrMatchesTheSetting) {
  for (const double snr_db : {10.0, 20.0, 30.0}) {
    SimulatorSettings s = settings_for(Scenario::good);
    s.snr_db = snr_db;
    const SimulatedSession session = simulate(s);
    const double rate = s.emg_rate_hz;
    for (std::size_t c = 0; c < session.montage.emg.size(); ++c) {
      const auto x = channel_uv(session, c);
      // Noise power from the initial still period (no activation, no contaminants).
      const double noise = test::mean_square(x, index_at(0.1, rate), index_at(2.9, rate));
      double active_sum = 0.0;
      std::size_t active_n = 0;
      for (const RepPlan& rep : session.truth.schedule.reps) {
        for (std::size_t n = index_at(rep.onset_s[c], rate); n < index_at(rep.offset_s[c], rate); ++n) {
          active_sum += x[n] * x[n];
          ++active_n;
        }
      }
      const double active = active_sum / static_cast<double>(active_n);
      const double measured_db = 10.0 * std::log10((active - noise) / noise);
      EXPECT_NEAR(measured_db, snr_db, 1.5) << session.montage.emg[c].label;
    }
  }
}

TEST(SimulatorEmg, NothingClipsAtDefaultSettingsEvenDuringMvcTrials) {
  SimulatorSettings s = settings_for(Scenario::good);
  s.mvc_trials = true;
  s.contaminants.baseline_wander = true;
  s.contaminants.motion_artefacts = true;
  const SimulatedSession session = simulate(s);
  for (const auto& ch : session.truth.emg_channels) EXPECT_EQ(ch.clipped_samples, 0U);
  const auto counts = session.emg_counts();
  const auto [lo, hi] = std::minmax_element(counts.begin(), counts.end());
  EXPECT_GT(*lo, -32768);
  EXPECT_LT(*hi, 32767);
}

TEST(SimulatorEmg, MvcTrialsNormaliseRepsToTheirTruthLevel) {
  SimulatorSettings s = settings_for(Scenario::good);
  s.mvc_trials = true;
  const SimulatedSession session = simulate(s);
  const Schedule& sch = session.truth.schedule;
  ASSERT_EQ(sch.mvc_trials.size(), 5U);
  const double rate = s.emg_rate_hz;
  for (std::size_t c = 0; c < session.montage.emg.size(); ++c) {
    const auto x = channel_uv(session, c);
    const auto trial = std::find_if(sch.mvc_trials.begin(), sch.mvc_trials.end(), [&](const MvcTrialPlan& t) {
      return t.muscle == session.montage.emg[c].muscle;
    });
    ASSERT_NE(trial, sch.mvc_trials.end());
    const double mvc_rms =
        rms(x, index_at(trial->plateau_start_s, rate), index_at(trial->plateau_end_s, rate));
    EXPECT_NEAR(mvc_rms / session.truth.emg_channels[c].mvic_rms_uv, 1.0, 0.1);
    for (const RepPlan& rep : sch.reps) {
      const double rep_rms =
          rms(x, index_at(rep.onset_s[c] + 0.15, rate), index_at(rep.concentric_end_s - 0.1, rate));
      EXPECT_NEAR(rep_rms / mvc_rms, rep.level_mvic[c], 0.2 * rep.level_mvic[c])
          << session.montage.emg[c].label;
    }
  }
  // Markers: set start/stop around each trial, then around the exercise set.
  std::size_t starts = 0;
  for (const Event& e : session.events) {
    if (e.kind == EventKind::set_start && e.exercise == Exercise::mvc) ++starts;
  }
  EXPECT_EQ(starts, 5U);
  EXPECT_GT(sch.reps.front().start_s, sch.mvc_trials.back().stop_s);
}

// Contaminants come from their own random streams: switching one on changes exactly the samples and
// channels it should, which lets these tests look at the difference alone.
std::vector<double> difference_uv(const SimulatedSession& with, const SimulatedSession& without,
                                  std::size_t c) {
  const auto a = channel_uv(with, c);
  const auto b = channel_uv(without, c);
  std::vector<double> d(a.size());
  for (std::size_t n = 0; n < a.size(); ++n) d[n] = a[n] - b[n];
  return d;
}

// Amplitude of the sinusoid at f_hz in x[begin, end) by least squares on sin and cos (whole cycles).
double sinusoid_amplitude(const std::vector<double>& x, std::size_t begin, std::size_t end, double f_hz,
                          double rate) {
  double s = 0.0;
  double c = 0.0;
  for (std::size_t n = begin; n < end; ++n) {
    const double w = 2.0 * std::numbers::pi * f_hz * static_cast<double>(n) / rate;
    s += x[n] * std::sin(w);
    c += x[n] * std::cos(w);
  }
  const double count = static_cast<double>(end - begin);
  return 2.0 * std::hypot(s, c) / count;
}

TEST(SimulatorEmg, MainsAddsFundamentalAndOddHarmonics) {
  for (const Mains mains : {Mains::hz50, Mains::hz60}) {
    SimulatorSettings s = settings_for(Scenario::good, Exercise::bridge, 2);
    const SimulatedSession clean = simulate(s);
    s.contaminants.mains = mains;
    const SimulatedSession dirty = simulate(s);
    const double f = static_cast<double>(static_cast<int>(mains));
    for (std::size_t c = 0; c < 8; ++c) {
      const auto d = difference_uv(dirty, clean, c);
      const std::size_t end = d.size() - d.size() % 2000;  // whole seconds: whole cycles of 50 and 60 Hz
      const double a1 = sinusoid_amplitude(d, 0, end, f, 2000.0);
      EXPECT_GE(a1, 0.5 * 20.0 - 0.5);
      EXPECT_LE(a1, 1.5 * 20.0 + 0.5);
      EXPECT_NEAR(sinusoid_amplitude(d, 0, end, 3.0 * f, 2000.0) / a1, 0.3, 0.02);
      EXPECT_NEAR(sinusoid_amplitude(d, 0, end, 5.0 * f, 2000.0) / a1, 0.1, 0.02);
      EXPECT_LT(sinusoid_amplitude(d, 0, end, 2.0 * f, 2000.0), 0.2);  // no even harmonics
    }
  }
}

TEST(SimulatorEmg, EcgBleedsOnlyIntoLumbarChannelsWithQrsShape) {
  SimulatorSettings s = settings_for(Scenario::good, Exercise::bridge, 3);
  const SimulatedSession clean = simulate(s);
  s.contaminants.ecg = true;
  const SimulatedSession dirty = simulate(s);
  const auto& beats = dirty.truth.ecg_beats_s;
  ASSERT_GT(beats.size(), 10U);
  // Heart rate about 72 bpm.
  const double mean_rr = (beats.back() - beats.front()) / static_cast<double>(beats.size() - 1);
  EXPECT_NEAR(60.0 / mean_rr, 72.0, 4.0);
  for (std::size_t c = 0; c < 8; ++c) {
    const auto d = difference_uv(dirty, clean, c);
    const auto& ch = dirty.montage.emg[c];
    double peak = 0.0;
    for (double v : d) peak = std::max(peak, std::abs(v));
    if (ch.muscle != Muscle::erector_spinae_lumbar) {
      EXPECT_LT(peak, 0.11) << ch.label;  // rounding of identical values only
      continue;
    }
    // R peak at each beat (sample nearest to the truth time): +amplitude; S wave 35 ms later negative.
    const double r_uv = ch.side == Side::left ? 60.0 : 36.0;
    for (double beat : beats) {
      const std::size_t n = index_at(beat, 2000.0);
      if (n + 100 >= d.size()) break;
      EXPECT_NEAR(d[n], r_uv, 0.08 * r_uv) << ch.label << " beat at " << beat;
      EXPECT_LT(d[n + 70], 0.0) << ch.label;
    }
  }
}

TEST(SimulatorEmg, WanderIsSlowAndMotionArtefactsSitAtMovementOnsets) {
  SimulatorSettings s = settings_for(Scenario::good, Exercise::bridge, 4);
  const SimulatedSession clean = simulate(s);
  s.contaminants.baseline_wander = true;
  const SimulatedSession wander = simulate(s);
  s.contaminants.baseline_wander = false;
  s.contaminants.motion_artefacts = true;
  const SimulatedSession artefacts = simulate(s);
  for (std::size_t c = 0; c < 8; ++c) {
    // Wander: large, and slow (sample-to-sample change tiny compared to its range).
    const auto w = difference_uv(wander, clean, c);
    const auto [lo, hi] = std::minmax_element(w.begin(), w.end());
    EXPECT_GT(*hi - *lo, 30.0);
    double max_step = 0.0;
    for (std::size_t n = 1; n < w.size(); ++n) max_step = std::max(max_step, std::abs(w[n] - w[n - 1]));
    EXPECT_LT(max_step, 0.5);  // < 0.5 µV per 0.5 ms: nothing above a few Hz

    // Artefacts: zero outside the windows after each truth artefact time, present inside.
    const auto a = difference_uv(artefacts, clean, c);
    const auto& plans = artefacts.truth.schedule.motion_artefacts;
    ASSERT_EQ(plans.size(), artefacts.truth.schedule.reps.size());
    std::vector<bool> inside(a.size(), false);
    for (const auto& p : plans) {
      EXPECT_GE(p.time_s, artefacts.truth.schedule.reps[&p - plans.data()].start_s);
      EXPECT_LE(p.time_s, artefacts.truth.schedule.reps[&p - plans.data()].start_s + 0.1);
      double peak = 0.0;
      for (std::size_t n = index_at(p.time_s, 2000.0); n <= index_at(p.time_s + 10.0 * p.decay_s, 2000.0) + 1;
           ++n) {
        inside[n] = true;
        peak = std::max(peak, std::abs(a[n]));
      }
      EXPECT_GT(peak, 0.2 * std::abs(p.amplitude_uv[c]));
      EXPECT_LE(peak, std::abs(p.amplitude_uv[c]) + 0.2);
    }
    for (std::size_t n = 0; n < a.size(); ++n) {
      if (!inside[n]) {
        ASSERT_LT(std::abs(a[n]), 0.11) << "channel " << c << " sample " << n;
      }
    }
  }
}

TEST(SimulatorEmg, LeadOffSaturatesOneChannelFromItsTimeAndSendsAnEvent) {
  SimulatorSettings s = settings_for(Scenario::good, Exercise::bridge, 3);
  s.contaminants.lead_off_channel = 4;
  s.contaminants.lead_off_time_s = 10.0;
  const SimulatedSession session = simulate(s);
  const auto counts = session.emg_counts();
  const std::size_t from = index_at(10.0, 2000.0);
  for (std::size_t n = 0; n < session.truth.emg_samples; ++n) {
    if (n >= from) {
      ASSERT_EQ(counts[n * 8 + 4], 32767) << n;
    } else {
      ASSERT_LT(counts[n * 8 + 4], 32767) << n;
    }
  }
  const auto lead_off = std::find_if(session.events.begin(), session.events.end(),
                                     [](const Event& e) { return e.kind == EventKind::lead_off; });
  ASSERT_NE(lead_off, session.events.end());
  EXPECT_EQ(lead_off->channel, 4);
  EXPECT_DOUBLE_EQ(lead_off->time_s, 10.0);
  ASSERT_TRUE(session.truth.lead_off.has_value());
  EXPECT_EQ(session.truth.lead_off->channel, 4);
}

TEST(SimulatorEmg, SameSeedSameBytesOtherSeedOtherBytes) {
  SimulatorSettings s = settings_for(Scenario::good, Exercise::bridge, 2);
  s.contaminants.ecg = true;
  s.contaminants.mains = Mains::hz50;
  const auto a = encode_frames(simulate(s));
  const auto b = encode_frames(simulate(s));
  EXPECT_EQ(a, b);
  s.seed = 43;
  const auto c = encode_frames(simulate(s));
  EXPECT_NE(a, c);
}

TEST(SimulatorSettingsTest, InvalidSettingsAreRejectedWithAMessage) {
  SimulatorSettings s;
  s.emg_rate_hz = 500.0;
  EXPECT_THROW(simulate(s), std::invalid_argument);
  s = SimulatorSettings{};
  s.snr_db = 70.0;
  EXPECT_THROW(validate(s), std::invalid_argument);
  s = SimulatorSettings{};
  s.scenario = Scenario::pelvic_roll;  // bridge by default
  try {
    validate(s);
    FAIL() << "pelvic-roll on a bridge must be rejected";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("clamshell"), std::string::npos);
  }
  s = SimulatorSettings{};
  s.initial_still_s = 2.0;
  EXPECT_THROW(validate(s), std::invalid_argument);
  for (Scenario sc : all_scenarios()) EXPECT_EQ(parse_scenario(to_string(sc)), sc);
  EXPECT_FALSE(parse_scenario("Good").has_value());
}

}  // namespace
}  // namespace glutescope::sim
