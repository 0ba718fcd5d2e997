#include "pipeline/recorder.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <optional>
#include <thread>

#include <fmt/core.h>

#include "core/montage.hpp"
#include "devices/device_decoder.hpp"
#include "devices/device_model.hpp"
#include "devices/device_registry.hpp"
#include "pipeline/control_input.hpp"
#include "pipeline/device_link.hpp"
#include "pipeline/link_supervisor.hpp"
#include "pipeline/markers.hpp"
#include "pipeline/montage_file.hpp"
#include "pipeline/session_output.hpp"

namespace glutescope::pipeline {
namespace {

std::atomic<bool> g_stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "request_stop must be async-signal-safe");

double steady_now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Fails early, before any device is touched, for an output that cannot be written.
void check_output_path(const std::filesystem::path& out, bool force) {
  if (out.empty()) throw RecordingError("no output file given (--out FILE.h5)");
  std::error_code ec;
  if (std::filesystem::exists(out, ec) && !force) {
    throw RecordingError(
        fmt::format("{} already exists: choose another name or add --force to replace it", out.string()));
  }
  if (std::filesystem::is_directory(out, ec))
    throw RecordingError(fmt::format("{} is a directory", out.string()));
  const std::filesystem::path dir = out.has_parent_path() ? out.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir, ec)) {
    throw RecordingError(
        fmt::format("cannot write {}: directory {} does not exist", out.string(), dir.string()));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw RecordingError(
        fmt::format("cannot write {}: no write permission in {}", out.string(), dir.string()));
  }
}

// One choice per (muscle, side) of the montage, for the 'm' key.
std::vector<MarkerCommand> mvc_choices(const Montage& montage) {
  std::vector<MarkerCommand> choices;
  for (const EmgChannel& c : montage.emg) {
    if (c.muscle == Muscle::other) continue;
    const bool seen = std::any_of(choices.begin(), choices.end(), [&](const MarkerCommand& m) {
      return m.muscle == c.muscle && m.side == c.side;
    });
    if (seen) continue;
    MarkerCommand m;
    m.verb = MarkerCommand::Verb::start;
    m.exercise = Exercise::mvc;
    m.muscle = c.muscle;
    m.side = c.side;
    choices.push_back(m);
  }
  return choices;
}

// Receives the device model's output on the acquisition thread and forwards it to the session writer
// thread. DEVICE_INFO opens the session file; anything earlier (operator markers) waits for it.
class RecordingSink final : public devices::DeviceSink {
 public:
  RecordingSink(const RecordOptions& options, Montage montage, double session_start_host_s)
      : options_(options), montage_(std::move(montage)), session_start_host_s_(session_start_host_s) {}

  // StreamDecoder::feed is noexcept: errors are kept and raised by the loop after feed returns.
  void on_device_info(const DeviceInfo& info) override {
    if (output_ || error_) return;
    try {
      Montage matched = match_montage(montage_, info);
      emg_channels_ = static_cast<std::uint32_t>(info.emg.size());
      emg_rate_hz_ = info.emg_rate_hz;
      imu_count_ = info.imu.size();
      output_ = std::make_unique<SessionOutput>(options_.out, info, std::move(matched), options_.subject_id,
                                                options_.force, session_start_host_s_);
      fmt::print(options_.log,
                 "device {} (firmware {}): {} EMG channels at {} Hz, {} IMUs; recording to {}\n",
                 info.serial_number, info.firmware_version, info.emg.size(), info.emg_rate_hz,
                 info.imu.size(), options_.out.string());
      if (options_.live_consumer != nullptr) options_.live_consumer->on_device_info(info);
      for (const Event& e : pending_events_) add_event_to_consumers(e);
      pending_events_.clear();
    } catch (const std::exception& e) {
      error_ = e.what();
    }
  }
  void on_emg(const EmgBlock& block) override {
    if (output_) output_->append(block);
    if (output_ && options_.live_consumer != nullptr) options_.live_consumer->on_emg(block);
  }
  void on_imu(const ImuBlock& block) override {
    if (output_) output_->append(block);
    if (output_ && options_.live_consumer != nullptr) options_.live_consumer->on_imu(block);
  }
  void on_gap(const Gap& gap) override {
    if (output_) output_->add_gap(gap);
  }
  void on_event(const Event& event) override { add_event(event); }

