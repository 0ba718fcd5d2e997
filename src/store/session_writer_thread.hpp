// SessionWriterThread: a bounded queue in front of a SessionWriter, drained by one thread that owns the
// writer. The acquisition thread pushes blocks and never waits on disk.
//
// Bound: sample blocks are admitted while the queued payload is ≤ queue_capacity_bytes (default 64 MiB ≈ 16 s
// of 256 ch × 4 kHz int32, or hours of 8 ch × 2 kHz). A block that does not fit is dropped and counted; the
// writer thread turns drops into gaps (one per contiguous run of dropped samples), an "overflow" event per
// burst, and queue_overflow_* statistics in the session. Events, gaps, the timing fit and statistics are
// small and always admitted (never dropped).
//
// Threading contract:
//   push(...), set_*(...), dropped(), queued_bytes(), failed(): any thread, noexcept; they take a mutex held
//     only for a queue operation (no I/O, no HDF5 call under it) and never block on the writer.
//     error_message(): any thread (copies a string under the same mutex).
//   close(): once, from the owning (non-acquisition) thread; drains the queue, writes the accounting, closes
//     the writer (status "complete") and rethrows the writer thread's first error, if any.
//   After a writer error the thread stops writing and keeps counting pushes as dropped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "core/session_types.hpp"
#include "store/session_writer.hpp"

namespace glutescope::store {

struct SessionWriterThreadOptions {
  std::size_t queue_capacity_bytes = std::size_t{64} << 20;  // 64 MiB of queued sample payload
  double idle_sync_interval_s = 0.1;   // writer.sync_if_due() at least this often when no data arrive
  double host_clock_at_start_s = 0.0;  // converts block host_time_s into event time_s for overflow events
};
inline const SessionWriterThreadOptions kDefaultSessionWriterThreadOptions{};

struct QueueOverflow {
  std::uint64_t blocks = 0;
  std::uint64_t samples = 0;
  std::uint64_t bytes = 0;
};

class SessionWriterThread {
 public:
  explicit SessionWriterThread(std::unique_ptr<SessionWriter> writer,
                               SessionWriterThreadOptions options = kDefaultSessionWriterThreadOptions);

  // Creates the writer on the writer thread itself (every HDF5 call of a recording, file creation included,
  // runs on that one thread) and waits up to create_timeout_s for the result: rethrows the writer's error
  // (unwritable path, existing file without force) or throws when creation takes longer (a hung network
  // file system); the thread is then left to finish on its own and closes what it made.
  using WriterFactory = std::function<std::unique_ptr<SessionWriter>()>;
  SessionWriterThread(WriterFactory create, SessionWriterThreadOptions options, double create_timeout_s,
                      const std::string& path_for_messages);
  SessionWriterThread(const SessionWriterThread&) = delete;
  SessionWriterThread& operator=(const SessionWriterThread&) = delete;
  ~SessionWriterThread();  // without close(): stops the thread; the session stays "recording" (recoverable)

  // Returns false when the block was dropped (queue full or writer failed).
  bool push(EmgBlock block) noexcept;
  bool push(ImuBlock block) noexcept;
  void push(Event event) noexcept;
  void push(Gap gap) noexcept;
  void set_timing_fit(const TimingFit& fit) noexcept;
  void set_statistics(const SessionStatistics& statistics) noexcept;  // queue_overflow_* are overwritten

  [[nodiscard]] QueueOverflow dropped() const noexcept;
  [[nodiscard]] std::size_t queued_bytes() const noexcept;
  // True once the writer has failed (full disk, I/O error): nothing more reaches the file, pushes are
  // dropped, close() will rethrow the error. error_message() is its what() ("" while not failed).
  [[nodiscard]] bool failed() const noexcept;
  [[nodiscard]] std::string error_message() const;

  void close();

 private:
  struct StatisticsUpdate {
    SessionStatistics statistics;
  };
  using Item = std::variant<EmgBlock, ImuBlock, Event, Gap, TimingFit, StatisticsUpdate>;
  struct DroppedRun {  // contiguous samples dropped from one stream
    StreamKind stream;
    std::uint8_t sensor;
    std::uint64_t start_sample;
    std::uint64_t count;
    double host_time_s;
  };

  bool push_block(Item item, std::size_t bytes, StreamKind stream, std::uint8_t sensor,
                  std::uint64_t first_sample, std::size_t samples, double host_time_s) noexcept;
  void run();
  void account_drops(std::vector<DroppedRun>& runs, QueueOverflow totals);

  // Hand-over between the constructor and a writer thread still creating the file: shared, so that a
  // constructor that gave up waiting does not leave the thread pointing at a destroyed object.
  struct Creation {
    std::mutex mutex;
    std::condition_variable done;
    bool finished = false;
    bool abandoned = false;
    std::exception_ptr error;
  };

  std::unique_ptr<SessionWriter> writer_;
  SessionWriterThreadOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<Item, std::size_t>> queue_;  // item, payload bytes counted against the bound
  std::size_t queued_bytes_ = 0;
  QueueOverflow dropped_;
  std::vector<DroppedRun> dropped_runs_;  // not yet turned into gaps by the writer thread
  bool stopping_ = false;
  bool writer_failed_ = false;
  std::atomic<bool> failed_{false};  // writer_failed_, readable without the mutex
  std::exception_ptr error_;
  std::string error_message_;
  SessionStatistics statistics_;  // last set_statistics (writer thread only)
  std::thread thread_;
};

}  // namespace glutescope::store
