// Recording a session from a wearable: transport → StreamDecoder → DeviceModel → session writer thread,
// with stall detection and automatic reconnection, operator markers (keys, control FIFO, marker script),
// and a summary at the end. `glutescope record` is a thin wrapper; `glutescope demo` calls it too.
// Behaviour and guarantees: docs/RECORDING.md.
//
// Threading: run_recording() runs the acquisition loop on the calling thread (it owns the transport and
// the decoder); the HDF5 writer runs on its own thread (store::SessionWriterThread); a ControlInput
// thread reads keys and the FIFO. request_stop() may be called from any thread or a signal handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/clock_fit.hpp"

#include "io/byte_source.hpp"

namespace glutescope::devices {
class DeviceSink;
}

namespace glutescope::pipeline {

class RemoteCommands;

struct RecordOptions {
  // Which device and how to reach it (docs/DEVICES.md).
  std::string device = "glutescope";  // devices::supported_devices() name
  std::vector<int> channel_gains;     // devices::DriverOptions::channel_gains (Cyton); empty = default
  std::string host;                   // TCP devices (Trigno): address of the base station's SDK server
  unsigned base_port = 0;             // TCP devices: first port; 0 = the device's own (Trigno 50040)

  std::string port;              // serial device path (a symlink is followed at every reconnect)
  unsigned baud_rate = 0;        // Bd; 0 = the device's own (glutescope 921600, Cyton 115200)
  std::string montage_path;      // TOML montage (docs/MONTAGE.md); empty = built-in default montage
  std::string subject_id;        // pseudonymous code, required
  std::filesystem::path out;     // FILE.h5
  double duration_s = 0.0;       // > 0: stop after this many seconds of session time; 0 = until stopped
  bool force = false;            // replace an existing output file
  double stall_timeout_s = 2.0;  // no bytes for this long = device lost (s)
  double retry_max_s = 2.0;      // reconnect backoff cap (s)
  std::string control_fifo;      // named pipe for marker commands; empty = none
  std::string markers_path;      // "<seconds> <command>" script; empty = none
  bool keyboard = true;          // single-key markers when stdin is a terminal
  std::FILE* log = stderr;       // status lines and the summary
  // Replaces the serial port (file replay, tests, the demo's in-process simulator). Called once.
  std::function<std::unique_ptr<io::ByteSource>()> source_factory;
  bool end_when_source_closes = false;  // replay: the end of the byte stream ends the session
  // Stops the recording when it becomes true (besides request_stop()); may be null.
  const std::atomic<bool>* stop = nullptr;
  // Extra consumer of the block flow (live analysis, pipeline/live_analysis.hpp), called on the acquisition
  // thread after the writer got each item; it must never block (LiveAnalysis drops and counts). May be null.
  devices::DeviceSink* live_consumer = nullptr;
  // Receives the device→host clock fit each time it is stored (about once a second and at the end) with the
  // host clock at session time 0: the live consumer's time model (core/sample_clock.hpp), the same fit the
  // session file gets. Called on the acquisition thread; must never block. May be empty.
  std::function<void(double host_clock_at_start_s, const ClockMapping& device_to_host)> clock_consumer;
  // Marker commands from another thread (the web page's operator controls), applied like keys and FIFO
  // commands. May be null; must outlive run_recording.
  RemoteCommands* remote_commands = nullptr;
};
// Documented defaults: 921600 Bd, built-in montage, stall after 2 s, reconnect backoff capped at 2 s.
inline const RecordOptions kDefaultRecordOptions{};

struct RecordSummary {
  std::filesystem::path file;
  double duration_s = 0.0;  // session time recorded (host clock)
  std::uint64_t emg_samples = 0;
  std::uint32_t emg_channels = 0;
  double emg_rate_hz = 0.0;
  std::vector<std::uint64_t> imu_samples;  // per IMU
  std::uint64_t frames = 0;
  std::uint64_t lost_frames = 0;
  std::uint64_t emg_lost_samples = 0;
  std::vector<std::uint64_t> imu_lost_samples;
  std::uint64_t duplicate_frames = 0;
  std::uint64_t duplicate_samples = 0;
  std::uint64_t gaps = 0;
  std::uint64_t crc_errors = 0;
  std::uint64_t garbage_bytes = 0;
  std::uint64_t other_frame_errors = 0;  // COBS, length, too long, bad payload, version, unknown type
  std::uint64_t disconnects = 0;
  std::uint64_t events = 0;
  std::string device = "glutescope";
  bool loss_detectable = true;  // false: lost samples could not be seen (no counter), the counts say 0
  std::uint64_t bytes = 0;      // bytes fed to the decoder
  double clock_drift_ppm = 0.0;
  std::uint64_t queue_overflow_blocks = 0;
};

// An error the user can act on (port missing or busy, output exists, montage mismatch, disk full).
// `what()` is one line. Whatever was recorded before it stays in the file.
struct RecordingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Records until the duration elapses, request_stop()/options.stop, the 'q' key or "quit" on the FIFO.
// Returns the summary on a clean stop; throws RecordingError otherwise.
RecordSummary run_recording(const RecordOptions& options);

// Async-signal-safe: ends a running recording cleanly (SIGINT/SIGTERM handlers call it).
void request_stop() noexcept;
void clear_stop_request() noexcept;

// The summary as printed at the end of `glutescope record`.
std::string format_summary(const RecordSummary& summary);

}  // namespace glutescope::pipeline
