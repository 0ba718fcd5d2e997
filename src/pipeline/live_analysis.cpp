#include "pipeline/live_analysis.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "core/sample_clock.hpp"
#include "exercise/emg_conditioning.hpp"
#include "exercise/normalisation.hpp"
#include "exercise/session_analysis.hpp"
#include "motion/angles.hpp"
#include "motion/orientation_filter.hpp"

namespace glutescope::pipeline {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Sample index of a sample-clock time, as the offline analysis rounds it (session_analysis.cpp to_index).
std::size_t to_sample(double t_s, double rate_hz) {
  return t_s > 0.0 ? static_cast<std::size_t>(std::llround(t_s * rate_hz)) : 0;
}

// EMG after the rep's end kept in its window (the offline record has all of it; live waits this long).
constexpr double kRepTailS = 0.3;
// Display: one trace column per 10 ms of EMG (a 10 s trace is 1000 columns, about one per pixel), and a
// status about every 100 ms.
constexpr double kDisplayColumnS = 0.01;
constexpr double kStatusEveryS = 0.1;
// Columns per callback: 2, about 50 frames/s. With 3 a device whose packets do not end on column bounds
// sent fewer: Trigno's 26-sample packets every 13.5 ms against 19-sample columns gave a frame every third
// packet mostly (about 25/s, 22 drawn per second on a loaded machine), under the page's 30 frames/s.
// A block longer than a column is sent with one: such a device's reads (Trigno's, two or three frames at
// once on a loaded machine: about 45 reads/s) would otherwise hold a finished column for a whole read,
// and only about 30 frames/s reached the page.
constexpr std::size_t kDisplayBatchColumns = 2;

}  // namespace

// The worker thread's state and steps (never touched by the acquisition thread).
class LiveAnalysis::Worker {
 public:
  explicit Worker(LiveAnalysis& owner) : owner_(owner), scoring_(owner.settings_.scoring) {
    for (const ImuSensor& p : owner_.montage_.imu)
      have_pelvis_ = have_pelvis_ || p.segment == Segment::sacrum;
  }

  void handle(const Item& item) {
    if (const auto* info = std::get_if<DeviceInfo>(&item)) on_device_info(*info);
    if (const auto* emg = std::get_if<EmgBlock>(&item)) on_emg(*emg);
    if (const auto* imu = std::get_if<ImuBlock>(&item)) on_imu(*imu);
    if (const auto* gap = std::get_if<Gap>(&item)) on_gap(*gap);
    if (const auto* event = std::get_if<Event>(&item)) on_event(*event);
    if (const auto* clock = std::get_if<ClockUpdate>(&item)) on_clock(*clock);
  }

 private:
  // Events arrive on the host session clock (and, device-stamped, with their EMG sample); analysis windows
  // are on the EMG sample clock. Each event is placed once, when it arrives
  // (SampleClock::event_sample_time_s, as offline), and kept in sample-clock seconds.
  [[nodiscard]] std::size_t emg_sample_at(double sample_time_s) const {
    return to_sample(sample_time_s, emg_rate_);
  }

  void on_clock(const ClockUpdate& update) {
    host_clock_at_start_s_ = update.host_clock_at_start_s;
    device_to_host_ = update.device_to_host;
    rebuild_clock();
  }
  void rebuild_clock() {
    clock_ = make_sample_clock(host_clock_at_start_s_, device_to_host_, first_block_.has_value(),
                               first_block_ ? first_block_->first : 0,
                               first_block_ ? first_block_->second : 0, emg_rate_);
  }

  void on_device_info(const DeviceInfo& info);
  void on_emg(const EmgBlock& block);
  void on_gap(const Gap& gap);
  void on_imu(const ImuBlock& block);
  void on_event(const Event& event);
  void imu_sample(double t_s, double rate_hz);
  void start_set(Exercise exercise, Side side, double sample_time_s);
  void close_mvc_trial(double start_sample_s, const Event& start, double stop_sample_s);
  [[nodiscard]] std::vector<exercise::RepOnsetBaseline> rep_baselines(std::size_t end);
  void handle_rep(const exercise::Repetition& r);
  [[nodiscard]] exercise::RepScoringContext rep_context(std::size_t w0, std::size_t end) const;
  [[nodiscard]] std::vector<std::int32_t> window_counts(std::size_t begin, std::size_t end) const;
  void publish(LiveRep live, double end_s);
  // Display feed (owner_.observer_): trace columns and status.
  void emit_columns(std::size_t block_samples);
  void emit_status();
  void track_phase(double t_s);
  [[nodiscard]] double host_clock_at(double sample_time_s) const;

