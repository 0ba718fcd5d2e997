#include "pipeline/session_output.hpp"

#include <fmt/core.h>

#include "store/session_writer.hpp"
#include "store/session_writer_thread.hpp"

namespace glutescope::pipeline {
namespace {

// The store's messages are one line already (HDF5's reason through H5Ewalk2, store::take_hdf5_error); this
// only guards the operator's line against a multi-line or very long message from elsewhere.
std::string short_cause(const std::string& what) {
  std::string line = what.substr(0, what.find('\n'));
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace

SessionOutput::SessionOutput(const std::filesystem::path& path, const DeviceInfo& device, Montage montage,
                             const std::string& subject_id, bool force, double host_clock_at_start_s)
    : path_(path) {
  store::SessionWriterOptions options = store::kDefaultSessionWriterOptions;
  options.force = force;
  options.host_clock_at_start_s = host_clock_at_start_s;
  store::SessionWriterThreadOptions thread_options = store::kDefaultSessionWriterThreadOptions;
  thread_options.host_clock_at_start_s = host_clock_at_start_s;
  // The file is created on the writer thread (all HDF5 calls of a recording on one thread); the recorder
  // waits for "created" at most kCreateTimeoutS before streaming, and gets the writer's error as before.
  constexpr double kCreateTimeoutS = 10.0;
  thread_ = std::make_unique<store::SessionWriterThread>(
      [=, montage = std::move(montage)]() mutable {
        return std::make_unique<store::SessionWriter>(path, device, std::move(montage), subject_id, options);
      },
      thread_options, kCreateTimeoutS, path.string());
}

SessionOutput::~SessionOutput() = default;  // without close(): the session stays "recording" (recoverable)

void SessionOutput::append(const EmgBlock& block) noexcept {
  if (!closed_) thread_->push(block);
}
void SessionOutput::append(const ImuBlock& block) noexcept {
  if (!closed_) thread_->push(block);
}
void SessionOutput::add_event(const Event& event) noexcept {
  if (!closed_) thread_->push(event);
}
void SessionOutput::add_gap(const Gap& gap) noexcept {
  if (!closed_) thread_->push(gap);
}

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
  overflow_blocks_ = thread_->dropped().blocks;
  // The writer thread reports its own failure (full disk, I/O error); close() then returns its message.
  if (thread_->failed()) {
    failed_ = true;
    close();
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
    failure_ = fmt::format(
        "writing {} failed ({}): recording stopped; what was written before is kept, run "
        "'glutescope recover {}' to close the file",
        path_.string(), short_cause(e.what()), path_.string());
  }
  if (failed_ && failure_.empty()) {
    failure_ = fmt::format("writing {} failed", path_.string());
  }
  return !failed_;
}

}  // namespace glutescope::pipeline