  void add_event(const Event& event) {
    ++events_;
    if (output_) {
      add_event_to_consumers(event);
    } else {
      pending_events_.push_back(event);
    }
  }

  void add_event_to_consumers(const Event& event) {
    output_->add_event(event);
    if (options_.live_consumer != nullptr) options_.live_consumer->on_event(event);
  }

  [[nodiscard]] const std::optional<std::string>& error() const noexcept { return error_; }
  [[nodiscard]] SessionOutput* output() noexcept { return output_.get(); }
  [[nodiscard]] std::uint64_t events() const noexcept { return events_; }
  [[nodiscard]] std::uint32_t emg_channels() const noexcept { return emg_channels_; }
  [[nodiscard]] double emg_rate_hz() const noexcept { return emg_rate_hz_; }
  [[nodiscard]] std::size_t imu_count() const noexcept { return imu_count_; }

 private:
  const RecordOptions& options_;
  Montage montage_;
  double session_start_host_s_;
  std::unique_ptr<SessionOutput> output_;
  std::vector<Event> pending_events_;
  std::optional<std::string> error_;
  std::uint64_t events_ = 0;
  std::uint32_t emg_channels_ = 0;
  double emg_rate_hz_ = 0.0;
  std::size_t imu_count_ = 0;
};

// Brings the device up after an open: the driver's connect steps, then its start steps.
void greet_device(DeviceLink& link, devices::DeviceDriver& driver) {
  link.run(driver, driver.connect_steps());
  link.run(driver, driver.start_steps());
}

}  // namespace

void request_stop() noexcept { g_stop_requested.store(true); }
void clear_stop_request() noexcept { g_stop_requested.store(false); }

namespace {

// Every check that needs no device, before one is touched (one RecordingError each).
void check_record_options(const RecordOptions& options) {
  if (options.subject_id.empty())
    throw RecordingError("no subject id given (--subject ID, a pseudonymous code)");
  if (!(options.stall_timeout_s > 0.0)) throw RecordingError("--stall-timeout must be > 0 s");
  if (options.duration_s < 0.0) throw RecordingError("--duration must be >= 0 s");
  check_output_path(options.out, options.force);
}

// The acquisition loop of one recording and the state it owns, from the greeted device to the closed file.
// Threading: one thread, the caller's (the acquisition thread); the session writer thread sits behind
// `sink`. Every member reference outlives the object (run_recording's locals).
class AcquisitionLoop {
 public:
  struct Parts {
    const RecordOptions& options;
    double start_s;
    DeviceLink& source;
    devices::DeviceDriver& driver;
    LinkSupervisor& link;
    RecordingSink& sink;
    devices::DeviceDecoder& decoder;
    std::vector<ScriptedMarker> script;
  };
  AcquisitionLoop(Parts parts, std::unique_ptr<ControlInput> control)
      : p_(std::move(parts)),
        control_(std::move(control)),
        read_time_s_(p_.start_s),
        last_sync_s_(p_.start_s) {}

  // Reads, decodes and records until the duration, a stop request, the operator's quit, the end of a
  // source, or a failure (kept in failure_ and raised by finish()).
  void run() {
    while (!stop_requested() && !control_->quit_requested()) {
      const double now_s = steady_now_s();
      const double session_s = now_s - p_.start_s;
      if (p_.options.duration_s > 0.0 && session_s >= p_.options.duration_s) break;
      if (check_output_failed()) break;
      take_operator_commands(session_s);
      if (!p_.source.is_open()) {
        if (source_ended_ || reopen(now_s) == Step::stop) break;
        continue;
      }
      if (read_once() == Step::stop) break;
      if (read_time_s_ - last_sync_s_ >= 1.0) {
        last_sync_s_ = read_time_s_;
        if (SessionOutput* out = p_.sink.output()) out->set_timing(p_.decoder.clock());
        if (p_.options.clock_consumer) p_.options.clock_consumer(p_.start_s, p_.decoder.clock());
      }
    }
    if (p_.source.is_open()) p_.source.send_quietly(p_.driver.stop_steps());  // no board left streaming
    p_.source.close();
    p_.decoder.finish();  // events still waiting for the clock fit; a Daisy's unpaired half sample
    end_s_ = steady_now_s();
    control_.reset();
  }

