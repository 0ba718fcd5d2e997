// onset_real_driver: glutescope's onset chain on one recording of the UCI "EMG dataset in Lower Limb"
// (Sanchez et al.; ../shared/datasets-real/uci_lower_limb_subset, README there), for
// tools/bench/onset_real_data.py. Nothing here is tuned: the product's own pieces run with their default
// settings.
//
//   RF, BF, VM, ST (mV, 1000 Hz) -> µV -> condition_channel (offline, zero-phase, as `glutescope analyze`)
//   FX knee goniometer (50 Hz, held to 1000 Hz) -> every 20th sample -> driving angle = excursion from the
//   first 0.5 s, signed so that the movement is positive -> RepSegmenter::segment_set (the product's reps)
//   the whole record is one set without markers: its initial still period is the set's, as analyse_session's
//   -> plan_onset_baseline per channel -> score_repetition per rep (onset state, time)
//   -> activity over the whole record at the set baseline's threshold (for spurious onsets between reps)
//
// Usage: onset_real_driver FILE [--legacy] [--dump-onset OUT]   (--legacy: onset.rest_baseline =
// robust_baseline = false, the baseline before issue 14; --dump-onset: also write the four channels' onset
// signals to OUT as little-endian float64 [samples x 4] in RF, BF, VM, ST order, for plotting). Prints one
// JSON object on stdout; exit 1 with a message for an unreadable file or an unwritable OUT.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "dsp/onset.hpp"
#include "exercise/analysis_settings.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/onset_baseline.hpp"
#include "exercise/rep_scoring.hpp"
#include "exercise/rep_segmenter.hpp"

namespace ex = glutescope::exercise;
namespace dsp = glutescope::dsp;
using nlohmann::json;

namespace {

constexpr double kRate = 1000.0;         // Hz, the dataset's EMG rate
constexpr std::size_t kFxDecimate = 20;  // FX is recorded at 50 Hz and held to 1000 Hz
constexpr const char* kLabels[] = {"RF", "BF", "VM", "ST"};

struct Recording {
  std::vector<std::vector<double>> emg_uv{4};
  std::vector<double> fx_deg;
};

// Tab-separated rows of 5 numbers after a header of text lines; rows without EMG (only FX, at the end of
// some files) are dropped.
Recording read_uci(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  Recording r;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
    if (f.size() != 5) continue;
    try {
      std::vector<double> v;
      for (const std::string& c : f) {
        std::size_t used = 0;
        v.push_back(std::stod(c, &used));
        if (used != c.size()) throw std::invalid_argument(c);
      }
      for (std::size_t k = 0; k < 4; ++k) r.emg_uv[k].push_back(1000.0 * v[k]);  // mV -> µV
      r.fx_deg.push_back(v[4]);
    } catch (const std::exception&) {
      continue;  // header text or an FX-only row
    }
  }
  if (r.fx_deg.size() < 2000) throw std::runtime_error(path + ": fewer than 2 s of EMG rows");
  return r;
}

// The product's reps from the goniometer (50 Hz samples of FX, excursion from the first 0.5 s).
std::vector<ex::Repetition> reps_from_fx(const std::vector<double>& fx, const ex::AnalysisSettings& s) {
  std::vector<double> angle, t;
  for (std::size_t i = 0; i < fx.size(); i += kFxDecimate) {
    angle.push_back(fx[i]);
    t.push_back(static_cast<double>(i) / kRate);
  }
  double rest = 0.0;
  const std::size_t n_rest = 25;  // 0.5 s at 50 Hz
  for (std::size_t i = 0; i < n_rest; ++i) rest += angle[i] / n_rest;
  double lo = 0.0, hi = 0.0;
  for (double& a : angle) {
    a -= rest;
    lo = std::min(lo, a);
    hi = std::max(hi, a);
  }
  if (-lo > hi) {
    for (double& a : angle) a = -a;
  }
  // The knee does not always return to its first posture between reps (1Npie rests 15 deg above it), which
  // the segmenter's provisional first pass (20 deg) reads as one long excursion: its reference ROM is set to
  // the recording's excursion instead (motion.segmenter.rom_reference_deg, a documented setting).
  ex::RepSegmenterSettings seg = s.motion.segmenter;
  seg.sample_rate_hz = kRate / kFxDecimate;
  seg.rom_reference_deg = *std::max_element(angle.begin(), angle.end());
  return ex::RepSegmenter::segment_set(angle, t, seg);
}

