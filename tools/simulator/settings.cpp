#include "simulator/settings.hpp"

#include <array>
#include <stdexcept>
#include <utility>

#include <fmt/core.h>

namespace glutescope::sim {
namespace {

constexpr std::array<std::pair<Scenario, std::string_view>, 7> kScenarios{{
    {Scenario::good, "good"},
    {Scenario::lumbar_dominant, "lumbar-dominant"},
    {Scenario::late_glute, "late-glute"},
    {Scenario::silent_glute, "silent-glute"},
    {Scenario::pelvic_roll, "pelvic-roll"},
    {Scenario::hamstring_dominant, "hamstring-dominant"},
    {Scenario::partial_reps, "partial-reps"},
}};

void require(bool condition, const std::string& message) {
  if (!condition) throw std::invalid_argument(message);
}

}  // namespace

std::string_view to_string(Scenario scenario) noexcept {
  for (const auto& [value, name] : kScenarios) {
    if (value == scenario) return name;
  }
  return "unknown";
}

std::optional<Scenario> parse_scenario(std::string_view text) noexcept {
  for (const auto& [value, name] : kScenarios) {
    if (name == text) return value;
  }
  return std::nullopt;
}

std::vector<Scenario> all_scenarios() {
  std::vector<Scenario> out;
  out.reserve(std::size(kScenarios));
  for (const auto& entry : kScenarios) out.push_back(entry.first);
  return out;
}

bool scenario_applies(Scenario scenario, Exercise exercise) noexcept {
  if (exercise != Exercise::bridge && exercise != Exercise::clamshell) return false;
  if (scenario == Scenario::pelvic_roll) return exercise == Exercise::clamshell;
  if (scenario == Scenario::hamstring_dominant) return exercise == Exercise::bridge;
  return true;
}

void validate(const SimulatorSettings& s) {
  require(s.exercise == Exercise::bridge || s.exercise == Exercise::clamshell,
          "exercise must be bridge or clamshell");
  require(scenario_applies(s.scenario, s.exercise),
          fmt::format("scenario {} does not apply to the {} (pelvic-roll is a clamshell scenario, "
                      "hamstring-dominant a bridge scenario)",
                      to_string(s.scenario), to_string(s.exercise)));
  require(s.reps >= 1 && s.reps <= 200, fmt::format("reps must be 1..200, got {}", s.reps));
  require(s.emg_rate_hz >= 1000.0 && s.emg_rate_hz <= 4000.0,
          fmt::format("EMG rate must be 1000..4000 Hz, got {} Hz", s.emg_rate_hz));
  require(s.imu_rate_hz >= 50.0 && s.imu_rate_hz <= 1000.0,
          fmt::format("IMU rate must be 50..1000 Hz, got {} Hz", s.imu_rate_hz));
  require(s.glute_activation_scale >= 0.1 && s.glute_activation_scale <= 2.0,
          fmt::format("glute activation scale must be 0.1..2, got {}", s.glute_activation_scale));
  require(s.tonic_fraction >= 0.0 && s.tonic_fraction <= 0.5,
          fmt::format("tonic fraction must be 0..0.5, got {}", s.tonic_fraction));
  require(s.emg_amplitude_scale >= 0.01 && s.emg_amplitude_scale <= 1.0,
          fmt::format("EMG amplitude scale must be 0.01..1, got {}", s.emg_amplitude_scale));
  require(s.snr_db >= 0.0 && s.snr_db <= 60.0, fmt::format("SNR must be 0..60 dB, got {} dB", s.snr_db));
  require(
      s.initial_still_s >= 3.0,
      fmt::format("initial still period must be >= 3 s (IMU fusion start-up), got {} s", s.initial_still_s));
  require(s.lead_in_s >= 0.5 && s.tail_s >= 0.0, "lead-in must be >= 0.5 s and tail >= 0 s");
  const Tempo& t = s.tempo;
  require(t.concentric_s >= 1.0 && t.hold_s >= 0.2 && t.eccentric_s >= 1.0 && t.rest_s >= 1.0,
          "tempo: concentric and eccentric must be >= 1 s, hold >= 0.2 s, rest >= 1 s");
  require(t.jitter_fraction >= 0.0 && t.jitter_fraction <= 0.3, "tempo jitter must be 0..0.3");
  require(s.mvc_contraction_s >= 2.0 && s.mvc_rest_s >= 1.0,
          "MVC contraction must be >= 2 s and rest >= 1 s");
  require(s.gyro_bias_dps >= 0.0 && s.gyro_bias_dps <= 100.0,
          fmt::format("gyro bias must be 0..100 deg/s, got {}", s.gyro_bias_dps));
  require(s.accel_noise_g >= 0.0 && s.gyro_noise_dps >= 0.0, "IMU noise levels must be >= 0");
  require(s.emg_samples_per_frame >= 1 && s.emg_samples_per_frame <= 60,
          "EMG samples per frame must be 1..60 (one frame holds at most 1002 payload bytes)");
  require(s.imu_samples_per_frame >= 1 && s.imu_samples_per_frame <= 60,
          "IMU samples per frame must be 1..60");
  require(s.duration_limit_s >= 0.0, "duration limit must be >= 0 s (0 = no limit)");
  const Contaminants& c = s.contaminants;
  require(c.mains == Mains::off || c.mains == Mains::hz50 || c.mains == Mains::hz60,
          "mains must be 50 or 60 Hz");
  require(c.mains_amplitude_uv >= 0.0 && c.mains_amplitude_uv <= 1000.0,
          "mains amplitude must be 0..1000 uV");
  require(c.ecg_r_amplitude_uv >= 0.0 && c.ecg_r_amplitude_uv <= 1000.0, "ECG amplitude must be 0..1000 uV");
  if (c.lead_off_channel) {
    require(*c.lead_off_channel >= 0 && *c.lead_off_channel < 8,
            fmt::format("lead-off channel must be 0..7, got {}", *c.lead_off_channel));
    require(c.lead_off_time_s >= 0.0, "lead-off time must be >= 0 s");
  }
}

}  // namespace glutescope::sim