  // Closes the set still open and the session file, and says what was recorded. Even after a failure the
  // file keeps what was written; the failure is then raised.
  RecordSummary finish() {
    RecordSummary summary = summarise();
    SessionOutput* out = p_.sink.output();
    if (out == nullptr) throw RecordingError(nothing_recorded(summary));
    if (!failure_ && sets_.open_set()) {
      MarkerCommand stop;
      stop.verb = MarkerCommand::Verb::stop;
      stop.text = "recording ended";
      apply_command(stop, end_s_ - p_.start_s);
    }
    const devices::DecoderCounters dc = p_.decoder.counters();
    store::SessionStatistics stats;
    stats.frames_received = dc.packets;
    stats.crc_errors = dc.crc_failures;
    stats.lost_frames = dc.lost_packets;
    stats.device_overflows = dc.device_overflows;
    out->set_timing(p_.decoder.clock());
    if (p_.options.clock_consumer) p_.options.clock_consumer(p_.start_s, p_.decoder.clock());
    out->set_statistics(stats);
    const bool closed_ok = out->close();
    summary.queue_overflow_blocks = out->queue_overflow_blocks();
    if (failure_) throw RecordingError(*failure_);
    if (!closed_ok) throw RecordingError(out->failure_message());
    return summary;
  }

 private:
  enum class Step { go_on, stop };

  [[nodiscard]] bool stop_requested() const {
    return g_stop_requested.load() || (p_.options.stop != nullptr && p_.options.stop->load());
  }

  // A failure of the sink (an impossible montage) or of the writer thread ends the loop.
  bool check_output_failed() {
    if (p_.sink.error()) {
      failure_ = *p_.sink.error();
    } else if (SessionOutput* out = p_.sink.output(); out != nullptr && out->failed()) {
      failure_ = out->failure_message();
    }
    return failure_.has_value();
  }

  void record_event(const Event& e) {
    fmt::print(p_.options.log, "[{:8.2f} s] {}\n", e.time_s, describe(e));
    p_.sink.add_event(e);
  }

  void apply_command(const MarkerCommand& command, double time_s) {
    std::vector<Event> events;
    if (auto warning = sets_.apply(command, time_s, events)) fmt::print(p_.options.log, "{}\n", *warning);
    for (const Event& e : events) record_event(e);
  }

  // Operator commands: keys and FIFO (stamped on arrival), then the script (stamped with its own time).
  void take_operator_commands(double session_s) {
    std::vector<TimedCommand> commands = control_->take();
    if (p_.options.remote_commands != nullptr) {
      for (TimedCommand& tc : p_.options.remote_commands->take()) commands.push_back(std::move(tc));
    }
    for (const TimedCommand& tc : commands) {
      MarkerCommand command = tc.command;
      if (tc.toggle && sets_.open_set() && sets_.open_set()->exercise == command.exercise) {
        command.verb = MarkerCommand::Verb::stop;
      }
      apply_command(command, tc.host_time_s - p_.start_s);
    }
    while (next_scripted_ < p_.script.size() && p_.script[next_scripted_].time_s <= session_s) {
      apply_command(p_.script[next_scripted_].command, p_.script[next_scripted_].time_s);
      ++next_scripted_;
    }
  }

  // The link is down: try again when the backoff allows. A device that answers as another device (or in
  // the wrong mode) is a failure; one that is absent or silent is retried.
  Step reopen(double now_s) {
    if (!p_.link.open_due(now_s)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return Step::go_on;
    }
    try {
      p_.source.open();
      p_.link.on_opened(steady_now_s());
      greet_device(p_.source, p_.driver);
    } catch (const io::TransportError&) {
      p_.link.on_open_failed(steady_now_s());
    } catch (const DeviceSilentError&) {  // not ready yet: try again after the backoff
      p_.source.close();
      p_.link.on_open_failed(steady_now_s());
    } catch (const devices::DeviceReplyError& e) {  // another device, or the wrong mode, was plugged in
      failure_ = e.what();
      return Step::stop;
    }
    return Step::go_on;
  }

