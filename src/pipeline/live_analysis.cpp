#include "pipeline/live_analysis.hpp"

#include <cmath>
#include <memory>
#include <optional>

#include <fmt/core.h>

#include "motion/orientation_filter.hpp"
#include "pipeline/analysis_stages.hpp"

namespace glutescope::pipeline {

// Worker-thread state (never touched by the acquisition thread).
struct LiveAnalysis::State {
  std::optional<DeviceInfo> device;
  std::unique_ptr<CausalEmgConditioner> emg;
  std::vector<double> uv, envelope;
  // Envelope history: block means over kHistoryBlock samples, with the EMG sample index of the first block.
  static constexpr std::size_t kHistoryBlock = 20;
  std::deque<std::vector<double>> history;
  std::uint64_t history_first_sample = 0;
  std::vector<double> block_sum;
  std::size_t block_fill = 0;
  std::uint64_t next_emg_sample = 0;
  // Motion.
  std::vector<std::unique_ptr<motion::OrientationFilter>> orientation;
  motion::SegmentGravity gravity;
  int clock_sensor = -1;  // the IMU whose samples drive the angle/segmenter updates
  // Current set.
  bool in_set = false;
  Exercise exercise = Exercise::bridge;
  Side upper_side = Side::left;
  std::size_t set_index = 0;
  motion::StillPeriodAverage still;
  std::size_t baseline_left = 0;
  std::unique_ptr<motion::AngleCalculator> angles;
  std::unique_ptr<exercise::RepSegmenter> segmenter;
  bool saw_set_marker = false;  // without operator set markers the whole recording is one set (as offline)
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
void LiveAnalysis::on_gap(const Gap&) {}
void LiveAnalysis::on_event(const Event& event) {
  if (event.kind == EventKind::set_start || event.kind == EventKind::set_stop) push(event);
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
    fmt::print(out_, "live analysis: {} blocks dropped (analysis slower than acquisition); the recording is complete\n",
               dropped_.load());
  }
}

std::vector<RepResult> LiveAnalysis::reps() const {
  std::lock_guard lock(mutex_);
  return reps_;
}

void LiveAnalysis::run() {
  State st;
  std::vector<Muscle> muscles;
  std::vector<Side> sides;
  for (const EmgChannel& c : montage_.emg) {
    muscles.push_back(c.muscle);
    sides.push_back(c.side);
  }
  auto handle_rep = [&](const exercise::Repetition& r) {
    RepResult rep;
    rep.set_index = st.set_index;
    rep.rep_index = r.index;
    rep.exercise = st.exercise;
    rep.start_s = r.start_s;
    rep.concentric_end_s = r.concentric_end_s;
    rep.hold_end_s = r.hold_end_s;
    rep.end_s = r.end_s;
    rep.peak_s = r.peak_s;
    rep.rom_deg = r.rom_deg;
    rep.partial = r.partial;
    rep.pelvic_tilt_deviation_deg = r.max_pelvic_tilt_deviation_deg;
    rep.pelvic_roll_deviation_deg = r.max_pelvic_roll_deviation_deg;
    const double rate = st.device->emg_rate_hz;
    const std::size_t ch = muscles.size();
    rep.channel_amplitude.assign(ch, std::numeric_limits<double>::quiet_NaN());
    const auto first = static_cast<std::int64_t>(std::floor(r.start_s * rate / State::kHistoryBlock)) -
                       static_cast<std::int64_t>(st.history_first_sample / State::kHistoryBlock);
    const auto last = static_cast<std::int64_t>(std::ceil(r.end_s * rate / State::kHistoryBlock)) -
                      static_cast<std::int64_t>(st.history_first_sample / State::kHistoryBlock);
    std::vector<double> sum(ch, 0.0);
    int n = 0;
    for (std::int64_t k = std::max<std::int64_t>(first, 0); k < last && k < static_cast<std::int64_t>(st.history.size()); ++k) {
      for (std::size_t c = 0; c < ch; ++c) sum[c] += st.history[static_cast<std::size_t>(k)][c];
      ++n;
    }
    if (n > 0) {
      for (std::size_t c = 0; c < ch; ++c) rep.channel_amplitude[c] = sum[c] / n;
    }
    score_rep(rep, muscles, sides, st.upper_side, false, settings_.scoring);
    if (out_ != nullptr) {
      fmt::print(out_, "[live {:7.1f} s] {}\n", r.end_s, format_rep_line(rep, "uV"));
      std::fflush(out_);
    }
    std::lock_guard lock(mutex_);
    reps_.push_back(std::move(rep));
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
      st.emg = std::make_unique<CausalEmgConditioner>(settings_.emg, info->emg_rate_hz, info->emg.size());
      st.block_sum.assign(info->emg.size(), 0.0);
      for (std::size_t i = 0; i < info->imu.size(); ++i) {
        motion::OrientationFilterSettings fs = motion::kDefaultOrientationFilterSettings;
        fs.gain = settings_.motion.orientation_gain;
        fs.sample_rate_hz = info->imu[i].rate_hz;
        st.orientation.push_back(std::make_unique<motion::OrientationFilter>(fs));
        if (st.clock_sensor < 0 && i < montage_.imu.size() && montage_.imu[i].segment != Segment::other) {
          st.clock_sensor = static_cast<int>(i);
        }
      }
    } else if (auto* emg = std::get_if<EmgBlock>(&item)) {
      if (!st.emg || emg->channels != st.emg->channels()) continue;
      const std::size_t ch = emg->channels;
      st.uv.resize(emg->counts.size());
      st.envelope.resize(emg->counts.size());
      for (std::size_t i = 0; i < emg->counts.size(); ++i) {
        st.uv[i] = emg->counts[i] * st.device->emg[i % ch].microvolts_per_count;
      }
      // A lost stretch: the envelope history keeps its time base (zeros for the missing samples).
      if (emg->first_sample > st.next_emg_sample) {
        for (std::uint64_t s = st.next_emg_sample; s < emg->first_sample; ++s) {
          if (++st.block_fill == State::kHistoryBlock) {
            st.history.emplace_back(ch, 0.0);
            st.block_fill = 0;
          }
        }
      }
      st.emg->process(st.uv, st.envelope);
      for (std::size_t r = 0; r < emg->samples(); ++r) {
        for (std::size_t c = 0; c < ch; ++c) st.block_sum[c] += st.envelope[r * ch + c];
        if (++st.block_fill == State::kHistoryBlock) {
          std::vector<double> mean(ch);
          for (std::size_t c = 0; c < ch; ++c) mean[c] = st.block_sum[c] / State::kHistoryBlock;
          st.history.push_back(std::move(mean));
          std::fill(st.block_sum.begin(), st.block_sum.end(), 0.0);
          st.block_fill = 0;
        }
      }
      st.next_emg_sample = emg->first_sample + emg->samples();
      // Keep about two minutes of history.
      const std::size_t keep = static_cast<std::size_t>(120.0 * st.device->emg_rate_hz / State::kHistoryBlock);
      while (st.history.size() > keep) {
        st.history.pop_front();
        st.history_first_sample += State::kHistoryBlock;
      }
    } else if (auto* imu = std::get_if<ImuBlock>(&item)) {
      if (!st.device || imu->sensor >= st.orientation.size()) continue;
      const double rate = st.device->imu[imu->sensor].rate_hz;
      const double ga = st.device->imu[imu->sensor].accel_g_per_count;
      const double gg = st.device->imu[imu->sensor].gyro_dps_per_count;
      const Segment seg = imu->sensor < montage_.imu.size() ? montage_.imu[imu->sensor].segment : Segment::other;
      int body = -1;
      if (seg == Segment::sacrum) body = 0;
      if (seg == Segment::thigh_left) body = 1;
      if (seg == Segment::thigh_right) body = 2;
      for (std::size_t k = 0; k < imu->samples(); ++k) {
        auto& f = *st.orientation[imu->sensor];
        f.update(Eigen::Vector3d(imu->gyro[k * 3] * gg, imu->gyro[k * 3 + 1] * gg, imu->gyro[k * 3 + 2] * gg),
                 Eigen::Vector3d(imu->accel[k * 3] * ga, imu->accel[k * 3 + 1] * ga, imu->accel[k * 3 + 2] * ga),
                 1.0 / rate);
        if (body >= 0) st.gravity.set(static_cast<motion::BodySegment>(body), f.gravity());
        if (static_cast<int>(imu->sensor) != st.clock_sensor) continue;
        if (!st.in_set && !st.saw_set_marker) {
          st.in_set = true;
          st.exercise = settings_.motion.default_exercise;
          st.upper_side = settings_.motion.clamshell_upper_side;
          st.still.reset();
          st.baseline_left = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(settings_.motion.baseline_period_s * rate)));
        }
        if (!st.in_set) continue;
        const double t = static_cast<double>(imu->first_sample + k) / rate;
        if (st.baseline_left > 0) {
          st.still.add(st.gravity);
          if (--st.baseline_left == 0) {
            motion::AngleSettings as;
            as.exercise = st.exercise;
            as.upper_side = st.exercise == Exercise::clamshell ? st.upper_side : Side::right;
            st.angles = std::make_unique<motion::AngleCalculator>(as);
            st.angles->calibrate(st.still.mean());
            st.segmenter = std::make_unique<exercise::RepSegmenter>(segmenter_settings(settings_.motion, rate));
          }
          continue;
        }
        if (!st.segmenter) continue;
        const motion::JointAngles a = st.angles->compute(st.gravity);
        if (auto rep = st.segmenter->push(a.driving_deg, t, a.pelvic_tilt_rel_deg, a.pelvic_roll_rel_deg)) {
          handle_rep(*rep);
        }
      }
    } else if (auto* ev = std::get_if<Event>(&item)) {
      if (ev->kind == EventKind::set_start && (ev->exercise == Exercise::bridge || ev->exercise == Exercise::clamshell)) {
        if (st.in_set) ++st.set_index;
        st.saw_set_marker = true;
        st.in_set = true;
        st.exercise = ev->exercise;
        st.upper_side = (ev->side == Side::left || ev->side == Side::right) ? ev->side : settings_.motion.clamshell_upper_side;
        st.still.reset();
        const double rate = st.device && st.clock_sensor >= 0 ? st.device->imu[static_cast<std::size_t>(st.clock_sensor)].rate_hz : 200.0;
        st.baseline_left = std::max<std::size_t>(1, static_cast<std::size_t>(std::lround(settings_.motion.baseline_period_s * rate)));
        st.segmenter.reset();
      } else if (ev->kind == EventKind::set_stop && st.in_set) {
        st.in_set = false;
        ++st.set_index;
        st.segmenter.reset();
      }
    }
  }
}

}  // namespace glutescope::pipeline
