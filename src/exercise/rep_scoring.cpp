#include "exercise/rep_scoring.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "dsp/spectrum.hpp"
#include "exercise/normalisation.hpp"

namespace glutescope::exercise {

std::size_t to_index(double t_s, double rate_hz, std::size_t limit) {
  if (!(t_s > 0.0)) return 0;
  const double i = std::round(t_s * rate_hz);
  return std::min(limit, static_cast<std::size_t>(i));
}

namespace {

double mean_over(std::span<const double> x, std::size_t begin, std::size_t end) {
  end = std::min(end, x.size());
  if (begin >= end) return kNaN;
  double s = 0.0;
  for (std::size_t i = begin; i < end; ++i) s += x[i];
  return s / static_cast<double>(end - begin);
}

}  // namespace

VerdictContext verdict_context(const RepScoringContext& ctx) {
  return {ctx.montage, ctx.settings, ctx.exercise, ctx.working_side, ctx.normalisation, ctx.have_pelvis};
}

namespace {

ChannelView view_of(const ChannelSignals& s) {
  return {{s.filtered_uv.data(), 1, s.filtered_uv.size()},
          {s.onset_signal.data(), 1, s.onset_signal.size()},
          s.rms_uv};
}

}  // namespace

RepWindow rep_window(const RepScoringContext& ctx, const Repetition& r) {
  const AnalysisSettings& s = *ctx.settings;
  const double rate = ctx.emg_rate_hz;
  const std::size_t n = ctx.end_sample;
  RepWindow w;
  w.w0 = to_index(r.start_s - s.onset.pre_movement_ms / 1000.0, rate, n);
  w.m0 = to_index(r.start_s, rate, n);
  w.mc = to_index(r.concentric_end_s, rate, n);
  w.mh = to_index(r.hold_end_s, rate, n);
  w.m1 = to_index(r.end_s, rate, n);
  w.centre = to_index(r.peak_s, rate, n);
  return w;
}

Interval spectral_window(const RepScoringContext& ctx, const RepWindow& w, std::size_t end) {
  const std::size_t half =
      static_cast<std::size_t>(ctx.settings->fatigue.window_ms * ctx.emg_rate_hz / 2000.0);
  if (w.centre >= ctx.first_sample + half && w.centre + half <= end && half > 8)
    return {w.centre - half, w.centre + half};
  return {};
}

RepScore begin_repetition(const RepScoringContext& ctx, const Repetition& r, double pelvic_tilt_min_deg,
                          std::string& emg_gap_reason) {
  const double rate = ctx.emg_rate_hz;
  RepScore rep;
  rep.index = r.index;
  rep.start_s = r.start_s;
  rep.concentric_end_s = r.concentric_end_s;
  rep.hold_end_s = r.hold_end_s;
  rep.end_s = r.end_s;
  rep.peak_s = r.peak_s;
  rep.partial = r.partial;
  rep.rom_deg = r.rom_deg;
  rep.pelvic_roll_max_deg = r.max_pelvic_roll_deviation_deg;
  rep.pelvic_tilt_min_deg = ctx.have_pelvis ? pelvic_tilt_min_deg : kNaN;
  const RepWindow w = rep_window(ctx, r);

  // IMU gap inside the rep: boundaries cannot be trusted.
  const std::size_t ri0 = to_index(r.start_s, ctx.imu_rate_hz, ctx.imu_samples),
                    ri1 = to_index(r.end_s, ctx.imu_rate_hz, ctx.imu_samples) + 1;
  for (const Interval& gap : ctx.imu_gaps) {
    if (gap.overlaps(ri0, ri1)) {
      rep.valid = false;
      rep.invalid_reason = fmt::format("IMU data lost inside the rep ({} samples)", gap.end - gap.begin);
    }
  }
  emg_gap_reason.clear();
  for (const Interval& gap : ctx.emg_gaps) {
    if (gap.overlaps(w.w0, w.m1))
      emg_gap_reason = fmt::format("EMG data lost inside the rep ({} samples from {:.3f} s)",
                                   gap.end - gap.begin, static_cast<double>(gap.begin) / rate);
  }
  rep.channels.resize(ctx.montage->emg.size());
  return rep;
}

namespace {

// Where the activity running at w0 began: back from w0 to the end of the last rest of at least
// min_rest samples at or after `begin`; nullopt when there is none (active since before `begin`).
std::optional<std::size_t> traced_onset(const StridedSignal& onset, std::size_t off, std::size_t w0,
                                        std::size_t begin, double threshold, std::size_t min_rest) {
  std::size_t quiet = 0;
  for (std::size_t n = w0; n-- > begin;) {
    if (onset[n - off] > threshold) {
      quiet = 0;
    } else if (++quiet >= std::max<std::size_t>(1, min_rest)) {
      return n + quiet;
    }
  }
  return std::nullopt;
}

}  // namespace

OnsetSearch search_onset(const StridedSignal& onset, std::size_t off, const RepWindow& w,
                         std::size_t lookback_begin, double threshold, double rate, const OnsetSettings& s) {
  OnsetSearch found;
  if (w.mc <= w.w0) return found;
  const std::size_t min_active =
      std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(s.min_active_ms * rate / 1000.0)));
  const std::size_t min_rest = static_cast<std::size_t>(std::lround(s.min_rest_ms * rate / 1000.0));
  std::vector<unsigned char> active(w.mc - w.w0);
  for (std::size_t n = w.w0; n < w.mc; ++n) active[n - w.w0] = onset[n - off] > threshold ? 1 : 0;
  auto runs = dsp::active_runs(active, min_active, min_rest);
  // Active when the window opens but back at rest (for at least min_rest_ms: active_runs bridged shorter
  // dips) before the movement: the previous contraction's tail, not this rep's onset.
  if (!runs.empty() && runs.front().onset_index == 0 && w.w0 + runs.front().offset_index <= w.m0)
    runs.erase(runs.begin());
  if (runs.empty()) return found;
  if (runs.front().onset_index == 0) {
    // Began before the window (the segmenter's movement onset lags a slow, smooth start): trace it back.
    const std::size_t begin = std::max(off, std::min(lookback_begin, w.w0));
    const auto traced = traced_onset(onset, off, w.w0, begin, threshold, min_rest);
    if (!traced) {
      found.state = OnsetState::already_active;  // no rest since the rest before the rep began
      return found;
    }
    found.state = OnsetState::detected;
    found.onset_index = *traced;
    return found;
  }
  found.state = OnsetState::detected;
  found.onset_index = w.w0 + runs.front().onset_index;
  return found;
}