  // One read (at most 50 ms) and its decoding; a closed or stalled link is recorded as a disconnect.
  Step read_once() {
    const DeviceLink::Read read = p_.source.read_some(buffer_, std::chrono::milliseconds(50));
    const io::ReadResult& r = read.result;
    read_time_s_ = steady_now_s();
    if (r.status == io::ReadStatus::data) {
      const std::uint64_t packets_before = p_.decoder.counters().packets;
      p_.decoder.feed(read.stream, std::span<const std::uint8_t>(buffer_.data(), r.bytes), read_time_s_);
      if (auto error = p_.decoder.stream_error()) {  // names the device: an impossible DEVICE_INFO, a
        failure_ = *error;                           // counter jump, bytes that are not this device's packets
        return Step::stop;
      }
      if (p_.decoder.counters().packets > packets_before && p_.link.on_data(read_time_s_)) {
        Event e;
        e.time_s = read_time_s_ - p_.start_s;
        e.kind = EventKind::reconnect;
        e.text = fmt::format("device back after {:.1f} s", read_time_s_ - p_.link.outage_started_s());
        record_event(e);
      }
    } else if (r.status == io::ReadStatus::closed) {
      if (p_.options.end_when_source_closes) {
        source_ended_ = true;
        return Step::stop;
      }
      p_.source.close();  // all streams: they are reopened together
      lose_link(fmt::format("{} closed (device unplugged or powered off?)", p_.source.describe()));
    } else if (p_.link.stalled(read_time_s_)) {
      p_.source.close();
      lose_link(
          fmt::format("no data from {} for {:.1f} s", p_.source.describe(), p_.options.stall_timeout_s));
    }
    return Step::go_on;
  }

  void lose_link(const std::string& why) {
    if (!p_.link.on_closed(read_time_s_)) return;
    ++disconnects_;
    p_.decoder.reset();
    Event e;
    e.time_s = read_time_s_ - p_.start_s;
    e.kind = EventKind::disconnect;
    e.text = why;
    record_event(e);
    fmt::print(p_.options.log, "reconnecting to {} (retrying until the device is back, Ctrl-C to stop)\n",
               p_.source.describe());
  }

  [[nodiscard]] RecordSummary summarise() const {
    const devices::DecoderCounters dc = p_.decoder.counters();
    RecordSummary summary;
    summary.file = p_.options.out;
    summary.duration_s = end_s_ - p_.start_s;
    summary.emg_samples = dc.emg_samples;
    summary.emg_channels = p_.sink.emg_channels();
    summary.emg_rate_hz = p_.sink.emg_rate_hz();
    const auto imu_count =
        static_cast<std::ptrdiff_t>(std::min<std::size_t>(p_.sink.imu_count(), devices::kMaxMotionSensors));
    summary.imu_samples.assign(dc.imu_samples.begin(), dc.imu_samples.begin() + imu_count);
    summary.imu_lost_samples.assign(dc.imu_lost_samples.begin(), dc.imu_lost_samples.begin() + imu_count);
    summary.frames = dc.packets;
    summary.lost_frames = dc.lost_packets;
    summary.emg_lost_samples = dc.emg_lost_samples;
    summary.duplicate_frames = dc.duplicate_packets;
    summary.duplicate_samples = dc.duplicate_samples;
    summary.gaps = dc.gaps;
    summary.crc_errors = dc.crc_failures;
    summary.garbage_bytes = dc.garbage_bytes;
    summary.other_frame_errors = dc.other_bad_packets;
    summary.disconnects = disconnects_;
    summary.events = p_.sink.events();
    summary.clock_drift_ppm = p_.decoder.clock().drift_ppm();
    summary.device = p_.driver.description().name;
    summary.loss_detectable = dc.loss_detectable();
    summary.bytes = dc.bytes;
    return summary;
  }

  // Why no session file was opened: the loop's failure, or no valid packet (DEVICE_INFO for protocol v1).
  [[nodiscard]] std::string nothing_recorded(const RecordSummary& summary) const {
    if (failure_) return *failure_;
    if (p_.options.device != "glutescope") {
      return fmt::format("{}: no valid packet from {} in {:.1f} s ({} bytes received): nothing recorded",
                         p_.options.device, p_.source.describe(), summary.duration_s, summary.bytes);
    }
    return fmt::format(
        "no DEVICE_INFO received from {} in {:.1f} s: nothing recorded (is it a glutescope device, and the "
        "baud rate right?)",
        p_.options.port.empty() ? std::string("the source") : p_.options.port, summary.duration_s);
  }

