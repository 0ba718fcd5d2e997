// Repetition segmentation of glute bridges and clamshells from one driving angle.
//
// Signal: bridge = hip extension relative to the starting posture (pelvic tilt if only the sacral IMU is
// worn), clamshell = thigh opening (motion::JointAngles::driving_deg). It is low-passed (2nd-order
// Butterworth, 4 Hz: causal live, zero-phase offline) and fed to a hysteresis state machine
//     rest -> concentric -> hold -> eccentric -> rest
// whose levels are fractions of a reference range of motion (ROM) calibrated per set, with duration guards
// and a refractory period (research note imu-and-hdf5.md §1.4; docs/MOTION.md "Repetition segmentation").
// Boundaries are tangent-line onsets: the lines through the exit- and flank-level (or enter-level)
// crossings of the rising and falling flanks, intersected with the baseline (start, end) and with the peak
// level (concentric end, hold end); live times are corrected by the filter's group delay.
//
// Threading: one instance per set and driving angle, used from one thread. push() is noexcept and
// allocation-free; segment_set() allocates (offline).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"

namespace glutescope::exercise {

struct RepSegmenterSettings {
  double sample_rate_hz = 100.0;   // nominal rate of the angle samples (Hz)
  double lowpass_cutoff_hz = 4.0;  // 2nd-order Butterworth corner on the driving angle (Hz)
  double baseline_period_s = 0.5;  // initial still period averaged as the rest angle (s); 0 = rest at 0 deg
  double rom_reference_deg = 0.0;  // explicit target ROM above the rest angle (deg); 0 = calibrate from set
  double provisional_rom_deg = 20.0;  // live, until the first good rep sets the reference (deg)
  double enter_fraction = 0.35;       // rest -> concentric above this fraction of the reference ROM
  double exit_fraction = 0.175;       // eccentric -> rest below this fraction of the reference ROM
  double flank_fraction = 0.65;       // upper level for the flank lines when the rep's peak reaches it
                                      // (wider level span = less noise in the extrapolated boundaries)
  double partial_fraction = 0.55;     // a rep whose ROM is below this fraction of the reference is partial
  double hold_velocity_fraction_per_s = 0.25;  // |velocity| below this x ROM per s counts as not moving
  double velocity_window_s = 0.1;        // velocity = difference of the filtered angle over this window (s)
  double min_phase_s = 0.3;              // shortest concentric and eccentric phase (s)
  double min_rep_s = 1.0;                // shortest repetition, start to end (s)
  double max_rep_s = 15.0;               // longest repetition; longer excursions are discarded (s)
  double refractory_s = 0.4;             // after returning to rest, no new rep for this long (s)
  double offline_rom_percentile = 90.0;  // offline: reference = this percentile of the first pass's rep ROMs
};

// Defaults from the research note's recommended ranges (docs/MOTION.md, table "Segmenter settings").
inline constexpr RepSegmenterSettings kDefaultRepSegmenterSettings{};

enum class RepPhase : std::uint8_t {
  baseline = 0,
  rest = 1,
  concentric = 2,
  hold = 3,
  eccentric = 4,
  discard = 5
};

struct Repetition {
  std::size_t index = 0;  // 0-based among the reps reported in this set
  // Sample indices (0-based count of samples pushed) and times (same clock as the input t_s).
  std::int64_t start_sample = 0, concentric_end_sample = 0, hold_end_sample = 0, end_sample = 0,
               peak_sample = 0;
  double start_s = 0.0, concentric_end_s = 0.0, hold_end_s = 0.0, end_s = 0.0, peak_s = 0.0;
  double peak_angle_deg = 0.0;     // filtered driving angle at the peak (input's reference)
  double rom_deg = 0.0;            // peak minus rest angle (deg)
  double reference_rom_deg = 0.0;  // reference ROM in force for this rep (deg)
  double rom_fraction = 0.0;       // rom_deg / reference_rom_deg
  bool partial = false;            // rom_fraction < partial_fraction (kept, flagged)
  // Largest |pelvic tilt| and |pelvic roll| (inputs relative to the calibrated start, deg) during the rep;
  // NaN when not supplied.
  double max_pelvic_tilt_deviation_deg = std::numeric_limits<double>::quiet_NaN();
  double max_pelvic_roll_deviation_deg = std::numeric_limits<double>::quiet_NaN();
};

namespace detail {
// The segmenter's low-pass: 2nd-order Butterworth (dsp::butterworth_lowpass, one section, run by
// dsp::SosFilter). Throws std::invalid_argument unless the rate is positive and 0 < cutoff < Nyquist.
dsp::SosCoefficients segmenter_lowpass(double cutoff_hz, double sample_rate_hz);
// Group delay at 0 Hz (samples) of one section: sum(k b_k)/sum(b_k) - sum(k a_k)/sum(a_k).
double dc_group_delay_samples(const dsp::Biquad& section) noexcept;
}  // namespace detail

class RepSegmenter {
 public:
  // Throws std::invalid_argument naming the field for inconsistent settings.
  explicit RepSegmenter(const RepSegmenterSettings& settings = kDefaultRepSegmenterSettings);