json rep_json(const ex::Repetition& r) {
  return {{"start_s", r.start_s},
          {"concentric_end_s", r.concentric_end_s},
          {"hold_end_s", r.hold_end_s},
          {"end_s", r.end_s},
          {"peak_s", r.peak_s}};
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fputs("usage: onset_real_driver FILE [--legacy]\n", stderr);
    return 2;
  }
  ex::AnalysisSettings s = ex::kDefaultAnalysisSettings;
  std::string dump;
  for (int a = 2; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--legacy") s.onset.rest_baseline = s.onset.robust_baseline = false;
    if (arg == "--dump-onset" && a + 1 < argc) dump = argv[++a];
  }
  const Recording rec = read_uci(argv[1]);
  const std::size_t n = rec.fx_deg.size();
  const std::vector<ex::Repetition> reps = reps_from_fx(rec.fx_deg, s);

  glutescope::Montage montage;
  std::vector<ex::ChannelSignals> signals;
  for (std::size_t k = 0; k < 4; ++k) {
    glutescope::EmgChannel channel;
    channel.label = kLabels[k];
    montage.emg.push_back(channel);  // muscle other, side unknown: the driver scores by channel
    signals.push_back(ex::condition_channel(rec.emg_uv[k], glutescope::Muscle::other, kRate, s));
  }
  const std::vector<std::int32_t> counts(n * 4, 0);
  ex::RepScoringContext ctx;
  ctx.montage = &montage;
  ctx.settings = &s;
  ctx.exercise = glutescope::Exercise::other;
  ctx.emg_rate_hz = kRate;
  ctx.end_sample = n;
  ctx.signals = signals;
  ctx.emg_counts = counts;
  ctx.normalisation.kind = ex::NormalisationKind::peak_of_set;
  ctx.normalisation.reference_uv.assign(4, 1.0);
  ctx.lead_off.assign(4, {});
  ctx.imu_rate_hz = kRate / kFxDecimate;
  ctx.imu_samples = n / kFxDecimate;

  // The set's initial still period, as analyse_session places it (no set marker: the set starts at 0).
  std::vector<ex::RepSpan> spans;
  for (const ex::Repetition& r : reps) {
    const ex::RepWindow w = ex::rep_window(ctx, r);
    spans.push_back({w.w0, w.m0, w.mh, w.m1});
  }
  const auto b0 = static_cast<std::size_t>(s.onset.baseline_offset_ms * kRate / 1000.0);
  std::size_t b1 = b0 + static_cast<std::size_t>(s.onset.baseline_ms * kRate / 1000.0);
  if (!spans.empty()) b1 = std::min(b1, spans.front().w0);
  const ex::Interval still{b0, std::max(b0, b1)};

  json out;
  out["file"] = argv[1];
  out["rate_hz"] = kRate;
  out["samples"] = n;
  out["settings"] = {{"k_sd", s.onset.k_sd},
                     {"min_active_ms", s.onset.min_active_ms},
                     {"pre_movement_ms", s.onset.pre_movement_ms},
                     {"rest_baseline", s.onset.rest_baseline},
                     {"robust_baseline", s.onset.robust_baseline}};
  out["reps"] = json::array();
  for (const ex::Repetition& r : reps) out["reps"].push_back(rep_json(r));
  if (!dump.empty()) {
    std::ofstream f(dump, std::ios::binary);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t c = 0; c < 4; ++c)
        f.write(reinterpret_cast<const char*>(&signals[c].onset_signal[i]), sizeof(double));
    if (!f) throw std::runtime_error("cannot write " + dump);
  }
  std::vector<ex::SetOnsetBaseline> plans;
  for (std::size_t c = 0; c < 4; ++c) {
    const ex::StridedSignal view{signals[c].onset_signal.data(), 1, n};
    plans.push_back(ex::plan_onset_baseline(view, 0, {0, n}, still, spans, kRate, s.onset));
  }
  std::vector<ex::RepScore> scores;
  for (std::size_t k = 0; k < reps.size(); ++k) {
    ctx.baseline.clear();
    for (std::size_t c = 0; c < 4; ++c) ctx.baseline.push_back(plans[c].reps[k]);
    scores.push_back(ex::score_repetition(ctx, reps[k], ex::kNaN));
  }
  for (std::size_t c = 0; c < 4; ++c) {
    json jc;
    jc["baseline_source"] = std::string(ex::to_string(plans[c].source));
    jc["baseline_level"] = plans[c].set.mean;
    jc["baseline_spread"] = plans[c].set.sd;
    jc["contrast_db"] = std::isfinite(plans[c].contrast_db) ? json(plans[c].contrast_db) : json(nullptr);
    const double threshold = plans[c].set.mean + s.onset.k_sd * plans[c].set.sd;
    jc["threshold"] = threshold;
    json states = json::array(), onsets = json::array();
    for (const ex::RepScore& sc : scores) {
      states.push_back(std::string(ex::to_string(sc.channels[c].onset_state)));
      onsets.push_back(sc.channels[c].onset_detected ? json(sc.channels[c].onset_s) : json(nullptr));
    }
    jc["onset_state"] = states;
    jc["onset_s"] = onsets;
    // Activity over the whole record at the set threshold, as the onset search holds it.
    std::vector<unsigned char> active(n);
    for (std::size_t i = 0; i < n; ++i) active[i] = signals[c].onset_signal[i] > threshold ? 1 : 0;
    const auto runs = dsp::active_runs(
        active, static_cast<std::size_t>(std::lround(s.onset.min_active_ms * kRate / 1000.0)),
        static_cast<std::size_t>(std::lround(s.onset.min_rest_ms * kRate / 1000.0)));
    json iv = json::array();
    for (const auto& r : runs) iv.push_back({r.onset_index, r.offset_index});
    jc["activity"] = iv;
    out["channels"][kLabels[c]] = jc;
  }
  std::puts(out.dump().c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "onset_real_driver: %s\n", e.what());
  return 1;
}
