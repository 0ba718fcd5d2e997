#include "pipeline/live_analysis.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "exercise/normalisation.hpp"
#include "exercise/session_analysis.hpp"
#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"

namespace glutescope::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::size_t to_sample(double t_s, double rate_hz) {
  return t_s > 0.0 ? static_cast<std::size_t>(std::llround(t_s * rate_hz)) : 0;
}

}  // namespace

// Worker-thread state (never touched by the acquisition thread).
struct LiveAnalysis::State {
  std::optional<DeviceInfo> device;
  std::size_t channels = 0;
  double emg_rate = 0.0;
  // Raw EMG counts of the last `capacity` samples: sample n lives in row n % capacity.
  std::vector<std::int32_t> ring;
  std::size_t capacity = 0;
  std::size_t emg_end = 0;  // one past the newest EMG sample index received
  std::vector<exercise::Interval> emg_gaps;
  std::vector<std::vector<exercise::Interval>> lead_off;
  std::vector<std::optional<std::size_t>> lead_off_since;
  // Motion.
  std::vector<std::unique_ptr<motion::OrientationFilter>> orientation;
  motion::SegmentGravity gravity;
  int clock_sensor = -1;  // the IMU whose samples drive the angle/segmenter updates
  double imu_rate = 0.0;
  std::size_t imu_end = 0;
  std::vector<exercise::Interval> imu_gaps;
  bool have_pelvis = false;
  // MVC references (per channel, µV), from the MVC trials seen so far.
  std::vector<double> mvc_reference;
  std::optional<Event> open_mvc;
  // Current exercise set.
  bool in_set = false;
  bool saw_set_marker = false;  // without operator set markers the whole recording is one set (as offline)
  Exercise exercise = Exercise::bridge;
  Side working_side = Side::midline;
  std::size_t set_index = 0;
  std::size_t set_first_sample = 0;  // EMG sample of the set start
  motion::StillPeriodAverage still;
  std::size_t baseline_left = 0;
  std::unique_ptr<motion::AngleCalculator> angles;
  std::unique_ptr<exercise::RepSegmenter> segmenter;
  std::vector<dsp::Baseline> baseline;  // onset baseline of the set, computed at its first rep
  std::vector<std::pair<double, double>> tilt_history;  // (t_s, pelvic tilt rel) since the set start
};

LiveAnalysis::LiveAnalysis(Montage montage, AnalysisPipelineSettings settings, std::FILE* out)
    : montage_(std::move(montage)), settings_(std::move(settings)), out_(out) {
  validate(settings_);
  worker_ = std::thread([this] { run(); });
}

LiveAnalysis::~LiveAnalysis() { stop(); }

void LiveAnalysis::push(Item item) noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= settings_.live.queue_capacity_blocks) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(item));
  } catch (...) {
    ++dropped_;  // allocation failure: drop, count, carry on recording
    return;
  }
  wake_.notify_one();
}

void LiveAnalysis::on_device_info(const DeviceInfo& info) { push(info); }
void LiveAnalysis::on_emg(const EmgBlock& block) { push(block); }
void LiveAnalysis::on_imu(const ImuBlock& block) { push(block); }
void LiveAnalysis::on_gap(const Gap& gap) { push(gap); }
void LiveAnalysis::on_event(const Event& event) {
  if (event.kind == EventKind::set_start || event.kind == EventKind::set_stop ||
      event.kind == EventKind::lead_off || event.kind == EventKind::lead_on) {
    push(event);
  }
}

void LiveAnalysis::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
  if (dropped_.load() > 0 && out_ != nullptr) {
    fmt::print(
        out_,
        "live analysis: {} blocks dropped (analysis slower than acquisition); the recording is complete\n",
        dropped_.load());
  }
}

std::vector<LiveRep> LiveAnalysis::reps() const {
  std::lock_guard lock(mutex_);
  return reps_;
}

