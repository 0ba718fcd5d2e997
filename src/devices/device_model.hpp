// Device model for firmware-protocol v1: turns decoded frames into core sample blocks, gaps and events
// with exact loss accounting, and fits the device clock to the host clock.
//
// Loss accounting (research/acquisition.md §4, §6 rules 1-2):
//   * frame sequence numbers (u32) → lost frames, duplicate frames (dropped), device restarts;
//   * each stream's own sample counter (EMG, and every IMU separately; u32, unwrapped to u64) → a Gap
//     {start_sample, count} for every hole, never interpolated; samples already delivered (duplicates,
//     overlaps) are dropped and counted;
//   * CRC failures and garbage bytes are the StreamDecoder's counters (the model never sees those bytes).
// Sample indices are the device's own counters, unwrapped: EMG sample k and IMU sample j are k / emg_rate
// and j / imu_rate after the device started streaming, so the streams stay aligned by index even when the
// recording begins mid-stream. After a device restart (sequence jumps back) the counters are re-based to
// continue where the session was, and a note event says that the restart's loss is unknown.
//
// Untrusted input (docs/RELIABILITY.md "Device input"): a DEVICE_INFO outside DeviceInfoLimits is rejected
// (counted; its reason is the model's protocol_error()); index arithmetic is checked, and a counter jump
// that would make a stream's lost samples exceed what the device could have produced — its rate × (host
// seconds since the stream started + kLossSlackSeconds) × kRateTolerance — is a protocol error: the block
// is dropped and counted, never a gap. Samples below a re-based stream's start are overlaps (dropped).
//
// Blocks that arrive before the first DEVICE_INFO cannot be interpreted safely (channel layout) and are
// dropped and counted; the recorder asks for DEVICE_INFO whenever it (re)connects.
//
// Threading contract: one thread (the acquisition thread). After warm-up consume() does not allocate
// (DEVICE_INFO and event frames aside); it throws only what the sink throws, and sinks must not.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/clock_fit.hpp"
#include "core/device_info.hpp"
#include "core/session_types.hpp"
#include "devices/protocol.hpp"
#include "devices/stream_decoder.hpp"

namespace glutescope::devices {

// Receives what the model produces, on the acquisition thread. References are valid only during the call.
class DeviceSink {
 public:
  virtual ~DeviceSink() = default;
  DeviceSink() = default;
  DeviceSink(const DeviceSink&) = delete;
  DeviceSink& operator=(const DeviceSink&) = delete;

  // First DEVICE_INFO of the session. Must not throw (the StreamDecoder calling consume() is noexcept):
  // a sink that rejects the device (montage mismatch) keeps the error for its owner to raise.
  virtual void on_device_info(const DeviceInfo& info) = 0;
  virtual void on_emg(const EmgBlock& block) = 0;
  virtual void on_imu(const ImuBlock& block) = 0;
  virtual void on_gap(const Gap& gap) = 0;
  // Device events (lead off/on, button, marker, battery low, set start/stop) and model notes (restart,
  // configuration change). Device events are timed by their own device timestamp mapped to the host clock.
  virtual void on_event(const Event& event) = 0;
};

struct DeviceModelCounters {
  std::uint64_t frames = 0;            // frames consumed (all types)
  std::uint64_t lost_frames = 0;       // sequence numbers skipped
  std::uint64_t duplicate_frames = 0;  // dropped
  std::uint64_t late_frames = 0;  // arrived after a later frame; their samples were already a gap: dropped
  std::uint64_t device_restarts = 0;     // sequence number jumped back
  std::uint64_t blocks_before_info = 0;  // EMG/IMU blocks dropped because DEVICE_INFO had not arrived
  std::uint64_t malformed_blocks = 0;  // block disagrees with DEVICE_INFO (channels, sensor, format): dropped
  std::uint64_t emg_samples = 0;       // delivered to the sink
  std::array<std::uint64_t, GSP_MAX_IMUS> imu_samples{};
  std::uint64_t emg_lost_samples = 0;  // sum of EMG gap counts
  std::array<std::uint64_t, GSP_MAX_IMUS> imu_lost_samples{};
  std::uint64_t duplicate_samples = 0;  // samples dropped because already delivered (all streams)
  std::uint64_t gaps = 0;
  std::uint64_t device_overflows = 0;  // STATUS overflow_count increase since the first STATUS
  std::uint64_t info_changes = 0;      // later DEVICE_INFO that differs from the first one
  std::uint64_t unknown_event_kinds =
      0;  // EVENTs of a kind this host does not know (later minor revision): skipped
  std::uint64_t rejected_device_infos = 0;  // outside DeviceInfoLimits (reason: protocol_error())
  std::uint64_t implausible_jumps = 0;      // blocks dropped: counter jump beyond the loss bound (see above)
};

class DeviceModel {
 public:
  // `session_start_host_s`: host clock at session start; event times are seconds after it.
  explicit DeviceModel(DeviceSink& sink, double session_start_host_s = 0.0,
                       ClockFitSettings clock_settings = kDefaultClockFitSettings);