  LiveAnalysis& owner_;
  const exercise::AnalysisSettings& scoring_;
  bool have_pelvis_ = false;
  std::optional<DeviceInfo> device_;
  std::size_t channels_ = 0;
  double emg_rate_ = 0.0;
  // Time model: the recorder's fit, the first EMG block (device time µs, first sample index).
  double host_clock_at_start_s_ = 0.0;
  ClockMapping device_to_host_{0.0, 1.0, 0, 0.0};
  std::optional<std::pair<std::uint64_t, std::uint64_t>> first_block_;
  SampleClock clock_;
  // EMG: streaming conditioning, and the raw counts of the last `capacity_` samples (rail check): sample n
  // in row n % capacity_.
  std::unique_ptr<exercise::EmgStreamConditioner> conditioner_;
  std::vector<std::int32_t> ring_;
  std::vector<double> row_uv_;  // one row of µV (reused)
  std::vector<double> scale_;   // µV per count per channel
  std::size_t capacity_ = 0;
  std::size_t emg_end_ = 0;  // one past the newest EMG sample index received
  std::vector<exercise::Interval> emg_gaps_;
  // Lead-off spans per channel on the EMG sample clock (s; placed on samples when a rep is scored).
  std::vector<std::vector<std::pair<double, double>>> lead_off_s_;
  std::vector<std::optional<double>> lead_off_since_s_;
  // Motion.
  std::vector<std::unique_ptr<motion::OrientationFilter>> orientation_;
  motion::SegmentGravity gravity_;
  int clock_sensor_ = -1;  // the IMU whose samples drive the angle/segmenter updates
  double imu_rate_ = 0.0;
  std::size_t imu_end_ = 0;
  std::vector<exercise::Interval> imu_gaps_;
  // MVC references (per channel, µV), from the MVC trials seen so far.
  std::vector<double> mvc_reference_;
  std::optional<Event> open_mvc_;
  double open_mvc_sample_s_ = 0.0;  // its start on the EMG sample clock (s)
  // Current exercise set.
  bool in_set_ = false;
  bool saw_set_marker_ = false;  // without operator set markers the whole recording is one set (as offline)
  Exercise exercise_ = Exercise::bridge;
  Side working_side_ = Side::midline;
  std::size_t set_index_ = 0;
  double set_start_sample_s_ = 0.0;         // set start on the EMG sample clock (s)
  bool set_start_on_sample_clock_ = false;  // implied set (no markers): it starts at EMG sample 0
  [[nodiscard]] std::size_t set_first_sample() const {
    return set_start_on_sample_clock_ ? 0 : emg_sample_at(set_start_sample_s_);
  }
  motion::StillPeriodAverage still_;
  std::size_t still_left_ = 0;
  std::unique_ptr<motion::AngleCalculator> angles_;
  std::unique_ptr<exercise::RepSegmenter> segmenter_;
  std::vector<exercise::RepSpan> set_reps_;  // the set's reps so far (EMG samples), for the onset baseline
  exercise::Interval baseline_window_;       // samples of the set baseline's rest periods (first to last)
  std::vector<std::pair<double, double>> tilt_history_;  // (t_s, pelvic tilt rel) since the set start
  // Display feed.
  std::size_t column_samples_ = 1;
  std::size_t columns_done_ = 0;  // columns sent (column k = samples [k * column_samples_, ...))
  std::size_t next_status_sample_ = 0;
  LiveStatus status_;
};

