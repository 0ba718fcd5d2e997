// Amplitude normalisation of EMG: %MVIC from maximal voluntary isometric contraction trials (CEDE
// approaches 1-2, Besomi et al. 2020 JEK 53:102438), or the clearly labelled fallback "peak of the set"
// (CEDE approach 4: one value per muscle and set). The same amplitude estimator is used in the trials and
// in the task (Boren et al. 2011: peak of a 50 ms RMS): the maximum of a moving average (peak_window_ms) of
// the moving-RMS envelope (rms_window_ms).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/montage.hpp"

namespace glutescope::exercise {

enum class NormalisationKind : std::uint8_t {
  mvic = 0,         // every scored channel has an MVC trial: amplitudes in %MVIC
  peak_of_set = 1,  // fallback for all channels: % of each channel's peak within the set
};
std::string_view to_string(NormalisationKind kind) noexcept;

// An MVC trial: the interval between set_start and set_stop events with exercise = mvc.
struct MvcTrial {
  Muscle muscle = Muscle::other;
  Side side = Side::unknown;     // midline/unknown: both sides at once
  std::size_t begin_sample = 0;  // EMG sample indices, half-open
  std::size_t end_sample = 0;
};

struct Normalisation {
  NormalisationKind kind = NormalisationKind::peak_of_set;
  std::vector<double> reference_uv;  // per channel (montage order); NaN for channels not normalised
  std::string note;                  // plain words: which channels lacked a trial and what was done
};

// Moving average of x over `window` samples, centred (output i averages [i - (w-1)/2, i + w/2] clipped to
// the record, divided by the number of samples actually inside).
std::vector<double> moving_average_centered(std::span<const double> x, std::size_t window);

// The peak estimator over [begin, end) of an already smoothed amplitude (moving average of the RMS
// envelope): its maximum. NaN for an empty range.
double peak_amplitude(std::span<const double> smoothed_envelope, std::size_t begin, std::size_t end) noexcept;

// True for the muscles glutescope scores (not Muscle::other).
bool is_scored_muscle(Muscle muscle) noexcept;

// MVC reference per channel: the largest peak_amplitude over the trials of the channel's muscle (and side,
// unless the trial's side is midline/unknown). NaN where no trial applies.
std::vector<double> mvc_references(const Montage& montage,
                                   std::span<const std::vector<double>> smoothed_envelopes,
                                   std::span<const MvcTrial> trials);
// The same for one channel (batch analysis conditions one channel at a time).
double mvc_reference(const EmgChannel& channel, std::span<const double> smoothed_envelope,
                     std::span<const MvcTrial> trials);
// The same from each trial's peak_amplitude, computed beforehand (trial_peak_uv[k] for trials[k]).
double mvc_reference(const EmgChannel& channel, std::span<const MvcTrial> trials,
                     std::span<const double> trial_peak_uv);

// Chooses the normalisation of one exercise set: %MVIC if every scored channel has a finite positive MVC
// reference, otherwise the fallback for all channels (peak over [set_begin, set_end) of each channel), so
// that ratios between muscles are always computed on a common normalisation.
Normalisation choose_normalisation(const Montage& montage, std::span<const double> mvc_reference_uv,
                                   std::span<const std::vector<double>> smoothed_envelopes,
                                   std::size_t set_begin, std::size_t set_end);
// The same from each channel's peak_amplitude over the set, computed beforehand (set_peak_uv, montage order).
Normalisation choose_normalisation(const Montage& montage, std::span<const double> mvc_reference_uv,
                                   std::span<const double> set_peak_uv);

}  // namespace glutescope::exercise
