// Settings of the simulated wearable session: exercise, scenario, tempo, signal quality, contaminants,
// framing. Plain data with units; `SimulatorSettings{}` is the documented default (docs/SIMULATOR.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/montage.hpp"

namespace glutescope::sim {

// What the simulated subject does (docs/SIMULATOR.md §Scenarios says what each means clinically).
enum class Scenario : std::uint8_t {
  good = 0,                // glutes fire first and dominate
  lumbar_dominant = 1,     // lumbar erector spinae at or above the glutes, anterior pelvic tilt (bridge)
  late_glute = 2,          // glute onset 150-300 ms after the erector spinae onset
  silent_glute = 3,        // glutes below 5 %MVIC
  pelvic_roll = 4,         // clamshell only: the pelvis rolls back 12-18 deg with each rep
  hamstring_dominant = 5,  // bridge only: biceps femoris above gluteus maximus
  partial_reps = 6,        // `good` muscle pattern, every third rep reaches only 40-55 % of the range
};

std::string_view to_string(Scenario scenario) noexcept;
// Names as printed by to_string ("lumbar-dominant"); std::nullopt for anything else.
std::optional<Scenario> parse_scenario(std::string_view text) noexcept;
// All scenarios in enum order (for --help and validation messages).
std::vector<Scenario> all_scenarios();
// Whether a scenario can be simulated for an exercise (pelvic-roll: clamshell; hamstring-dominant: bridge).
bool scenario_applies(Scenario scenario, Exercise exercise) noexcept;

// Movement timing of one repetition. Each phase duration is drawn per rep uniformly in
// nominal * [1 - jitter_fraction, 1 + jitter_fraction].
struct Tempo {
  double concentric_s = 2.0;  // lifting (bridge: hips up; clamshell: knee opens)
  double hold_s = 1.0;        // isometric hold at the top
  double eccentric_s = 2.0;   // lowering
  double rest_s = 2.0;        // still between reps
  double jitter_fraction = 0.1;
};

// Mains interference: none, or 50/60 Hz with 3rd and 5th harmonics.
enum class Mains : std::uint8_t { off = 0, hz50 = 50, hz60 = 60 };

// Contaminants added to the EMG (each independently switchable; all off by default).
struct Contaminants {
  Mains mains = Mains::off;
  double mains_amplitude_uv = 20.0;  // fundamental amplitude (peak, µV); 3rd = 0.3x, 5th = 0.1x
  bool baseline_wander = false;      // sum of slow sinusoids 0.05-0.5 Hz, ~100 µV peak
  bool ecg = false;                  // ECG bleed on the lumbar ES channels, ~72 bpm
  double ecg_r_amplitude_uv = 60.0;  // R-wave amplitude on the left lumbar channel (right: 0.6x), µV
  bool motion_artefacts = false;     // low-frequency transients at movement onsets
  // Lead-off: from lead_off_time_s on, channel lead_off_channel saturates at the positive rail.
  std::optional<int> lead_off_channel;  // EMG channel index (0-based, montage order)
  double lead_off_time_s = 0.0;         // session time, s
};

struct SimulatorSettings {
  Exercise exercise = Exercise::bridge;  // bridge or clamshell
  Scenario scenario = Scenario::good;
  int reps = 10;                // repetitions in the set (1..200)
  std::uint64_t seed = 1;       // same seed => identical samples and bytes
  double emg_rate_hz = 2000.0;  // 1000..4000
  double imu_rate_hz = 200.0;   // 50..1000
  double snr_db = 30.0;         // 10*log10(P_signal/P_noise) per channel during its activity; 0..60
  // Multiplies the glutes' (GMax, GMed) activation in every rep, not in the MVC trials: a known change of
  // %MVIC and glute:ES ratio over a series of sessions (longitudinal tests, docs/SIMULATOR.md); 0.1..2.
  double glute_activation_scale = 1.0;
  // Tonic background (issue 14): from the first rep's onset to the last rep's offset every muscle's
  // activation stays at least at this fraction of its rep level (the previous rep's), between reps too: the
  // muscle never fully relaxes. 0 = off; 0..0.5. From the second rep on the truth onset is where the rep's
  // ramp crosses that background (schedule.cpp).
  double tonic_fraction = 0.0;
  // Multiplies the whole EMG (muscle and instrumentation noise, not the contaminants) before it is
  // quantised: 0.1 puts rest noise at a few counts, as in slow submaximal real recordings (rest RMS
  // 2.5-3 µV against 0.7 µV steps). 0.01..1.
  double emg_amplitude_scale = 1.0;
  Contaminants contaminants;
  Tempo tempo;
  double initial_still_s = 3.0;      // still before anything happens (IMU fusion start-up), >= 3
  double lead_in_s = 1.0;            // set-start marker to the first rep's movement onset
  double tail_s = 1.0;               // set-stop marker to the end of the session
  bool mvc_trials = false;           // prepend one 3-s maximal contraction per muscle
  double mvc_contraction_s = 3.0;    // per MVC trial: ramp up 0.5 s, plateau, ramp down 0.5 s
  double mvc_rest_s = 3.0;           // rest after each MVC trial
  double gyro_bias_dps = 1.0;        // per-axis constant gyro bias drawn in [-x, +x] per IMU axis
  double accel_noise_g = 0.002;      // white accelerometer noise, RMS per axis (g)
  double gyro_noise_dps = 0.07;      // white gyroscope noise, RMS per axis (°/s)
  int emg_samples_per_frame = 20;    // EMG_BLOCK size (10 ms at 2 kHz)
  int imu_samples_per_frame = 4;     // IMU_BLOCK size (20 ms at 200 Hz)
  double duration_limit_s = 0.0;     // > 0: stop the session at this device time (s)
  std::uint16_t device_id = 0x5151;  // DEVICE_INFO / frame header device id
};

// Throws std::invalid_argument with a message a user can act on when a setting is out of range or the
// scenario does not apply to the exercise.
void validate(const SimulatorSettings& settings);

}  // namespace glutescope::sim