  Parts p_;
  std::unique_ptr<ControlInput> control_;
  SetTracker sets_;
  std::array<std::uint8_t, 65536> buffer_{};
  std::size_t next_scripted_ = 0;
  std::uint64_t disconnects_ = 0;
  double read_time_s_;
  double last_sync_s_;
  double end_s_ = 0.0;
  bool source_ended_ = false;
  std::optional<std::string> failure_;
};

}  // namespace

RecordSummary run_recording(const RecordOptions& options) {
  check_record_options(options);
  Montage montage;
  std::vector<ScriptedMarker> script;
  std::unique_ptr<devices::DeviceDriver> driver;
  try {
    montage = options.montage_path.empty() ? device_default_montage(options.device)
                                           : load_montage_file(options.montage_path);
    if (!options.markers_path.empty()) script = load_marker_script(options.markers_path);
    driver = devices::make_driver(options.device, devices::DriverOptions{options.channel_gains});
  } catch (const std::exception& e) {  // a bad montage or script; an unknown device, an impossible gain
    throw RecordingError(e.what());
  }
  DeviceLink source(make_link_streams(driver->description(), options));
  // The first open must succeed: a wrong path or a busy port is the user's to fix, not to wait for.
  try {
    source.open();
  } catch (const io::TransportError& e) {
    throw RecordingError(e.what());
  }

  const double start_s = steady_now_s();
  LinkSupervisor link(LinkSettings{options.stall_timeout_s, 0.1, std::max(options.retry_max_s, 0.1)});
  link.on_opened(start_s);
  RecordingSink sink(options, montage, start_s);
  const std::unique_ptr<devices::DeviceDecoder> decoder = driver->make_decoder(sink, start_s);
  std::unique_ptr<ControlInput> control;
  try {
    control = std::make_unique<ControlInput>(
        ControlSettings{options.control_fifo, options.keyboard, mvc_choices(montage), options.log});
  } catch (const std::runtime_error& e) {
    throw RecordingError(e.what());
  }

  fmt::print(options.log, "recording subject {} from {} into {}{}\n", options.subject_id, source.describe(),
             options.out.string(),
             options.duration_s > 0.0 ? fmt::format(" for {} s", options.duration_s) : std::string());
  if (control->keyboard_active()) fmt::print(options.log, "{}\n", key_help());
  if (!options.control_fifo.empty()) fmt::print(options.log, "control pipe: {}\n", options.control_fifo);
  // A device that answers wrongly or not at all the first time is the user's to fix (wrong device, wrong
  // mode, wrong port): one line, nothing recorded.
  try {
    greet_device(source, *driver);
  } catch (const std::runtime_error& e) {
    source.send_quietly(driver->stop_steps());
    source.close();
    throw RecordingError(e.what());
  }

  AcquisitionLoop loop({options, start_s, source, *driver, link, sink, *decoder, std::move(script)},
                       std::move(control));
  loop.run();
  return loop.finish();
}

std::string format_summary(const RecordSummary& s) {
  std::string text = fmt::format("recorded {:.1f} s into {}\n", s.duration_s, s.file.string());
  text += fmt::format("  EMG: {} samples x {} channels at {} Hz, {} lost\n", s.emg_samples, s.emg_channels,
                      s.emg_rate_hz, s.emg_lost_samples);
  for (std::size_t i = 0; i < s.imu_samples.size(); ++i) {
    text += fmt::format("  IMU {}: {} samples, {} lost\n", i, s.imu_samples[i],
                        i < s.imu_lost_samples.size() ? s.imu_lost_samples[i] : 0);
  }
  text += fmt::format(
      "  frames: {} received, {} lost, {} duplicate; {} gaps; {} CRC errors; {} garbage bytes; "
      "{} other bad frames\n",
      s.frames, s.lost_frames, s.duplicate_frames, s.gaps, s.crc_errors, s.garbage_bytes,
      s.other_frame_errors);
  if (!s.loss_detectable) {
    text +=
        fmt::format("  {}: lost samples cannot be detected (no counter in its stream); {} bytes received\n",
                    s.device, s.bytes);
  }
  text += fmt::format("  {} disconnects; {} events; device clock drift {:+.1f} ppm", s.disconnects, s.events,
                      s.clock_drift_ppm);
  if (s.queue_overflow_blocks > 0)
    text += fmt::format("; {} blocks dropped by the writer queue", s.queue_overflow_blocks);
  text += "\n";
  return text;
}

}  // namespace glutescope::pipeline
