// The recorder's side of the session file: opens a store::SessionWriter behind a
// store::SessionWriterThread so the acquisition thread never waits on disk, and tells the recorder
// when the writer has failed (disk full, I/O error) so it can stop and say so.
//
// Threading contract: every method is called from the acquisition thread; the writer runs on the
// SessionWriterThread's own thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/clock_fit.hpp"
#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "store/session_format.hpp"

namespace glutescope::store {
class SessionWriterThread;
}

namespace glutescope::pipeline {

class SessionOutput {
 public:
  // Creates the file (throws std::runtime_error / std::invalid_argument from the store with the path).
  SessionOutput(const std::filesystem::path& path, const DeviceInfo& device, Montage montage,
                const std::string& subject_id, bool force, double host_clock_at_start_s);
  ~SessionOutput();
  SessionOutput(const SessionOutput&) = delete;
  SessionOutput& operator=(const SessionOutput&) = delete;

  void append(const EmgBlock& block) noexcept;
  void append(const ImuBlock& block) noexcept;
  void add_event(const Event& event) noexcept;
  void add_gap(const Gap& gap) noexcept;
  void set_timing(const ClockMapping& mapping) noexcept;
  void set_statistics(const store::SessionStatistics& statistics) noexcept;

  // True once the writer thread has stopped writing because of an error (full disk, I/O error).
  [[nodiscard]] bool failed() noexcept;
  [[nodiscard]] std::string failure_message() const;
  // Drains the queue, closes the file ("complete"). Returns false on a writer error (failure_message()).
  bool close() noexcept;
  [[nodiscard]] std::uint64_t queue_overflow_blocks() const noexcept { return overflow_blocks_; }

 private:
  std::filesystem::path path_;
  std::unique_ptr<store::SessionWriterThread> thread_;
  std::uint64_t overflow_blocks_ = 0;
  bool failed_ = false;
  bool closed_ = false;
  std::string failure_;
};

}  // namespace glutescope::pipeline