void LiveAnalysis::Worker::on_device_info(const DeviceInfo& info) {
  if (device_) return;
  const Montage& montage = owner_.montage_;
  if (info.emg.size() != montage.emg.size() || info.emg.empty() || !(info.emg_rate_hz > 0.0)) {
    throw std::invalid_argument(fmt::format("device has {} EMG channels at {} Hz; the montage lists {}",
                                            info.emg.size(), info.emg_rate_hz, montage.emg.size()));
  }
  device_ = info;
  channels_ = info.emg.size();
  emg_rate_ = info.emg_rate_hz;
  capacity_ = std::max<std::size_t>(1, to_sample(owner_.settings_.live.history_s, emg_rate_));
  std::vector<exercise::EmgConditioningDesign> designs;
  for (std::size_t c = 0; c < channels_; ++c) {
    designs.push_back(exercise::design_emg_conditioning(montage.emg[c].muscle, emg_rate_, scoring_));
    scale_.push_back(info.emg[c].microvolts_per_count);
  }
  conditioner_ = std::make_unique<exercise::EmgStreamConditioner>(std::move(designs), capacity_);
  ring_.assign(capacity_ * channels_, 0);
  row_uv_.assign(channels_, 0.0);
  lead_off_s_.assign(channels_, {});
  lead_off_since_s_.assign(channels_, std::nullopt);
  mvc_reference_.assign(channels_, kNaN);
  for (std::size_t i = 0; i < info.imu.size(); ++i) {
    motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
    fs.gain = scoring_.motion.orientation_gain;
    fs.sample_rate_hz = info.imu[i].rate_hz;
    fs.gyroscope_range_dps = info.imu[i].gyro_range_dps;
    // An accelerometer-only sensor (Cyton, Trigno) has no gyroscope range and gives no angles: no filter,
    // its blocks are skipped (motion_source_note below says so).
    orientation_.push_back(
        exercise::has_gyroscope(info.imu[i]) ? std::make_unique<motion::OrientationFilter>(fs) : nullptr);
    if (clock_sensor_ < 0 && i < montage.imu.size() && montage.imu[i].segment != Segment::other &&
        exercise::has_gyroscope(info.imu[i])) {
      clock_sensor_ = static_cast<int>(i);
      imu_rate_ = info.imu[i].rate_hz;
    }
  }
  rebuild_clock();
  column_samples_ = std::max<std::size_t>(1, to_sample(kDisplayColumnS, emg_rate_));
  status_.lead_off.assign(channels_, false);
  status_.set_peak_uv.assign(channels_, 0.0);
  status_.mvc_reference_uv.assign(channels_, kNaN);
  if (owner_.observer_ != nullptr) owner_.observer_->on_live_start(montage, info);
  if (const std::string note = exercise::motion_source_note(info); !note.empty() && owner_.out_ != nullptr) {
    fmt::print(owner_.out_, "live analysis: {}\n", note);
  }
}

void LiveAnalysis::Worker::on_emg(const EmgBlock& block) {
  if (!device_ || block.channels != channels_ || block.first_sample < emg_end_) return;
  if (!first_block_) {
    first_block_ = std::make_pair(block.device_time_us, block.first_sample);
    rebuild_clock();
  }
  // A lost stretch (or a device attached mid-stream: counters not starting at 0): an EMG gap, zero µV
  // through the filters as offline holds gap samples at zero (reps overlapping it are marked invalid).
  if (block.first_sample > emg_end_) {
    emg_gaps_.push_back({emg_end_, static_cast<std::size_t>(block.first_sample)});
    const std::size_t from =
        std::max<std::size_t>(emg_end_, block.first_sample > capacity_ ? block.first_sample - capacity_ : 0);
    for (std::size_t n = from; n < block.first_sample; ++n)
      std::fill_n(&ring_[(n % capacity_) * channels_], channels_, 0);
    conditioner_->push_gap(block.first_sample);
  }
  for (std::size_t r = 0; r < block.samples(); ++r) {
    const std::size_t n = block.first_sample + r;
    const std::int32_t* counts = &block.counts[r * channels_];
    std::copy_n(counts, channels_, &ring_[(n % capacity_) * channels_]);
    for (std::size_t c = 0; c < channels_; ++c) row_uv_[c] = counts[c] * scale_[c];
    conditioner_->push(row_uv_);
  }
  emg_end_ = block.first_sample + block.samples();
  ++status_.emg_blocks;
  if (owner_.observer_ == nullptr) return;
  emit_columns(block.samples());
  if (emg_end_ >= next_status_sample_) {
    next_status_sample_ = emg_end_ + std::max<std::size_t>(1, to_sample(kStatusEveryS, emg_rate_));
    emit_status();
  }
}

double LiveAnalysis::Worker::host_clock_at(double sample_time_s) const {
  return clock_.valid ? host_clock_at_start_s_ + clock_.session_time_s(sample_time_s) : kNaN;
}

