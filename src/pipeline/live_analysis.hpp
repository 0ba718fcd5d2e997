// LiveAnalysis: the analysis pipeline as an extra consumer of the recorder's block flow, printing one verdict
// line per repetition while the recording continues (docs/PIPELINE.md "Live").
//
// Threading contract:
//   on_device_info / on_emg / on_imu / on_gap / on_event: called on the ACQUISITION thread (the recorder's
//     DeviceModel sink). They copy the item into a bounded queue (capacity
//     settings.live.queue_capacity_blocks) under a mutex held only for the push; when the queue is full the
//     item is DROPPED and counted (dropped_blocks()), never waited for: acquisition is never slowed down by
//     analysis.
//   on_clock: called by the recorder (acquisition thread) with its device→host clock fit, the same fit it
//     stores in the session file; queued like a block.
//   The analysis runs on LiveAnalysis's own worker thread: orientation filters, angles, the causal
//     RepSegmenter::push, and every EMG sample through exercise::EmgStreamConditioner (the offline chain's
//     filters as stateful streaming stages, never restarted from zero state: block boundaries do not change
//     a result). When a rep ends, its window is read from the conditioner's rings and scored by
//     exercise::score_repetition, the same code as the offline analysis; one line goes to `out` from that
//     thread only. Each event is placed on the EMG sample clock when it arrives, by the one time model
//     (core/sample_clock.hpp: a device-stamped event by its own EMG sample, others through the fit), as
//     offline.
//   An exception in the worker (e.g. settings the data cannot satisfy) ends live scoring only: one line
//     "live analysis stopped: ..." goes to `out`, the queue keeps draining, the recording is not touched.
//   stop(): from the owning thread after the recording ends; drains the queue and joins the worker.
//   LiveObserver (optional, given to the constructor): called on the WORKER thread only, after the worker has
//     handled the item; it must copy what it needs and return without waiting (the web view hands off under
//     a short mutex). A display gets what the verdict lines come from, never a second analysis.
// The montage is the one the recorder matched; the device rates come from DEVICE_INFO.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/clock_fit.hpp"
#include "devices/device_model.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::pipeline {

// One rep scored live.
struct LiveRep {
  std::size_t set_index = 0;  // 0-based, counting exercise sets seen live
  Exercise exercise = Exercise::bridge;
  exercise::Normalisation normalisation;
  exercise::RepScore score;            // the exercise module's scores and verdicts
  exercise::Interval set_window;       // EMG samples: the set start (from its marker) to the rep's window end
  exercise::Interval baseline_window;  // EMG samples of the onset baseline's rest periods (first to last)
  std::string line;                    // the printed line (without the "[live t s]" prefix)
  double scored_after_end_s = 0.0;     // wall-clock time from the rep's end sample arriving to the line (s)
  // Host steady clock (s) at which the rep's end sample was acquired (the recorder's device→host fit); NaN
  // before the first fit. Displays measure "rep end → verdict shown" from it.
  double end_host_clock_s = std::numeric_limits<double>::quiet_NaN();
};

// The conditioned (filtered) EMG decimated for display: per channel and column of column_samples EMG
// samples, the min and max of the filtered signal and its RMS over the column (µV).
struct LiveTraceColumns {
  std::size_t first_column = 0;  // column k covers EMG samples [k * column_samples, (k + 1) * column_samples)
  std::size_t column_samples = 0;
  std::size_t channels = 0;
  double newest_host_clock_s = std::numeric_limits<double>::quiet_NaN();  // acquisition of the last sample
  std::vector<float> min_uv, max_uv, rms_uv;                              // [columns x channels]
  [[nodiscard]] std::size_t columns() const noexcept { return channels == 0 ? 0 : min_uv.size() / channels; }
};

// The state a display shows besides traces and reps, sent about every 100 ms of EMG and at each event.
struct LiveStatus {
  double time_s = 0.0;  // newest EMG sample on the sample clock (s)
  bool in_set = false;
  Exercise exercise = Exercise::bridge;
  std::size_t set_index = 0;
  std::size_t reps_in_set = 0;  // reps scored in the current set
  exercise::RepPhase phase = exercise::RepPhase::baseline;
  double phase_since_s = 0.0;      // sample clock (s) when `phase` began (the page's hold timer)
  std::optional<Event> mvc_trial;  // the open MVC trial's start
  std::vector<bool> lead_off;      // per channel
  bool battery_low = false;
  std::uint64_t emg_gap_samples = 0, imu_gap_samples = 0, disconnects = 0;
  std::uint64_t dropped_blocks = 0;      // LiveAnalysis queue overflow
  std::uint64_t emg_blocks = 0;          // EMG blocks analysed (one per device read: shows its batching)
  std::vector<double> mvc_reference_uv;  // per channel, NaN without a trial
  std::vector<double> set_peak_uv;       // per channel: the largest column RMS since the set start
};

class LiveObserver {
 public:
  virtual ~LiveObserver() = default;
  virtual void on_live_start(const Montage& montage, const DeviceInfo& device) = 0;
  virtual void on_live_columns(const LiveTraceColumns& columns) = 0;
  virtual void on_live_status(const LiveStatus& status) = 0;
  virtual void on_live_rep(const LiveRep& rep) = 0;
};

class LiveAnalysis final : public devices::DeviceSink {
 public:
  // `observer` (may be null) must outlive stop().
  LiveAnalysis(Montage montage, AnalysisPipelineSettings settings, std::FILE* out,
               LiveObserver* observer = nullptr);
  ~LiveAnalysis() override;

  void on_device_info(const DeviceInfo& info) override;
  void on_emg(const EmgBlock& block) override;
  void on_imu(const ImuBlock& block) override;
  void on_gap(const Gap& gap) override;
  void on_event(const Event& event) override;
  // The recorder's device→host clock fit and the host clock at session time 0 (recorder.cpp).
  void on_clock(double host_clock_at_start_s, const ClockMapping& device_to_host);

  void stop();
  [[nodiscard]] std::uint64_t dropped_blocks() const noexcept { return dropped_.load(); }
  // Reps scored so far (copy; any thread).
  [[nodiscard]] std::vector<LiveRep> reps() const;
  // MVC reference per channel (µV) from the trials seen so far (copy; any thread).
  [[nodiscard]] std::vector<double> mvc_reference_uv() const;
  // The error that stopped live scoring ("" while running).
  [[nodiscard]] std::string error() const;

 private:
  struct ClockUpdate {
    double host_clock_at_start_s = 0.0;
    ClockMapping device_to_host;
  };
  using Item = std::variant<DeviceInfo, EmgBlock, ImuBlock, Event, Gap, ClockUpdate>;
  void push(Item item) noexcept;
  void run();
  class Worker;
  friend class Worker;

  Montage montage_;
  AnalysisPipelineSettings settings_;
  std::FILE* out_;
  LiveObserver* observer_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::vector<LiveRep> reps_;             // guarded by mutex_
  std::vector<double> mvc_reference_uv_;  // guarded by mutex_
  std::string error_;                     // guarded by mutex_
  std::thread worker_;
};

}  // namespace glutescope::pipeline
