#include "store/session_writer_thread.hpp"

#include <chrono>
#include <cstdio>
#include <string>

#include "store/hdf5_handle.hpp"

namespace glutescope::store {

SessionWriterThread::SessionWriterThread(std::unique_ptr<SessionWriter> writer,
                                         SessionWriterThreadOptions options)
    : writer_(std::move(writer)), options_(options) {
  if (!writer_) throw std::invalid_argument("SessionWriterThread needs a writer");
  statistics_ = writer_->statistics();
  thread_ = std::thread([this] { run(); });
}

SessionWriterThread::SessionWriterThread(WriterFactory create, SessionWriterThreadOptions options,
                                         double create_timeout_s, const std::string& path_for_messages)
    : options_(options) {
  auto creation = std::make_shared<Creation>();
  std::thread thread([this, creation, create = std::move(create)] {
    silence_hdf5_errors();
    std::unique_ptr<SessionWriter> writer;
    std::exception_ptr error;
    try {
      writer = create();
    } catch (...) {
      error = std::current_exception();
    }
    bool proceed = false;
    {
      std::lock_guard lock(creation->mutex);
      creation->finished = true;
      creation->error = error;
      // Abandoned: `this` may be gone, touch nothing of it (the writer, destroyed unclosed, freezes its
      // file).
      if (!creation->abandoned && writer) {
        writer_ = std::move(writer);  // the constructor waits on this mutex until `finished`
        statistics_ = writer_->statistics();
        proceed = true;
      }
    }
    creation->done.notify_all();
    if (proceed) run();
  });
  std::unique_lock lock(creation->mutex);
  const bool finished = creation->done.wait_for(lock, std::chrono::duration<double>(create_timeout_s),
                                                [&] { return creation->finished; });
  if (!finished) {
    creation->abandoned = true;
    lock.unlock();
    thread.detach();
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", create_timeout_s);
    throw std::runtime_error("creating session file " + path_for_messages + " took more than " + seconds +
                             " s (a hung or very slow file system?)");
  }
  if (creation->error) {
    lock.unlock();
    thread.join();
    std::rethrow_exception(creation->error);
  }
  lock.unlock();
  thread_ = std::move(thread);
}

SessionWriterThread::~SessionWriterThread() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }
}

bool SessionWriterThread::push_block(Item item, std::size_t bytes, StreamKind stream, std::uint8_t sensor,
                                     std::uint64_t first_sample, std::size_t samples,
                                     double host_time_s) noexcept {
  {
    std::lock_guard lock(mutex_);
    bool admitted = false;
    if (!writer_failed_ && !stopping_ && queued_bytes_ + bytes <= options_.queue_capacity_bytes) {
      try {
        queue_.emplace_back(std::move(item), bytes);
        queued_bytes_ += bytes;
        admitted = true;
      } catch (...) {
        // out of memory: account as a drop below
      }
    }
    if (admitted) {
      wake_.notify_one();
      return true;
    }
    dropped_.blocks += 1;
    dropped_.samples += samples;
    dropped_.bytes += bytes;
    if (samples > 0) {
      if (!dropped_runs_.empty() && dropped_runs_.back().stream == stream &&
          dropped_runs_.back().sensor == sensor &&
          dropped_runs_.back().start_sample + dropped_runs_.back().count == first_sample) {
        dropped_runs_.back().count += samples;
      } else {
        try {
          dropped_runs_.push_back({stream, sensor, first_sample, samples, host_time_s});
        } catch (...) {
          // The totals above still count the loss; only the gap entry is missing.
        }
      }
    }
  }
  wake_.notify_one();
  return false;
}

bool SessionWriterThread::push(EmgBlock block) noexcept {
  const std::size_t bytes = block.counts.size() * sizeof(std::int32_t);
  const std::size_t samples = block.samples();
  const std::uint64_t first = block.first_sample;
  const double host = block.host_time_s;
  return push_block(Item(std::in_place_type<EmgBlock>, std::move(block)), bytes, StreamKind::emg, 0, first,
                    samples, host);
}

bool SessionWriterThread::push(ImuBlock block) noexcept {
  const std::size_t bytes =
      (block.accel.size() + block.gyro.size() + block.mag.size()) * sizeof(std::int16_t);
  const std::size_t samples = block.samples();
  const std::uint64_t first = block.first_sample;
  const std::uint8_t sensor = block.sensor;
  const double host = block.host_time_s;
  return push_block(Item(std::in_place_type<ImuBlock>, std::move(block)), bytes, StreamKind::imu, sensor,
                    first, samples, host);
}

namespace {
template <typename T, typename Queue>
void push_control(std::mutex& mutex, std::condition_variable& wake, Queue& queue, T&& item) noexcept {
  try {
    std::lock_guard lock(mutex);
    queue.emplace_back(std::forward<T>(item), 0);
  } catch (...) {
    return;  // out of memory: nothing sensible to do on the acquisition thread
  }
  wake.notify_one();
}
}  // namespace

void SessionWriterThread::push(Event event) noexcept {
  push_control(mutex_, wake_, queue_, Item(std::move(event)));
}
void SessionWriterThread::push(Gap gap) noexcept { push_control(mutex_, wake_, queue_, Item(gap)); }
void SessionWriterThread::set_timing_fit(const TimingFit& fit) noexcept {
  push_control(mutex_, wake_, queue_, Item(fit));
}
void SessionWriterThread::set_statistics(const SessionStatistics& statistics) noexcept {
  push_control(mutex_, wake_, queue_, Item(StatisticsUpdate{statistics}));
}