// Columns completed since the last call, from the conditioner's filtered ring (columns older than its
// history, after a long stall of the worker, are skipped).
void LiveAnalysis::Worker::emit_columns(std::size_t block_samples) {
  const std::size_t done = emg_end_ / column_samples_;
  columns_done_ = std::max(columns_done_, (conditioner_->oldest() + column_samples_ - 1) / column_samples_);
  const std::size_t batch = block_samples > column_samples_ ? 1 : kDisplayBatchColumns;
  if (done < columns_done_ + batch) return;
  LiveTraceColumns cols;
  cols.first_column = columns_done_;
  cols.column_samples = column_samples_;
  cols.channels = channels_;
  const std::size_t n = done - columns_done_;
  cols.min_uv.resize(n * channels_);
  cols.max_uv.resize(n * channels_);
  cols.rms_uv.resize(n * channels_);
  const std::size_t begin = columns_done_ * column_samples_;
  for (std::size_t c = 0; c < channels_; ++c) {
    const std::vector<double> x = conditioner_->filtered(c, begin, done * column_samples_);
    for (std::size_t k = 0; k < n && (k + 1) * column_samples_ <= x.size(); ++k) {
      const auto first = x.begin() + static_cast<std::ptrdiff_t>(k * column_samples_);
      const auto last = first + static_cast<std::ptrdiff_t>(column_samples_);
      const auto [lo, hi] = std::minmax_element(first, last);
      double sum_sq = 0.0;
      for (auto it = first; it != last; ++it) sum_sq += *it * *it;
      const double rms = std::sqrt(sum_sq / static_cast<double>(column_samples_));
      cols.min_uv[k * channels_ + c] = static_cast<float>(*lo);
      cols.max_uv[k * channels_ + c] = static_cast<float>(*hi);
      cols.rms_uv[k * channels_ + c] = static_cast<float>(rms);
      if (in_set_ && rms > status_.set_peak_uv[c]) status_.set_peak_uv[c] = rms;
    }
  }
  columns_done_ = done;
  cols.newest_host_clock_s = host_clock_at(static_cast<double>(emg_end_) / emg_rate_);
  owner_.observer_->on_live_columns(cols);
}

void LiveAnalysis::Worker::emit_status() {
  status_.time_s = static_cast<double>(emg_end_) / emg_rate_;
  status_.in_set = in_set_;
  status_.exercise = exercise_;
  status_.set_index = set_index_;
  status_.mvc_trial = open_mvc_;
  status_.mvc_reference_uv = mvc_reference_;
  status_.dropped_blocks = owner_.dropped_.load();
  std::uint64_t emg_gap = 0, imu_gap = 0;
  for (const exercise::Interval& g : emg_gaps_) emg_gap += g.end - g.begin;
  for (const exercise::Interval& g : imu_gaps_) imu_gap += g.end - g.begin;
  status_.emg_gap_samples = emg_gap;
  status_.imu_gap_samples = imu_gap;
  for (std::size_t c = 0; c < channels_; ++c) status_.lead_off[c] = lead_off_since_s_[c].has_value();
  owner_.observer_->on_live_status(status_);
}

void LiveAnalysis::Worker::track_phase(double t_s) {
  const exercise::RepPhase phase = segmenter_ ? segmenter_->phase() : exercise::RepPhase::baseline;
  if (phase != status_.phase) {
    status_.phase = phase;
    status_.phase_since_s = t_s;
  }
}

void LiveAnalysis::Worker::on_gap(const Gap& gap) {
  if (gap.stream == StreamKind::imu && imu_rate_ > 0) {
    imu_gaps_.push_back(
        {static_cast<std::size_t>(gap.start_sample), static_cast<std::size_t>(gap.start_sample + gap.count)});
  }
}

