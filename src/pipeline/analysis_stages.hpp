// The pipeline's stages as used by both the offline analysis (analysis.cpp) and the live consumer
// (live_analysis.cpp): EMG conditioning, per-IMU gravity tracks, per-set joint angles and repetition
// segmentation. They only wire the maths of dsp/, motion/ and exercise/ together.
//
// Threading: plain objects and pure functions, one caller each (no shared state).
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"
#include "exercise/rep_segmenter.hpp"
#include "motion/angles.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::pipeline {

struct EmgChain {
  dsp::SosCoefficients bandpass;          // band-pass, then the mains notch sections (if any)
  dsp::SosCoefficients envelope_lowpass;  // linear-envelope low-pass
};
// Throws std::invalid_argument naming the key when an edge is at or above the session's Nyquist frequency.
EmgChain design_emg_chain(const EmgConditioningSettings& settings, double rate_hz);

// Causal EMG conditioning: band-pass (+ notch) → |x| → linear envelope or moving RMS, interleaved
// [samples x channels]. process() is noexcept and allocation-free (the live per-block path).
class CausalEmgConditioner {
 public:
  CausalEmgConditioner(const EmgConditioningSettings& settings, double rate_hz, std::size_t channels);
  // in and out hold whole rows; out receives the envelope (µV).
  void process(std::span<const double> in, std::span<double> out) noexcept;
  [[nodiscard]] std::size_t channels() const noexcept { return channels_; }

 private:
  std::size_t channels_;
  EnvelopeKind kind_;
  dsp::SosFilter bandpass_;
  dsp::LinearEnvelope linear_;
  dsp::MovingRms rms_;
};

// Gravity direction ("up", unit vector, sensor frame) per IMU sample, [samples x 3], from the orientation
// filter run over the whole stream at the nominal rate.
std::vector<double> gravity_track(const std::vector<double>& accel_g, const std::vector<double>& gyro_dps,
                                  double rate_hz, const MotionSettings& settings);

// Joint angles of one set: calibrated on the first baseline_period_s of the set.
struct SetAngles {
  bool valid = false;                // false: no usable IMU, or the set is shorter than its baseline
  std::vector<double> t_s;           // session time of each sample (sample index / rate)
  std::vector<double> driving_deg;   // RepSegmenter input
  std::vector<double> pelvic_tilt_rel_deg;
  std::vector<double> pelvic_roll_rel_deg;
};
SetAngles set_angles(const std::array<const std::vector<double>*, motion::kBodySegmentCount>& gravity,
                     std::size_t first_sample, std::size_t end_sample, double rate_hz, Exercise exercise,
                     Side upper_side, const MotionSettings& settings);

exercise::RepSegmenterSettings segmenter_settings(const MotionSettings& settings, double rate_hz);

// Offline (zero_phase: RepSegmenter::segment_set) or causal (RepSegmenter::push, as live) segmentation.
std::vector<exercise::Repetition> segment_reps(const SetAngles& angles, double rate_hz, const MotionSettings& settings,
                                               bool zero_phase);

}  // namespace glutescope::pipeline
