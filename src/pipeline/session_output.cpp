#include "pipeline/session_output.hpp"

#include <fmt/core.h>

#include "store/session_writer.hpp"
#include "store/session_writer_thread.hpp"

namespace glutescope::pipeline {

SessionOutput::SessionOutput(const std::filesystem::path& path, const DeviceInfo& device, Montage montage,
                             const std::string& subject_id, bool force, double host_clock_at_start_s)
    : path_(path) {
  store::SessionWriterOptions options = store::kDefaultSessionWriterOptions;
  options.force = force;
  options.host_clock_at_start_s = host_clock_at_start_s;
  auto writer = std::make_unique<store::SessionWriter>(path, device, std::move(montage), subject_id, options);
  store::SessionWriterThreadOptions thread_options = store::kDefaultSessionWriterThreadOptions;
  thread_options.host_clock_at_start_s = host_clock_at_start_s;
  thread_ = std::make_unique<store::SessionWriterThread>(std::move(writer), thread_options);
}

SessionOutput::~SessionOutput() = default;  // without close(): the session stays "recording" (recoverable)

void SessionOutput::append(const EmgBlock& block) noexcept {
  if (!closed_) thread_->push(block); }
void SessionOutput::append(const ImuBlock& block) noexcept {
  if (!closed_) thread_->push(block); }
void SessionOutput::add_event(const Event& event) noexcept {
  if (!closed_) thread_->push(event); }
void SessionOutput::add_gap(const Gap& gap) noexcept {
  if (!closed_) thread_->push(gap); }

void SessionOutput::set_timing(const ClockMapping& mapping) noexcept {
  if (closed_) return;
  store::TimingFit fit;
  fit.offset_s = mapping.offset_s;
  fit.drift_ppm = mapping.drift_ppm();
  fit.residual_rms_s = mapping.residual_rms_s;
  fit.points = mapping.windows;
  thread_->set_timing_fit(fit);
}

void SessionOutput::set_statistics(const store::SessionStatistics& statistics) noexcept {
  if (closed_) return;
  thread_->set_statistics(statistics);
}

bool SessionOutput::failed() noexcept {
  if (failed_ || closed_) return failed_;
  // SessionWriterThread drops what it cannot queue: either the queue is full (overflow, counted and
  // recorded as gaps by the store) or its writer has failed, after which it drains the queue and drops
  // everything. Drops while the queue is far from full therefore mean a failed writer; close() then
  // returns the writer's own error message.
  const store::QueueOverflow dropped = thread_->dropped();
  if (dropped.blocks > overflow_blocks_) {
    overflow_blocks_ = dropped.blocks;
    if (thread_->queued_bytes() < store::kDefaultSessionWriterThreadOptions.queue_capacity_bytes / 2) {
      failed_ = true;
      close();
    }
  }
  return failed_;
}

std::string SessionOutput::failure_message() const { return failure_; }

bool SessionOutput::close() noexcept {
  if (closed_) return !failed_;
  closed_ = true;
  try {
    thread_->close();
  } catch (const std::exception& e) {
    failed_ = true;
    failure_ = fmt::format("writing {} failed: {}. What was written before stays readable (glutescope info; "
                           "glutescope recover {} if it says \"recording\")",
                           path_.string(), e.what(), path_.string());
  }
  if (failed_ && failure_.empty()) {
    failure_ = fmt::format("writing {} failed", path_.string());
  }
  return !failed_;
}

}  // namespace glutescope::pipeline