void LiveAnalysis::Worker::on_imu(const ImuBlock& block) {
  if (!device_ || block.sensor >= orientation_.size() || !orientation_[block.sensor]) return;
  const ImuInfo& info = device_->imu[block.sensor];
  const double ga = info.accel_g_per_count, gg = info.gyro_dps_per_count;
  const Montage& montage = owner_.montage_;
  const Segment seg = block.sensor < montage.imu.size() ? montage.imu[block.sensor].segment : Segment::other;
  int body = -1;
  if (seg == Segment::sacrum) body = static_cast<int>(motion::BodySegment::pelvis);
  if (seg == Segment::thigh_left) body = static_cast<int>(motion::BodySegment::thigh_left);
  if (seg == Segment::thigh_right) body = static_cast<int>(motion::BodySegment::thigh_right);
  for (std::size_t k = 0; k < block.samples(); ++k) {
    auto& f = *orientation_[block.sensor];
    f.update(
        Eigen::Vector3d(block.gyro[k * 3] * gg, block.gyro[k * 3 + 1] * gg, block.gyro[k * 3 + 2] * gg),
        Eigen::Vector3d(block.accel[k * 3] * ga, block.accel[k * 3 + 1] * ga, block.accel[k * 3 + 2] * ga),
        1.0 / info.rate_hz);
    if (body >= 0) gravity_.set(static_cast<motion::BodySegment>(body), f.gravity());
    if (static_cast<int>(block.sensor) != clock_sensor_) continue;
    imu_end_ = block.first_sample + k + 1;
    // IMU sample times are on the sample clock (index / rate), as offline.
    imu_sample(static_cast<double>(block.first_sample + k) / info.rate_hz, info.rate_hz);
  }
}

// One sample of the clock IMU: still-period calibration after the set start, then angles and the causal
// segmenter.
void LiveAnalysis::Worker::imu_sample(double t_s, double rate_hz) {
  const LiveSettings& live = owner_.settings_.live;
  if (!in_set_ && !saw_set_marker_ && owner_.settings_.sets.score_without_markers) {
    start_set(owner_.settings_.sets.exercise_without_markers, Side::unknown, 0.0);
    set_start_on_sample_clock_ = true;  // offline's implied set starts at sample 0
  }
  if (!in_set_) return;
  if (still_left_ > 0) {
    still_.add(gravity_);
    if (--still_left_ == 0) {
      motion::AngleSettings as;
      as.exercise = exercise_;
      as.upper_side = exercise_ == Exercise::clamshell ? working_side_ : Side::right;
      angles_ = std::make_unique<motion::AngleCalculator>(as);
      angles_->calibrate(still_.mean());
      exercise::RepSegmenterSettings seg_settings = scoring_.motion.segmenter;
      seg_settings.sample_rate_hz = rate_hz;
      segmenter_ = std::make_unique<exercise::RepSegmenter>(seg_settings);
    }
    return;
  }
  if (!segmenter_) return;
  const motion::JointAngles a = angles_->compute(gravity_);
  tilt_history_.emplace_back(t_s, a.pelvic_tilt_rel_deg);
  if (tilt_history_.size() > 2 * static_cast<std::size_t>(live.history_s * rate_hz)) {
    tilt_history_.erase(tilt_history_.begin(),
                        tilt_history_.begin() + static_cast<std::ptrdiff_t>(live.history_s * rate_hz));
  }
  if (auto rep = segmenter_->push(a.driving_deg, t_s, have_pelvis_ ? a.pelvic_tilt_rel_deg : kNaN,
                                  have_pelvis_ ? a.pelvic_roll_rel_deg : kNaN)) {
    handle_rep(*rep);
  }
  track_phase(t_s);
}

void LiveAnalysis::Worker::on_event(const Event& ev) {
  if (!device_) return;
  const double t = clock_.event_sample_time_s(ev);  // sample-clock seconds
  const bool channel_ok = ev.channel >= 0 && static_cast<std::size_t>(ev.channel) < channels_;
  if (ev.kind == EventKind::lead_off && channel_ok) {
    auto& since = lead_off_since_s_[static_cast<std::size_t>(ev.channel)];
    if (!since) since = t;
  } else if (ev.kind == EventKind::lead_on && channel_ok) {
    const auto c = static_cast<std::size_t>(ev.channel);
    if (lead_off_since_s_[c]) {
      lead_off_s_[c].emplace_back(*lead_off_since_s_[c], t);
      lead_off_since_s_[c].reset();
    }
  } else if (ev.kind == EventKind::set_start && ev.exercise == Exercise::mvc) {
    // As offline: a session with any set marker has no implied whole-recording set.
    if (!saw_set_marker_) in_set_ = false;
    saw_set_marker_ = true;
    open_mvc_ = ev;
    open_mvc_sample_s_ = t;
  } else if (ev.kind == EventKind::set_stop && open_mvc_) {
    close_mvc_trial(open_mvc_sample_s_, *open_mvc_, t);
    open_mvc_.reset();
  } else if (ev.kind == EventKind::set_start &&
             (ev.exercise == Exercise::bridge || ev.exercise == Exercise::clamshell)) {
    if (in_set_ && saw_set_marker_) ++set_index_;
    saw_set_marker_ = true;
    start_set(ev.exercise, ev.side, t);
  } else if (ev.kind == EventKind::set_stop && in_set_) {
    in_set_ = false;
    ++set_index_;
    segmenter_.reset();
  }
  if (ev.kind == EventKind::battery_low) status_.battery_low = true;
  if (ev.kind == EventKind::disconnect) ++status_.disconnects;
  if (owner_.observer_ != nullptr) emit_status();
}