namespace {

// Onset state and time of one channel in one rep (issue 14: a distinct state for each way there is no
// onset to report; only `detected` gives times).
void score_onset(const RepScoringContext& ctx, const Repetition& r, const RepWindow& w,
                 const StridedSignal& onset, const RepOnsetBaseline& baseline, ChannelRepScore& cs) {
  const OnsetSettings& s = ctx.settings->onset;
  const double rate = ctx.emg_rate_hz;
  if (baseline.rest_active) {
    cs.onset_state = OnsetState::continuously_active;  // never back at rest before this rep (tonic)
    return;
  }
  const double threshold = baseline.stats.mean + s.k_sd * baseline.stats.sd;
  const OnsetSearch found =
      search_onset(onset, ctx.first_sample, w, baseline.lookback_begin, threshold, rate, s);
  cs.onset_state = found.state;
  if (found.state != OnsetState::detected) return;
  if (!baseline.contrast_ok) {
    cs.onset_state = OnsetState::baseline_not_quiet;  // a crossing the set's activity cannot confirm
    return;
  }
  cs.onset_detected = true;
  cs.onset_s = static_cast<double>(found.onset_index) / rate;
  cs.onset_rel_ms = 1000.0 * (cs.onset_s - r.start_s);
}

}  // namespace

// The per-channel part of a rep's score: validity (gap, lead-off, rails), onset, amplitudes and spectral
// indices. The amplitude fields (mean_*_pct, peak_pct) hold µV here: finish_repetition divides them by the
// set's normalisation reference, which is only known once every channel has been conditioned.
// peak_uv: peak_amplitude of the smoothed envelope over [m0, mh). `scratch` holds the spectral window when
// the filtered signal is strided.
void score_channel(const RepScoringContext& ctx, const Repetition& r, std::size_t c, const ChannelView& sig,
                   double peak_uv, const RepOnsetBaseline& baseline, bool rep_valid,
                   const std::string& emg_gap_reason, ChannelRepScore& cs, std::vector<double>& scratch) {
  const AnalysisSettings& s = *ctx.settings;
  const Montage& montage = *ctx.montage;
  const std::size_t channels = montage.emg.size();
  const double rate = ctx.emg_rate_hz;
  const std::size_t off = ctx.first_sample;
  const RepWindow w = rep_window(ctx, r);
  const std::size_t w0 = w.w0, m0 = w.m0, mc = w.mc, mh = w.mh, m1 = w.m1;
  if (!emg_gap_reason.empty()) {
    cs.valid = false;
    cs.invalid_reason = emg_gap_reason;
  }
  for (const Interval& span : ctx.lead_off[c]) {
    if (span.overlaps(w0, m1)) {
      cs.valid = false;
      cs.invalid_reason = fmt::format("electrode {} off (lead-off at {:.3f} s)", montage.emg[c].label,
                                      static_cast<double>(span.begin) / rate);
    }
  }
  if (cs.valid) {
    std::size_t railed = 0;
    for (std::size_t n = w0; n < m1; ++n) {
      const std::int32_t v = ctx.emg_counts[(n - off) * channels + c];
      if (v <= ctx.rail_low || v >= ctx.rail_high) ++railed;
    }
    if (m1 > w0 &&
        static_cast<double>(railed) > s.verdicts.saturation_fraction * static_cast<double>(m1 - w0)) {
      cs.valid = false;
      cs.invalid_reason =
          fmt::format("{} saturated in {:.0f} % of the rep (electrode off or clipping)", montage.emg[c].label,
                      100.0 * static_cast<double>(railed) / static_cast<double>(m1 - w0));
    }
  }
  if (!cs.valid || !rep_valid) return;

  score_onset(ctx, r, w, sig.onset, baseline, cs);
  std::span<const double> win;
  if (sig.precomputed != nullptr) {
    cs.mean_concentric_pct = sig.precomputed->mean_concentric_uv;
    cs.mean_hold_pct = sig.precomputed->mean_hold_uv;
    cs.mean_pct = sig.precomputed->mean_uv;
    win = sig.precomputed->spectral_window;
  } else {
    cs.mean_concentric_pct = mean_over(sig.rms, m0 - off, mc - off);
    cs.mean_hold_pct = mean_over(sig.rms, mc - off, mh - off);
    cs.mean_pct = mean_over(sig.rms, m0 - off, mh - off);
    const Interval spectral = spectral_window(ctx, w, off + sig.filtered.size);
    const std::size_t first = spectral.begin - off, length = spectral.end - spectral.begin;
    if (length == 0) {
      // no spectral window
    } else if (sig.filtered.stride == 1) {
      win = std::span<const double>(sig.filtered.data + first, length);
    } else {
      scratch.resize(length);
      for (std::size_t i = 0; i < scratch.size(); ++i) scratch[i] = sig.filtered[first + i];
      win = scratch;
    }
  }
  cs.peak_pct = peak_uv;
  if (!win.empty()) {
    dsp::WelchSettings welch;
    welch.segment_samples = static_cast<std::size_t>(s.fatigue.welch_segment_samples);
    const dsp::SpectralBand band{s.fatigue.band_low_hz, std::min(s.fatigue.band_high_hz, 0.5 * rate)};
    try {
      const dsp::SpectralIndices idx = dsp::spectral_indices(dsp::welch(win, rate, welch), band);
      cs.median_frequency_hz = idx.median_hz;
      cs.finsm5 = idx.finsm5;
    } catch (const std::invalid_argument&) {
      // A silent window (no power in the band) has no spectral indices: left NaN.
    }
  }
}

// Scores one repetition from the conditioned EMG around it (the per-rep entry point shared by the offline
// per-set loop and the live consumer; see score_repetition in session_analysis.hpp).
RepScore score_repetition(const RepScoringContext& ctx, const Repetition& r, double pelvic_tilt_min_deg) {
  std::string emg_gap_reason;
  RepScore rep = begin_repetition(ctx, r, pelvic_tilt_min_deg, emg_gap_reason);
  std::vector<double> scratch;
  const RepWindow w = rep_window(ctx, r);
  for (std::size_t c = 0; c < rep.channels.size(); ++c) {
    const ChannelSignals& sig = ctx.signals[c];
    const double peak = peak_amplitude(sig.smoothed_uv, w.m0 - ctx.first_sample, w.mh - ctx.first_sample);
    score_channel(ctx, r, c, view_of(sig), peak, ctx.baseline[c], rep.valid, emg_gap_reason, rep.channels[c],
                  scratch);
  }
  decide_verdicts(verdict_context(ctx), rep);
  return rep;
}

}  // namespace glutescope::exercise