QueueOverflow SessionWriterThread::dropped() const noexcept {
  std::lock_guard lock(mutex_);
  return dropped_;
}

bool SessionWriterThread::failed() const noexcept { return failed_.load(std::memory_order_acquire); }

std::string SessionWriterThread::error_message() const {
  std::lock_guard lock(mutex_);
  return error_message_;
}

std::size_t SessionWriterThread::queued_bytes() const noexcept {
  std::lock_guard lock(mutex_);
  return queued_bytes_;
}

void SessionWriterThread::account_drops(std::vector<DroppedRun>& runs, QueueOverflow totals) {
  std::uint64_t emg = 0;
  std::uint64_t imu = 0;
  double first_host = runs.empty() ? 0.0 : runs.front().host_time_s;
  for (const auto& run : runs) {
    writer_->add_gap({run.stream, run.sensor, run.start_sample, run.count, run.host_time_s});
    (run.stream == StreamKind::emg ? emg : imu) += run.count;
  }
  if (!runs.empty()) {
    Event e;
    e.time_s = first_host - options_.host_clock_at_start_s;
    e.kind = EventKind::overflow;
    e.text = "session writer queue full (capacity " + std::to_string(options_.queue_capacity_bytes) +
             " bytes): dropped " + std::to_string(emg) + " EMG and " + std::to_string(imu) +
             " IMU samples (recorded as gaps); totals " + std::to_string(totals.blocks) + " blocks, " +
             std::to_string(totals.samples) + " samples";
    writer_->add_event(e);
  }
  statistics_.queue_overflow_blocks = totals.blocks;
  statistics_.queue_overflow_samples = totals.samples;
  statistics_.queue_overflow_bytes = totals.bytes;
  writer_->set_statistics(statistics_);
  runs.clear();
}

void SessionWriterThread::run() {
  silence_hdf5_errors();  // per thread: errors become exceptions with messages, never stderr output
  const auto idle = std::chrono::duration<double>(options_.idle_sync_interval_s);
  std::deque<std::pair<Item, std::size_t>> batch;
  std::vector<DroppedRun> runs;
  QueueOverflow totals;
  QueueOverflow accounted;
  for (;;) {
    bool stop = false;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, idle, [&] { return stopping_ || !queue_.empty() || !dropped_runs_.empty(); });
      batch.swap(queue_);
      runs.swap(dropped_runs_);
      totals = dropped_;
      stop = stopping_ && batch.empty();
      if (writer_failed_) {
        // Nothing more reaches the file: count what was queued as dropped, keep draining.
        for (const auto& [item, bytes] : batch) {
          if (bytes > 0) {
            dropped_.blocks += 1;
            dropped_.bytes += bytes;
          }
        }
        queued_bytes_ = 0;
        batch.clear();
        runs.clear();
        if (stopping_) return;
        continue;
      }
    }
    try {
      std::size_t done_bytes = 0;
      for (auto& [item, bytes] : batch) {
        std::visit(
            [&](auto& value) {
              using T = std::decay_t<decltype(value)>;
              if constexpr (std::is_same_v<T, EmgBlock> || std::is_same_v<T, ImuBlock>) {
                writer_->append(value);
              } else if constexpr (std::is_same_v<T, Event>) {
                writer_->add_event(value);
              } else if constexpr (std::is_same_v<T, Gap>) {
                writer_->add_gap(value);
              } else if constexpr (std::is_same_v<T, TimingFit>) {
                writer_->set_timing_fit(value);
              } else {
                statistics_ = value.statistics;
                statistics_.queue_overflow_blocks = accounted.blocks;
                statistics_.queue_overflow_samples = accounted.samples;
                statistics_.queue_overflow_bytes = accounted.bytes;
                writer_->set_statistics(statistics_);
              }
            },
            item);
        done_bytes += bytes;
      }
      batch.clear();
      {
        std::lock_guard lock(mutex_);
        queued_bytes_ -= done_bytes;
      }
      if (!runs.empty() || totals.blocks != accounted.blocks) {
        account_drops(runs, totals);
        accounted = totals;
      }
      writer_->sync_if_due();
    } catch (...) {
      std::string message = "session writer failed";
      try {
        throw;
      } catch (const std::exception& e) {
        message = e.what();
      } catch (...) {
      }
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
      error_message_ = std::move(message);
      writer_failed_ = true;
      failed_.store(true, std::memory_order_release);
      queued_bytes_ = 0;
      batch.clear();
      continue;
    }
    if (stop) return;
  }
}

void SessionWriterThread::close() {
  if (!thread_.joinable()) throw std::logic_error("SessionWriterThread::close called twice");
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (error_) std::rethrow_exception(error_);
  // The thread has gone: this thread now owns the writer.
  std::vector<DroppedRun> runs;
  QueueOverflow totals;
  {
    std::lock_guard lock(mutex_);
    runs.swap(dropped_runs_);
    totals = dropped_;
  }
  if (!runs.empty() || totals.blocks != statistics_.queue_overflow_blocks) account_drops(runs, totals);
  writer_->close();
}

}  // namespace glutescope::store