void LiveAnalysis::Worker::start_set(Exercise exercise, Side side, double sample_time_s) {
  in_set_ = true;
  exercise_ = exercise;
  working_side_ =
      exercise == Exercise::clamshell
          ? ((side == Side::left || side == Side::right) ? side : owner_.settings_.live.clamshell_upper_side)
          : Side::midline;
  set_start_sample_s_ = sample_time_s;
  set_start_on_sample_clock_ = false;
  still_.reset();
  still_left_ =
      std::max<std::size_t>(1, to_sample(scoring_.motion.still_period_s, imu_rate_ > 0 ? imu_rate_ : 200.0));
  segmenter_.reset();
  set_reps_.clear();
  tilt_history_.clear();
  status_.reps_in_set = 0;
  std::fill(status_.set_peak_uv.begin(), status_.set_peak_uv.end(), 0.0);
}

void LiveAnalysis::Worker::close_mvc_trial(double start_sample_s, const Event& start, double stop_sample_s) {
  const std::size_t begin = emg_sample_at(start_sample_s);
  const std::size_t end = std::min(emg_sample_at(stop_sample_s), emg_end_);
  if (end <= begin + 1 || begin < conditioner_->oldest()) return;  // trial no longer in the history
  std::vector<std::vector<double>> smoothed;
  for (std::size_t c = 0; c < channels_; ++c) {
    smoothed.push_back(
        exercise::live_envelopes(*conditioner_, c, begin, end, emg_rate_, scoring_).smoothed_uv);
  }
  exercise::MvcTrial trial{start.muscle, start.side, 0, end - begin};
  const std::vector<double> ref = exercise::mvc_references(owner_.montage_, smoothed, std::span(&trial, 1));
  for (std::size_t c = 0; c < channels_; ++c) {
    if (std::isfinite(ref[c]) && !(mvc_reference_[c] >= ref[c])) mvc_reference_[c] = ref[c];
  }
  std::lock_guard lock(owner_.mutex_);
  owner_.mvc_reference_uv_ = mvc_reference_;
}

// Onset baselines of the newest rep (set_reps_.back()), by the offline rules (exercise/onset_baseline.hpp)
// over what live has seen: the set's initial still period, the rests between the reps so far and the rest
// just before this rep, within the EMG history the conditioner holds. Offline also sees the rests after the
// rep (pooled set baseline, contrast over every rep); live converges to it as the set goes on.
std::vector<exercise::RepOnsetBaseline> LiveAnalysis::Worker::rep_baselines(std::size_t end) {
  const double rate = emg_rate_;
  const std::size_t set_first = std::max(set_first_sample(), conditioner_->oldest());
  const std::size_t b0 =
      set_first_sample() + static_cast<std::size_t>(scoring_.onset.baseline_offset_ms * rate / 1000.0);
  const double first_move_s =
      static_cast<double>(set_reps_.front().m0) / rate - scoring_.onset.pre_movement_ms / 1000.0;
  const std::size_t b1 = std::min(b0 + static_cast<std::size_t>(scoring_.onset.baseline_ms * rate / 1000.0),
                                  to_sample(first_move_s, rate));
  const exercise::Interval still =
      b0 >= set_first && b1 > b0 ? exercise::Interval{b0, b1} : exercise::Interval{set_first, set_first};
  // Only the reps whose windows are still held: the first kept rep's rest is then the still period only if
  // it is the set's first rep.
  std::vector<exercise::RepSpan> held;
  for (const exercise::RepSpan& r : set_reps_) {
    if (r.w0 >= set_first) held.push_back(r);
  }
  const exercise::Interval lost_still{set_first, set_first};
  std::vector<exercise::RepOnsetBaseline> out(channels_);
  for (std::size_t c = 0; c < channels_; ++c) {
    const std::vector<double> onset = conditioner_->onset_signal(c, set_first, end);
    const exercise::StridedSignal view{onset.data(), 1, onset.size()};
    const exercise::SetOnsetBaseline plan = exercise::plan_onset_baseline(
        view, set_first, {set_first, end}, held.size() == set_reps_.size() ? still : lost_still, held, rate,
        scoring_.onset);
    out[c] = plan.reps.back();
    baseline_window_ = {plan.set.begin_index, plan.set.end_index};
  }
  return out;
}