  // One decoded frame that arrived at `host_time_s` (host steady clock, s).
  void consume(const protocol::Frame& frame, const protocol::Message& message, double host_time_s);

  [[nodiscard]] const DeviceModelCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const std::optional<DeviceInfo>& device_info() const noexcept { return info_; }
  [[nodiscard]] ClockMapping clock() const noexcept { return clock_.mapping(); }
  // The first input this model refused as impossible (a DEVICE_INFO out of range, a counter jump beyond
  // the loss bound), as one line; the model keeps going, the recorder stops with it.
  [[nodiscard]] const std::optional<std::string>& protocol_error() const noexcept { return protocol_error_; }
  // Next expected EMG sample index (one past the last delivered), if EMG has started.
  [[nodiscard]] std::optional<std::uint64_t> emg_next_sample() const noexcept;

  // Emits device events still waiting for the clock fit (see on_device_event), with the fit as it is.
  // The recorder calls it when the session ends.
  void finish() noexcept;

  // Completed clock-fit windows a device event waits for before it is timed: with fewer, the fit has no
  // drift yet, and a device clock far from host speed (a replay faster than real time) would be mapped
  // seconds off; the session's stored fit could then not map the event back onto the sample clock.
  static constexpr std::size_t kEventClockWindows = 2;

  // Loss bound (see the file comment). The slack covers what a device may hold in its buffers across a
  // reconnect and a replay running ahead of real time by up to a minute; the tolerance a device clock
  // 1 % fast (crystals are within 100 ppm, research/acquisition.md §4).
  static constexpr double kLossSlackSeconds = 60.0;
  static constexpr double kRateTolerance = 1.01;

 private:
  struct StreamState {
    protocol::CounterUnwrapper unwrapper;
    bool started = false;
    bool rebase_pending = false;  // set at a device restart: continue after `next`
    std::int64_t rebase = 0;      // added to unwrapped device indices
    std::uint64_t next = 0;       // next expected sample index
    double started_host_s = 0.0;  // host time of the stream's first block
  };
  // Returns how many leading samples to skip (duplicates), or nullopt to drop the block entirely.
  // Emits a gap when samples are missing before `index`.
  // `rate_hz` is the stream's validated rate (for the loss bound).
  std::optional<std::size_t> admit(StreamState& s, std::uint32_t raw_first, std::size_t samples,
                                   StreamKind kind, std::uint8_t sensor, double rate_hz, double host_time_s,
                                   std::uint64_t& first_out, std::uint64_t& lost_counter) noexcept;
  // Keeps the first protocol error (formatted with fmt; defined in the .cpp, which alone calls it).
  template <typename... Args>
  void refuse(const char* format, const Args&... args) noexcept;
  void on_info(const gsp_device_info& info, const gsp_header& header);
  void on_emg(const gsp_emg_block& block, const gsp_header& header, double host_time_s) noexcept;
  void on_imu(const gsp_imu_block& block, const gsp_header& header, double host_time_s) noexcept;
  void on_device_event(const gsp_event& event, const gsp_header& header) noexcept;
  void emit_device_event(const gsp_event& event, std::uint64_t device_time_us) noexcept;
  void flush_pending_events() noexcept;
  void note(std::string text, double host_time_s);

  DeviceSink& sink_;
  double session_start_host_s_;
  ClockFit clock_;
  protocol::SequenceTracker sequence_;
  std::optional<DeviceInfo> info_;
  StreamState emg_;
  std::array<StreamState, GSP_MAX_IMUS> imu_{};
  std::optional<std::uint32_t> first_overflow_count_;
  EmgBlock emg_block_;  // scratch, capacity reused
  ImuBlock imu_block_;
  DeviceModelCounters counters_;
  std::optional<std::string> protocol_error_;
  // The latest EMG block of the current device clock: its device time and first sample index.
  struct EmgAnchor {
    std::uint64_t device_time_us = 0;
    std::uint64_t first_sample = 0;
  };
  std::optional<EmgAnchor> emg_anchor_;
  // Device events received before the clock fit had kEventClockWindows windows (wire event, device µs).
  std::vector<std::pair<gsp_event, std::uint64_t>> pending_events_;
};

// True if two DEVICE_INFOs describe the same stream layout (channels, labels, rates, formats, IMUs).
bool same_layout(const DeviceInfo& a, const DeviceInfo& b) noexcept;

}  // namespace glutescope::devices
