// LiveAnalysis: the analysis pipeline as an extra consumer of the recorder's block flow, printing one verdict
// line per repetition while the recording continues (docs/PIPELINE.md "Live").
//
// Threading contract:
//   on_device_info / on_emg / on_imu / on_gap / on_event: called on the ACQUISITION thread (the recorder's
//     DeviceModel sink). They copy the item into a bounded queue (capacity
//     settings.live.queue_capacity_blocks) under a mutex held only for the push; when the queue is full the
//     item is DROPPED and counted (dropped_blocks()), never waited for: acquisition is never slowed down by
//     analysis.
//   The analysis runs on LiveAnalysis's own worker thread: orientation filters, angles, the causal
//     RepSegmenter::push; when a rep ends, its EMG window (with a filter lead-in) is conditioned with causal
//     filters (exercise::condition_channel, causal) and scored by exercise::score_repetition, the same code
//     as the offline analysis; one line goes to `out` from that thread only.
//   stop(): from the owning thread after the recording ends; drains the queue and joins the worker.
// The montage is the one the recorder matched; the device rates come from DEVICE_INFO.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <variant>
#include <vector>

#include "devices/device_model.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/analysis_settings.hpp"

namespace glutescope::pipeline {

// One rep scored live.
struct LiveRep {
  std::size_t set_index = 0;  // 0-based, counting exercise sets seen live
  Exercise exercise = Exercise::bridge;
  exercise::Normalisation normalisation;
  exercise::RepScore score;         // the exercise module's scores and verdicts
  std::string line;                 // the printed line (without the "[live t s]" prefix)
  double scored_after_end_s = 0.0;  // wall-clock time from the rep's end sample arriving to the line (s)
};

class LiveAnalysis final : public devices::DeviceSink {
 public:
  LiveAnalysis(Montage montage, AnalysisPipelineSettings settings, std::FILE* out);
  ~LiveAnalysis() override;

  void on_device_info(const DeviceInfo& info) override;
  void on_emg(const EmgBlock& block) override;
  void on_imu(const ImuBlock& block) override;
  void on_gap(const Gap& gap) override;
  void on_event(const Event& event) override;

  void stop();
  [[nodiscard]] std::uint64_t dropped_blocks() const noexcept { return dropped_.load(); }
  // Reps scored so far (copy; any thread).
  [[nodiscard]] std::vector<LiveRep> reps() const;

 private:
  using Item = std::variant<DeviceInfo, EmgBlock, ImuBlock, Event, Gap>;
  void push(Item item) noexcept;
  void run();
  struct State;

  Montage montage_;
  AnalysisPipelineSettings settings_;
  std::FILE* out_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> dropped_{0};
  std::vector<LiveRep> reps_;  // guarded by mutex_
  std::thread worker_;
};

}  // namespace glutescope::pipeline