std::vector<std::int32_t> LiveAnalysis::Worker::window_counts(std::size_t begin, std::size_t end) const {
  std::vector<std::int32_t> counts((end - begin) * channels_, 0);
  for (std::size_t n = begin; n < std::min(end, emg_end_); ++n) {
    std::copy_n(&ring_[(n % capacity_) * channels_], channels_, &counts[(n - begin) * channels_]);
  }
  return counts;
}

// Everything score_repetition needs except the signals, counts and normalisation (filled by handle_rep).
exercise::RepScoringContext LiveAnalysis::Worker::rep_context(std::size_t w0, std::size_t end) const {
  exercise::RepScoringContext ctx;
  ctx.montage = &owner_.montage_;
  ctx.settings = &scoring_;
  ctx.exercise = exercise_;
  ctx.working_side = working_side_;
  ctx.emg_rate_hz = emg_rate_;
  ctx.first_sample = w0;
  ctx.end_sample = end;
  if (device_->emg_format == SampleFormat::int24) ctx.rail_low = -8388608, ctx.rail_high = 8388607;
  ctx.have_pelvis = have_pelvis_;
  ctx.lead_off.assign(channels_, {});
  for (std::size_t c = 0; c < channels_; ++c) {
    for (const auto& [off_s, on_s] : lead_off_s_[c])
      ctx.lead_off[c].push_back({emg_sample_at(off_s), emg_sample_at(on_s)});
    if (lead_off_since_s_[c]) ctx.lead_off[c].push_back({emg_sample_at(*lead_off_since_s_[c]), emg_end_});
  }
  ctx.emg_gaps = emg_gaps_;
  ctx.imu_gaps = imu_gaps_;
  ctx.imu_rate_hz = imu_rate_;
  ctx.imu_samples = imu_end_;
  return ctx;
}

void LiveAnalysis::Worker::handle_rep(const exercise::Repetition& r) {
  const auto t_detected = std::chrono::steady_clock::now();
  const double rate = emg_rate_;
  const std::size_t w0 = to_sample(r.start_s - scoring_.onset.pre_movement_ms / 1000.0, rate);
  const std::size_t end = std::min(conditioner_->onset_end(), to_sample(r.end_s + kRepTailS, rate));
  LiveRep live;
  live.set_index = set_index_;
  live.exercise = exercise_;
  if (w0 < conditioner_->oldest() || end <= w0) {
    live.score.index = r.index;
    live.score.start_s = r.start_s;
    live.score.end_s = r.end_s;
    live.score.valid = false;
    live.score.invalid_reason = "rep longer than the live EMG history (live.history_s)";
    live.score.summary = "not scored: " + live.score.invalid_reason;
  } else {
    set_reps_.push_back({w0, to_sample(r.start_s, rate), std::min(end, to_sample(r.hold_end_s, rate)),
                         std::min(end, to_sample(r.end_s, rate))});
    std::vector<exercise::RepOnsetBaseline> baselines = rep_baselines(end);
    // From the rest before the rep (an onset that began before the search window is traced back into it,
    // rep_scoring.hpp search_onset) to the rep's end, from the conditioner's rings: nothing is filtered
    // again.
    std::size_t first = w0;
    for (const exercise::RepOnsetBaseline& b : baselines)
      first = std::min(first, std::max(b.lookback_begin, conditioner_->oldest()));
    std::vector<exercise::ChannelSignals> signals(channels_);
    std::vector<std::vector<double>> smoothed;
    for (std::size_t c = 0; c < channels_; ++c) {
      exercise::ChannelSignals& s = signals[c];
      s.filtered_uv = conditioner_->filtered(c, first, end);
      s.onset_signal = conditioner_->onset_signal(c, first, end);
      exercise::LiveEnvelopes env = exercise::live_envelopes(*conditioner_, c, first, end, rate, scoring_);
      s.rms_uv = std::move(env.rms_uv);
      s.smoothed_uv = std::move(env.smoothed_uv);
      smoothed.push_back(s.smoothed_uv);
    }
    const std::vector<std::int32_t> counts = window_counts(first, end);
    exercise::RepScoringContext ctx = rep_context(first, end);
    ctx.baseline = std::move(baselines);
    ctx.signals = signals;
    ctx.emg_counts = counts;
    // %MVIC when every scored channel has an MVC reference, otherwise the peak within this rep's window.
    ctx.normalisation =
        exercise::choose_normalisation(owner_.montage_, mvc_reference_, smoothed, w0 - first, end - first);
    if (ctx.normalisation.kind == exercise::NormalisationKind::peak_of_set) {
      ctx.normalisation.note += " (live: peak within this rep)";
    }
    double tilt_min = kNaN;
    for (const auto& [t, tilt] : tilt_history_) {
      if (t >= r.start_s && t <= r.end_s && std::isfinite(tilt) && !(tilt >= tilt_min)) tilt_min = tilt;
    }
    live.normalisation = ctx.normalisation;
    live.score = exercise::score_repetition(ctx, r, tilt_min);
    live.set_window = {set_first_sample(), end};
    live.baseline_window = baseline_window_;
  }
  live.scored_after_end_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_detected).count();
  live.end_host_clock_s = host_clock_at(r.end_s);
  publish(std::move(live), r.end_s);
}

