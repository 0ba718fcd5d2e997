#include "simulator/emg_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>

#include "simulator/random.hpp"

namespace glutescope::sim {
namespace {

constexpr double kPi = std::numbers::pi;

// EMG amplitude at 100 % MVIC (RMS, µV) and Shwedyk corner frequencies per muscle. Amplitudes are chosen
// in the 0.4-0.6 mV range of surface recordings at maximal effort (De Luca 1997, J Appl Biomech 13:135)
// and low enough that 5 standard deviations stay inside the ±3.28 mV int16 range at 0.1 µV/count.
// Corners give median frequencies of 75-95 Hz (gluteal and paraspinal sEMG medians lie around 60-120 Hz).
struct MuscleSpectrum {
  double mvic_rms_uv;
  double low_hz;
  double high_hz;
};

MuscleSpectrum spectrum_of(Muscle m) {
  switch (m) {
    case Muscle::gluteus_maximus:
      return {600.0, 50.0, 120.0};
    case Muscle::gluteus_medius:
      return {500.0, 45.0, 125.0};
    case Muscle::erector_spinae_lumbar:
      return {450.0, 40.0, 110.0};
    case Muscle::biceps_femoris:
      return {550.0, 50.0, 120.0};
    case Muscle::tensor_fasciae_latae:
      return {450.0, 45.0, 120.0};
    case Muscle::other:
      break;
  }
  return {400.0, 45.0, 120.0};
}

// One ECG beat as a sum of Gaussian waves (the P, Q, R, S, T decomposition of McSharry et al. 2003,
// IEEE TBME 50:289), times relative to the R peak (s), widths (s), amplitudes relative to R.
struct EcgWave {
  double offset_s, width_s, amplitude;
};
constexpr std::array<EcgWave, 5> kEcgWaves{{
    {-0.20, 0.025, 0.12},    // P
    {-0.035, 0.008, -0.15},  // Q
    {0.0, 0.010, 1.0},       // R
    {0.035, 0.009, -0.25},   // S
    {0.30, 0.050, 0.30},     // T
}};
constexpr double kEcgRateBpm = 72.0;
constexpr double kEcgRightFactor = 0.6;  // the heart lies left of the midline

// int16 range of an EMG_BLOCK in int16 format.
constexpr std::int32_t kCountMax = std::numeric_limits<std::int16_t>::max();
constexpr std::int32_t kCountMin = std::numeric_limits<std::int16_t>::min();

// Tonic background (SimulatorSettings::tonic_fraction): from the first rep's onset to the last rep's
// offset, channel c's activation is at least `fraction` of the level of the rep that began last.
void apply_tonic(const Schedule& schedule, std::size_t c, double fraction, double dt,
                 std::vector<double>& activation) {
  if (!(fraction > 0.0) || schedule.reps.empty()) return;
  std::size_t rep = 0;
  for (std::size_t n = 0; n < activation.size(); ++n) {
    const double t = static_cast<double>(n) * dt;
    if (t < schedule.reps.front().onset_s[c] || t > schedule.reps.back().offset_s[c]) continue;
    while (rep + 1 < schedule.reps.size() && t >= schedule.reps[rep + 1].onset_s[c]) ++rep;
    activation[n] = std::max(activation[n], fraction * schedule.reps[rep].level_mvic[c]);
  }
}

}  // namespace

ShwedykShapingFilter::ShwedykShapingFilter(double low_hz, double high_hz, double rate_hz) {
  if (!(low_hz > 0.0 && high_hz > low_hz && high_hz < rate_hz / 2.0)) {
    throw std::invalid_argument("Shwedyk filter needs 0 < low_hz < high_hz < rate_hz / 2");
  }
  // First-order sections by the bilinear transform with the corner pre-warped: k = tan(pi f / fs).
  auto high_pass = [&](double f) {
    const double k = std::tan(kPi * f / rate_hz);
    return FirstOrder{1.0 / (1.0 + k), -1.0 / (1.0 + k), (k - 1.0) / (1.0 + k)};
  };
  auto low_pass = [&](double f) {
    const double k = std::tan(kPi * f / rate_hz);
    return FirstOrder{k / (1.0 + k), k / (1.0 + k), (k - 1.0) / (1.0 + k)};
  };
  sections_ = {high_pass(low_hz), low_pass(high_hz), low_pass(high_hz)};
  // Unit output variance for unit-variance white input: gain = 1 / sqrt(sum of squared impulse response).
  auto probe = sections_;
  double energy = 0.0;
  const auto length = static_cast<std::size_t>(rate_hz);  // 1 s: the slowest pole decays in < 0.1 s
  for (std::size_t n = 0; n < length; ++n) {
    double y = n == 0 ? 1.0 : 0.0;
    for (auto& s : probe) y = s.process(y);
    energy += y * y;
  }
  gain_ = 1.0 / std::sqrt(energy);
}

double ShwedykShapingFilter::process(double white) noexcept {
  double y = white;
  for (auto& s : sections_) y = s.process(y);
  return gain_ * y;
}

EmgRender render_emg(const SimulatorSettings& settings, const Montage& montage, const Schedule& schedule) {
  EmgRender out;
  const double rate = settings.emg_rate_hz;
  const double dt = 1.0 / rate;
  out.samples = static_cast<std::size_t>(std::floor(schedule.duration_s * rate));
  out.channels = montage.emg.size();
  out.counts.assign(out.samples * out.channels, 0);
  out.channel_truth.resize(out.channels);
  const Contaminants& contaminants = settings.contaminants;

  // ECG beat times are shared by all lumbar channels (one heart).
  if (contaminants.ecg) {
    RandomStream rng(settings.seed, stream_id::ecg);
    const double nominal_rr_s = 60.0 / kEcgRateBpm;
    double t = rng.uniform(0.0, nominal_rr_s);
    while (t < schedule.duration_s + 1.0) {
      out.ecg_beats_s.push_back(t);
      t += nominal_rr_s * rng.uniform(0.95, 1.05);  // beat-to-beat variability ±5 %
    }
  }

  std::vector<double> activation(out.samples);
  for (std::size_t c = 0; c < out.channels; ++c) {
    const EmgChannel& ch = montage.emg[c];
    EmgChannelTruth& truth = out.channel_truth[c];
    const MuscleSpectrum base = spectrum_of(ch.muscle);
    RandomStream spectrum_rng(settings.seed, stream_id::spectrum + c);
    truth.mvic_rms_uv = base.mvic_rms_uv;
    truth.spectrum_low_hz = base.low_hz * spectrum_rng.uniform(0.95, 1.05);
    truth.spectrum_high_hz = base.high_hz * spectrum_rng.uniform(0.95, 1.05);

    // Activation for every sample, and the expected signal power during the channel's rep activity
    // (onset..offset of every rep; MVC trials excluded): the reference of the SNR setting.
    std::size_t cursor = 0;
    double active_sum = 0.0;
    std::size_t active_count = 0;
    std::size_t rep = 0;
    for (std::size_t n = 0; n < out.samples; ++n) {
      const double t = static_cast<double>(n) * dt;
      activation[n] = activation_at(schedule.activation[c], t, cursor);
      while (rep < schedule.reps.size() && t > schedule.reps[rep].offset_s[c]) ++rep;
      if (rep < schedule.reps.size() && t >= schedule.reps[rep].onset_s[c]) {
        active_sum += activation[n] * activation[n];
        ++active_count;
      }
    }
    apply_tonic(schedule, c, settings.tonic_fraction, dt, activation);
    const double reference_power =
        active_count > 0 ? active_sum / static_cast<double>(active_count) : 0.1 * 0.1;  // fallback: 10 % MVIC
    truth.active_power_uv2 = truth.mvic_rms_uv * truth.mvic_rms_uv * reference_power;
    truth.noise_rms_uv = std::sqrt(truth.active_power_uv2 / std::pow(10.0, settings.snr_db / 10.0));

    ShwedykShapingFilter shaping(truth.spectrum_low_hz, truth.spectrum_high_hz, rate);
    RandomStream source(settings.seed, stream_id::emg_source + c);
    RandomStream noise(settings.seed, stream_id::emg_noise + c);
    // Settle the shaping filter so the session starts in its stationary state.
    for (std::size_t n = 0; n < static_cast<std::size_t>(rate / 2.0); ++n)
      (void)shaping.process(source.normal());

    // Contaminant parameters of this channel.
    RandomStream mains_rng(settings.seed, stream_id::mains + c);
    const double mains_gain =
        mains_rng.uniform(0.5, 1.5);  // electrode-impedance imbalance differs per channel
    std::array<double, 3> mains_phase{};
    for (double& p : mains_phase) p = mains_rng.uniform(0.0, 2.0 * kPi);
    RandomStream wander_rng(settings.seed, stream_id::wander + c);
    std::array<double, 3> wander_hz{};
    std::array<double, 3> wander_uv{};
    std::array<double, 3> wander_phase{};
    for (std::size_t k = 0; k < 3; ++k) {
      wander_hz[k] = wander_rng.uniform(0.05, 0.5);
      wander_uv[k] = wander_rng.uniform(20.0, 50.0);
      wander_phase[k] = wander_rng.uniform(0.0, 2.0 * kPi);
    }
    const bool lumbar = ch.muscle == Muscle::erector_spinae_lumbar;
    const double ecg_gain =
        contaminants.ecg_r_amplitude_uv * (ch.side == Side::right ? kEcgRightFactor : 1.0);
    const bool lead_off =
        contaminants.lead_off_channel && static_cast<std::size_t>(*contaminants.lead_off_channel) == c;
    const double mains_hz = static_cast<double>(static_cast<int>(contaminants.mains));

    std::size_t beat = 0;
    for (std::size_t n = 0; n < out.samples; ++n) {
      const double t = static_cast<double>(n) * dt;
      // Draw the source and the noise for every sample so the streams stay aligned whatever the activation.
      const double muscle = truth.mvic_rms_uv * activation[n] * shaping.process(source.normal());
      double x = settings.emg_amplitude_scale * (muscle + truth.noise_rms_uv * noise.normal());
      if (contaminants.mains != Mains::off) {
        const double w = 2.0 * kPi * mains_hz * t;
        x += contaminants.mains_amplitude_uv * mains_gain *
             (std::sin(w + mains_phase[0]) + 0.3 * std::sin(3.0 * w + mains_phase[1]) +
              0.1 * std::sin(5.0 * w + mains_phase[2]));
      }
      if (contaminants.baseline_wander) {
        for (std::size_t k = 0; k < 3; ++k)
          x += wander_uv[k] * std::sin(2.0 * kPi * wander_hz[k] * t + wander_phase[k]);
      }
      if (contaminants.ecg && lumbar) {
        // Waves lie within 0.5 s of their R peak: only beats with |t - R| < 0.5 s contribute.
        while (beat < out.ecg_beats_s.size() && out.ecg_beats_s[beat] < t - 0.5) ++beat;
        for (std::size_t b = beat; b < out.ecg_beats_s.size() && out.ecg_beats_s[b] < t + 0.5; ++b) {
          for (const EcgWave& wave : kEcgWaves) {
            const double z = (t - out.ecg_beats_s[b] - wave.offset_s) / wave.width_s;
            if (std::abs(z) < 8.0) x += ecg_gain * wave.amplitude * std::exp(-0.5 * z * z);
          }
        }
      }
      for (const MotionArtefactPlan& a : schedule.motion_artefacts) {
        const double tau = t - a.time_s;
        if (tau < 0.0 || tau > 10.0 * a.decay_s) continue;
        // Gamma-shaped envelope (0 at onset, peak 1 at tau = decay) times a slow oscillation.
        const double envelope = tau / a.decay_s * std::exp(1.0 - tau / a.decay_s);
        x += a.amplitude_uv[c] * envelope * std::cos(2.0 * kPi * a.frequency_hz * tau);
      }

      std::int32_t count = 0;
      if (lead_off && t >= contaminants.lead_off_time_s) {
        count = kCountMax;  // electrode off the skin: the DC-coupled input drives the ADC to the rail
      } else {
        const double scaled = std::nearbyint(x / ch.microvolts_per_count);
        if (scaled > kCountMax || scaled < kCountMin) ++truth.clipped_samples;
        count = static_cast<std::int32_t>(
            std::clamp(scaled, static_cast<double>(kCountMin), static_cast<double>(kCountMax)));
      }
      out.counts[n * out.channels + c] = count;
    }
  }
  return out;
}

}  // namespace glutescope::sim