void LiveAnalysis::run() {
  State st;
  const exercise::AnalysisSettings& scoring = settings_.scoring;
  for (const ImuSensor& p : montage_.imu) st.have_pelvis = st.have_pelvis || p.segment == Segment::sacrum;

  // Raw µV of channel c over EMG samples [begin, end) from the ring (0 for samples no longer / not yet held).
  auto window_uv = [&](std::size_t c, std::size_t begin, std::size_t end) {
    std::vector<double> uv(end - begin, 0.0);
    const double scale = c < st.device->emg.size() ? st.device->emg[c].microvolts_per_count
                                                   : montage_.emg[c].microvolts_per_count;
    const std::size_t oldest = st.emg_end > st.capacity ? st.emg_end - st.capacity : 0;
    for (std::size_t n = std::max(begin, oldest); n < std::min(end, st.emg_end); ++n) {
      uv[n - begin] = st.ring[(n % st.capacity) * st.channels + c] * scale;
    }
    return uv;
  };
  auto window_counts = [&](std::size_t begin, std::size_t end) {
    std::vector<std::int32_t> counts((end - begin) * st.channels, 0);
    for (std::size_t n = begin; n < std::min(end, st.emg_end); ++n) {
      std::copy_n(&st.ring[(n % st.capacity) * st.channels], st.channels, &counts[(n - begin) * st.channels]);
    }
    return counts;
  };
  // Causally conditioned signals of [begin, end) for every channel, after a lead-in so that the filters have
  // settled at `begin`; the lead-in is cut off again.
  auto condition_window = [&](std::size_t begin, std::size_t end) {
    const std::size_t lead = std::min(begin, to_sample(settings_.live.filter_lead_in_s, st.emg_rate));
    std::vector<exercise::ChannelSignals> signals;
    for (std::size_t c = 0; c < st.channels; ++c) {
      exercise::ChannelSignals sig = exercise::condition_channel(
          window_uv(c, begin - lead, end), montage_.emg[c].muscle, st.emg_rate, scoring, /*causal=*/true);
      for (auto* v : {&sig.filtered_uv, &sig.smoothed_uv, &sig.rms_uv, &sig.onset_signal}) {
        v->erase(v->begin(), v->begin() + static_cast<std::ptrdiff_t>(lead));
      }
      signals.push_back(std::move(sig));
    }
    return signals;
  };

  auto close_mvc_trial = [&](const Event& start, double stop_s) {
    const std::size_t begin = to_sample(start.time_s, st.emg_rate),
                      end = std::min(to_sample(stop_s, st.emg_rate), st.emg_end);
    if (end <= begin + 1 || begin + st.capacity < st.emg_end) return;  // trial no longer in the history
    const std::vector<exercise::ChannelSignals> sig = condition_window(begin, end);
    std::vector<std::vector<double>> smoothed;
    for (const auto& s : sig) smoothed.push_back(s.smoothed_uv);
    exercise::MvcTrial trial{start.muscle, start.side, 0, end - begin};
    const std::vector<double> ref = exercise::mvc_references(montage_, smoothed, std::span(&trial, 1));
    for (std::size_t c = 0; c < st.channels; ++c) {
      if (std::isfinite(ref[c]) && !(st.mvc_reference[c] >= ref[c])) st.mvc_reference[c] = ref[c];
    }
  };

  auto handle_rep = [&](const exercise::Repetition& r) {
    const auto t_detected = std::chrono::steady_clock::now();
    const double rate = st.emg_rate;
    const std::size_t w0 = to_sample(r.start_s - scoring.onset.pre_movement_ms / 1000.0, rate);
    const std::size_t end = std::min(st.emg_end, to_sample(r.end_s, rate) + to_sample(0.3, rate));
    LiveRep live;
    live.set_index = st.set_index;
    live.exercise = st.exercise;
    if (w0 + st.capacity < st.emg_end || end <= w0) {
      live.score.index = r.index;
      live.score.start_s = r.start_s;
      live.score.end_s = r.end_s;
      live.score.valid = false;
      live.score.invalid_reason = "rep longer than the live EMG history (live.history_s)";
      live.score.summary = "not scored: " + live.score.invalid_reason;
    } else {
      // Onset baseline of the set (once): its initial still period, as offline.
      const std::size_t b0 = st.set_first_sample + to_sample(scoring.onset.baseline_offset_ms / 1000.0, rate);
      if (st.baseline.empty()) {
        const std::size_t b1 = std::min(b0 + to_sample(scoring.onset.baseline_ms / 1000.0, rate), w0);
        st.baseline.assign(st.channels, dsp::Baseline{});
        if (b1 > b0 + to_sample(0.05, rate) && b0 + st.capacity >= st.emg_end) {
          const std::vector<exercise::ChannelSignals> sig = condition_window(b0, b1);
          for (std::size_t c = 0; c < st.channels; ++c) {
            dsp::BaselineSettings bs;
            bs.rest_begin_index = 0;
            bs.rest_end_index = b1 - b0;
            st.baseline[c] = dsp::find_baseline(sig[c].onset_signal, rate, bs);
          }
        } else {
          // No still period before the first rep: the quietest window before this rep (dsp's automatic
          // baseline).
          const std::vector<exercise::ChannelSignals> sig = condition_window(w0, end);
          for (std::size_t c = 0; c < st.channels; ++c) {
            dsp::BaselineSettings bs;
            bs.search_window_ms = scoring.onset.baseline_ms;
            st.baseline[c] = dsp::find_baseline(sig[c].onset_signal, rate, bs);
          }
        }
      }
      const std::vector<exercise::ChannelSignals> signals = condition_window(w0, end);
      const std::vector<std::int32_t> counts = window_counts(w0, end);
      std::vector<std::vector<double>> smoothed;
      for (const auto& s : signals) smoothed.push_back(s.smoothed_uv);
      exercise::RepScoringContext ctx;
      ctx.montage = &montage_;
      ctx.settings = &scoring;
      ctx.exercise = st.exercise;
      ctx.working_side = st.working_side;
      ctx.emg_rate_hz = rate;
      ctx.first_sample = w0;
      ctx.end_sample = end;
      ctx.signals = signals;
      ctx.emg_counts = counts;
      if (st.device->emg_format == SampleFormat::int24) ctx.rail_low = -8388608, ctx.rail_high = 8388607;
      ctx.baseline = st.baseline;
      // %MVIC when every scored channel has an MVC reference, otherwise the peak within this rep's window.
      ctx.normalisation = exercise::choose_normalisation(montage_, st.mvc_reference, smoothed, 0, end - w0);
      if (ctx.normalisation.kind == exercise::NormalisationKind::peak_of_set) {
        ctx.normalisation.note += " (live: peak within this rep)";
      }
      ctx.have_pelvis = st.have_pelvis;
      ctx.lead_off = st.lead_off;
      for (std::size_t c = 0; c < st.channels; ++c) {
        if (st.lead_off_since[c]) ctx.lead_off[c].push_back({*st.lead_off_since[c], st.emg_end});
      }
      ctx.emg_gaps = st.emg_gaps;
      ctx.imu_gaps = st.imu_gaps;
      ctx.imu_rate_hz = st.imu_rate;
      ctx.imu_samples = st.imu_end;
      double tilt_min = kNaN;
      for (const auto& [t, tilt] : st.tilt_history) {
        if (t >= r.start_s && t <= r.end_s && std::isfinite(tilt) && !(tilt >= tilt_min)) tilt_min = tilt;
      }
      live.normalisation = ctx.normalisation;
      live.score = exercise::score_repetition(ctx, r, tilt_min);
    }
    exercise::SetAnalysis set;  // for the line's wording only
    set.exercise = st.exercise;
    set.normalisation = live.normalisation;
    live.line = format_rep_line(st.set_index, set, live.score);
    live.scored_after_end_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_detected).count();
    if (out_ != nullptr) {
      fmt::print(out_, "[live {:7.1f} s] {}\n", r.end_s, live.line);
      std::fflush(out_);
    }
    std::lock_guard lock(mutex_);
    reps_.push_back(std::move(live));
  };

  auto start_set = [&](Exercise exercise, Side side, double t_s) {
    st.in_set = true;
    st.exercise = exercise;
    st.working_side =
        exercise == Exercise::clamshell
            ? ((side == Side::left || side == Side::right) ? side : settings_.live.clamshell_upper_side)
            : Side::midline;
    st.set_first_sample = to_sample(t_s, st.emg_rate);
    st.still.reset();
    st.baseline_left = std::max<std::size_t>(
        1, to_sample(scoring.motion.still_period_s, st.imu_rate > 0 ? st.imu_rate : 200.0));
    st.segmenter.reset();
    st.baseline.clear();
    st.tilt_history.clear();
  };

  while (true) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    if (auto* info = std::get_if<DeviceInfo>(&item)) {
      if (st.device) continue;
      st.device = *info;
      st.channels = info->emg.size();
      st.emg_rate = info->emg_rate_hz;
      st.capacity = std::max<std::size_t>(1, to_sample(settings_.live.history_s, st.emg_rate));
      st.ring.assign(st.capacity * st.channels, 0);
      st.lead_off.assign(st.channels, {});
      st.lead_off_since.assign(st.channels, std::nullopt);
      st.mvc_reference.assign(st.channels, kNaN);
      for (std::size_t i = 0; i < info->imu.size(); ++i) {
        motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
        fs.gain = scoring.motion.orientation_gain;
        fs.sample_rate_hz = info->imu[i].rate_hz;
        fs.gyroscope_range_dps = info->imu[i].gyro_range_dps;
        st.orientation.push_back(std::make_unique<motion::OrientationFilter>(fs));
        if (st.clock_sensor < 0 && i < montage_.imu.size() && montage_.imu[i].segment != Segment::other) {
          st.clock_sensor = static_cast<int>(i);
          st.imu_rate = info->imu[i].rate_hz;
        }
      }
    } else if (auto* emg = std::get_if<EmgBlock>(&item)) {
      if (!st.device || emg->channels != st.channels || st.channels != montage_.emg.size()) continue;
      // A lost stretch: zeros in the ring and an EMG gap (reps overlapping it are marked invalid).
      if (emg->first_sample > st.emg_end) {
        st.emg_gaps.push_back({st.emg_end, static_cast<std::size_t>(emg->first_sample)});
        for (std::size_t n = st.emg_end; n < emg->first_sample; ++n) {
          std::fill_n(&st.ring[(n % st.capacity) * st.channels], st.channels, 0);
        }
      }
      for (std::size_t r = 0; r < emg->samples(); ++r) {
        const std::size_t n = emg->first_sample + r;
        std::copy_n(&emg->counts[r * st.channels], st.channels, &st.ring[(n % st.capacity) * st.channels]);
      }
      st.emg_end = std::max<std::size_t>(st.emg_end, emg->first_sample + emg->samples());
    } else if (auto* gap = std::get_if<Gap>(&item)) {
      if (gap->stream == StreamKind::imu && st.imu_rate > 0) {
        st.imu_gaps.push_back({static_cast<std::size_t>(gap->start_sample),
                               static_cast<std::size_t>(gap->start_sample + gap->count)});
      }
    } else if (auto* imu = std::get_if<ImuBlock>(&item)) {
      if (!st.device || imu->sensor >= st.orientation.size()) continue;
      const double rate = st.device->imu[imu->sensor].rate_hz;
      const double ga = st.device->imu[imu->sensor].accel_g_per_count;
      const double gg = st.device->imu[imu->sensor].gyro_dps_per_count;
      const Segment seg =
          imu->sensor < montage_.imu.size() ? montage_.imu[imu->sensor].segment : Segment::other;
      int body = -1;
      if (seg == Segment::sacrum) body = static_cast<int>(motion::BodySegment::pelvis);
      if (seg == Segment::thigh_left) body = static_cast<int>(motion::BodySegment::thigh_left);
      if (seg == Segment::thigh_right) body = static_cast<int>(motion::BodySegment::thigh_right);
      for (std::size_t k = 0; k < imu->samples(); ++k) {
        auto& f = *st.orientation[imu->sensor];
        f.update(
            Eigen::Vector3d(imu->gyro[k * 3] * gg, imu->gyro[k * 3 + 1] * gg, imu->gyro[k * 3 + 2] * gg),
            Eigen::Vector3d(imu->accel[k * 3] * ga, imu->accel[k * 3 + 1] * ga, imu->accel[k * 3 + 2] * ga),
            1.0 / rate);
        if (body >= 0) st.gravity.set(static_cast<motion::BodySegment>(body), f.gravity());
        if (static_cast<int>(imu->sensor) != st.clock_sensor) continue;
        st.imu_end = imu->first_sample + k + 1;
        if (!st.in_set && !st.saw_set_marker && settings_.sets.score_without_markers) {
          start_set(settings_.sets.exercise_without_markers, Side::unknown, 0.0);
        }
        if (!st.in_set) continue;
        const double t = static_cast<double>(imu->first_sample + k) / rate;
        if (st.baseline_left > 0) {
          st.still.add(st.gravity);
          if (--st.baseline_left == 0) {
            motion::AngleSettings as;
            as.exercise = st.exercise;
            as.upper_side = st.exercise == Exercise::clamshell ? st.working_side : Side::right;
            st.angles = std::make_unique<motion::AngleCalculator>(as);
            st.angles->calibrate(st.still.mean());
            exercise::RepSegmenterSettings seg_settings = scoring.motion.segmenter;
            seg_settings.sample_rate_hz = rate;
            st.segmenter = std::make_unique<exercise::RepSegmenter>(seg_settings);
          }
          continue;
        }
        if (!st.segmenter) continue;
        const motion::JointAngles a = st.angles->compute(st.gravity);
        st.tilt_history.emplace_back(t, a.pelvic_tilt_rel_deg);
        const double keep_s = settings_.live.history_s;
        if (st.tilt_history.size() > 2 * static_cast<std::size_t>(keep_s * rate)) {
          st.tilt_history.erase(st.tilt_history.begin(),
                                st.tilt_history.begin() + static_cast<std::ptrdiff_t>(keep_s * rate));
        }
        if (auto rep = st.segmenter->push(a.driving_deg, t, st.have_pelvis ? a.pelvic_tilt_rel_deg : kNaN,
                                          st.have_pelvis ? a.pelvic_roll_rel_deg : kNaN)) {
          handle_rep(*rep);
        }
      }
    } else if (auto* ev = std::get_if<Event>(&item)) {
      if (!st.device) continue;
      if (ev->kind == EventKind::lead_off && ev->channel >= 0 &&
          static_cast<std::size_t>(ev->channel) < st.channels) {
        auto& since = st.lead_off_since[static_cast<std::size_t>(ev->channel)];
        if (!since) since = to_sample(ev->time_s, st.emg_rate);
      } else if (ev->kind == EventKind::lead_on && ev->channel >= 0 &&
                 static_cast<std::size_t>(ev->channel) < st.channels) {
        const auto c = static_cast<std::size_t>(ev->channel);
        if (st.lead_off_since[c]) {
          st.lead_off[c].push_back({*st.lead_off_since[c], to_sample(ev->time_s, st.emg_rate)});
          st.lead_off_since[c].reset();
        }
      } else if (ev->kind == EventKind::set_start && ev->exercise == Exercise::mvc) {
        // As offline: a session with any set marker has no implied whole-recording set.
        if (!st.saw_set_marker) st.in_set = false;
        st.saw_set_marker = true;
        st.open_mvc = *ev;
      } else if (ev->kind == EventKind::set_stop && st.open_mvc) {
        close_mvc_trial(*st.open_mvc, ev->time_s);
        st.open_mvc.reset();
      } else if (ev->kind == EventKind::set_start &&
                 (ev->exercise == Exercise::bridge || ev->exercise == Exercise::clamshell)) {
        if (st.in_set && st.saw_set_marker) ++st.set_index;
        st.saw_set_marker = true;
        start_set(ev->exercise, ev->side, ev->time_s);
      } else if (ev->kind == EventKind::set_stop && st.in_set) {
        st.in_set = false;
        ++st.set_index;
        st.segmenter.reset();
      }
    }
  }
}

}  // namespace glutescope::pipeline