void LiveAnalysis::Worker::publish(LiveRep live, double end_s) {
  exercise::SetAnalysis set;  // for the line's wording only
  set.exercise = live.exercise;
  set.normalisation = live.normalisation;
  live.line = format_rep_line(live.set_index, set, live.score);
  if (owner_.out_ != nullptr) {
    fmt::print(owner_.out_, "[live {:7.1f} s] {}\n", end_s, live.line);
    std::fflush(owner_.out_);
  }
  ++status_.reps_in_set;
  if (owner_.observer_ != nullptr) {
    owner_.observer_->on_live_rep(live);
    emit_status();
  }
  std::lock_guard lock(owner_.mutex_);
  owner_.reps_.push_back(std::move(live));
}

LiveAnalysis::LiveAnalysis(Montage montage, AnalysisPipelineSettings settings, std::FILE* out,
                           LiveObserver* observer)
    : montage_(std::move(montage)), settings_(std::move(settings)), out_(out), observer_(observer) {
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
      event.kind == EventKind::lead_off || event.kind == EventKind::lead_on ||
      event.kind == EventKind::battery_low || event.kind == EventKind::disconnect) {
    push(event);
  }
}
void LiveAnalysis::on_clock(double host_clock_at_start_s, const ClockMapping& device_to_host) {
  push(ClockUpdate{host_clock_at_start_s, device_to_host});
}

void LiveAnalysis::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !worker_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
  // After an error live scoring has ended, so blocks dropped then (or while the worker was failing) are no
  // loss of analysis worth a second line: the error line already said that scoring stopped.
  if (dropped_.load() > 0 && out_ != nullptr && error().empty()) {
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

std::vector<double> LiveAnalysis::mvc_reference_uv() const {
  std::lock_guard lock(mutex_);
  return mvc_reference_uv_;
}

std::string LiveAnalysis::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

void LiveAnalysis::run() {
  std::optional<Worker> worker(std::in_place, *this);
  while (true) {
    Item item;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    if (!worker) continue;  // live scoring stopped: keep draining so that pushes never back up
    try {
      worker->handle(item);
    } catch (const std::exception& e) {
      // Analysis never stops a recording: one line, live scoring ends, acquisition and the file go on.
      std::string what = e.what();
      if (what.size() > 160) what = what.substr(0, 157) + "...";
      {
        std::lock_guard lock(mutex_);
        error_ = what;
      }
      if (out_ != nullptr) {
        fmt::print(out_, "live analysis stopped: {}; the recording continues\n", what);
        std::fflush(out_);
      }
      worker.reset();
    }
  }
}

}  // namespace glutescope::pipeline