  // Live: one sample of the driving angle (deg) at time t_s (device clock, s), optionally with the pelvic
  // tilt and roll relative to the calibrated start (deg). Returns the repetition that ended at this sample.
  // A non-finite angle repeats the last finite one (a lost sample must not end a rep).
  std::optional<Repetition> push(double angle_deg, double t_s,
                                 double pelvic_tilt_deg = std::numeric_limits<double>::quiet_NaN(),
                                 double pelvic_roll_deg = std::numeric_limits<double>::quiet_NaN()) noexcept;
  // Block form of push(); appends completed reps to `out`. Results do not depend on how samples are chunked.
  void push_block(std::span<const double> angle_deg, std::span<const double> t_s,
                  std::vector<Repetition>& out, std::span<const double> pelvic_tilt_deg = {},
                  std::span<const double> pelvic_roll_deg = {});

  [[nodiscard]] RepPhase phase() const noexcept { return phase_; }
  [[nodiscard]] double reference_rom_deg() const noexcept { return reference_rom_deg_; }
  [[nodiscard]] bool reference_calibrated() const noexcept { return reference_fixed_; }
  [[nodiscard]] double rest_angle_deg() const noexcept { return baseline_deg_; }
  [[nodiscard]] const RepSegmenterSettings& settings() const noexcept { return settings_; }
  // Start a new set (keeps the settings).
  void reset() noexcept;

  // Offline, whole set: zero-phase filtering, then a first pass to find the reps and a second pass with the
  // reference ROM = offline_rom_percentile of the first pass's ROMs (or rom_reference_deg when set).
  // The optional pelvic spans must be empty or as long as angle_deg. Throws std::invalid_argument.
  static std::vector<Repetition> segment_set(
      std::span<const double> angle_deg, std::span<const double> t_s,
      const RepSegmenterSettings& settings = kDefaultRepSegmenterSettings,
      std::span<const double> pelvic_tilt_deg = {}, std::span<const double> pelvic_roll_deg = {});

 private:
  struct Crossing {
    double t_s = 0.0;
    double sample = 0.0;  // fractional sample index
    bool valid = false;
  };
  static constexpr std::size_t kVelocityCapacity = 128;

  RepSegmenter(const RepSegmenterSettings& settings, bool zero_phase_input, double fixed_reference_rom_deg);
  // The state machine on an already filtered sample.
  std::optional<Repetition> step(double y_deg, double t_s, double tilt_deg, double roll_deg) noexcept;
  std::optional<Repetition> finish_rep() noexcept;
  void set_reference(double rom_deg) noexcept;

  RepSegmenterSettings settings_;
  dsp::SosFilter lowpass_;                   // detail::segmenter_lowpass
  std::array<double, 2> unit_step_state_{};  // dsp::sosfilt_zi of lowpass_: the state after a long unit input
  bool filter_input_ = true;
  double delay_s_ = 0.0;  // group delay subtracted from live boundary times (s)
  double delay_samples_ = 0.0;
  std::size_t velocity_lag_ = 10;

  // Per-set state.
  RepPhase phase_ = RepPhase::baseline;
  std::int64_t sample_ = -1;  // index of the current sample
  double last_input_deg_ = std::numeric_limits<double>::quiet_NaN();
  double prev_x_ = 0.0, prev_t_ = 0.0;
  bool have_prev_ = false;
  double baseline_sum_ = 0.0;
  std::size_t baseline_count_ = 0;
  double baseline_deg_ = 0.0;
  double baseline_end_s_ = 0.0;
  bool started_ = false;
  double reference_rom_deg_ = 0.0;
  bool reference_fixed_ = false;
  double enter_deg_ = 0.0, exit_deg_ = 0.0, flank_deg_ = 0.0, still_dps_ = 0.0;
  std::array<double, kVelocityCapacity> hist_x_{};
  std::array<double, kVelocityCapacity> hist_t_{};
  std::size_t hist_count_ = 0;
  double rest_since_s_ = -std::numeric_limits<double>::infinity();
  Crossing rise_exit_, rise_enter_, rise_flank_, fall_flank_, fall_enter_, fall_exit_;
  double peak_x_ = 0.0, peak_t_ = 0.0, peak_sample_ = 0.0;
  double rep_entry_s_ = 0.0;
  double rise_velocity_dps_ = 0.0, fall_velocity_dps_ = 0.0;  // fallbacks when a crossing is missing
  double max_tilt_ = std::numeric_limits<double>::quiet_NaN();
  double max_roll_ = std::numeric_limits<double>::quiet_NaN();
  std::size_t reps_reported_ = 0;
};

}  // namespace glutescope::exercise
