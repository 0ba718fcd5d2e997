// The device framework: one interface behind which every wearable glutescope records from sits, whether
// it speaks glutescope's own protocol v1 or a third-party protocol (OpenBCI Cyton, BITalino, Delsys Trigno).
// docs/DEVICES.md describes each device; this header is the contract a new device implements.
//
// Two halves, neither of which does I/O (devices/ must not; the recorder in pipeline/ owns the transports):
//
//  * DeviceDecoder: bytes in, DeviceSink out. The transport hands over whatever chunks arrived, tagged
//    with the byte stream they came from (`stream`: 0 for a serial port; Trigno has a command stream and
//    one TCP stream per data kind, see DeviceDescription::streams) and the host steady-clock time at
//    which they were read. The decoder cuts packets, checks them, resynchronises after garbage, keeps
//    every sample, turns every detectable loss into an exact Gap, and reports through the existing
//    DeviceSink (device_model.hpp): on_device_info once (before any block), on_emg / on_imu / on_gap /
//    on_event. Any split of a byte stream into chunks gives the same output and counters.
//    Counters say what was received, rejected and lost, and whether loss is detectable at all.
//
//  * DeviceDriver: the link side. What to send when the link opens (and again at every reconnect),
//    to start and to stop streaming, which replies to wait for and what they must say
//    (CommandStep). A reply that is not what the device should say is one line naming the device and
//    what was expected (DeviceReplyError); the recorder turns it into a non-zero exit.
//
// The registry (device_registry.hpp) lists every supported device (DeviceDescription) and builds its
// driver; `glutescope devices` prints it and `glutescope record --device NAME` uses it.
//
// Time: every block carries both clocks. Devices with their own clock put it into device_time_us; devices
// without one (Cyton's default footer, BITalino, Trigno) derive device time from the sample index at the
// nominal rate (index / rate), so device time is exact in samples and silent about drift, and store host
// arrival times alongside. DeviceDecoder::clock() is the device→host fit the session stores.
//
// Threading contract: a decoder and its driver are used by one thread (the acquisition thread). feed(),
// reset() and finish() are noexcept; feed() does not allocate after warm-up (device description and
// event text aside). Sinks must not throw (DeviceSink's own contract).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock_fit.hpp"
#include "devices/device_model.hpp"  // DeviceSink

namespace glutescope::devices {

// Largest number of motion sensors a device may describe: a Trigno base carries 16 sensors, each with its
// own accelerometer (protocol v1's GSP_MAX_IMUS is 4; the session format allows 255).
inline constexpr std::size_t kMaxMotionSensors = 16;

// How much of a device's loss the host can see.
enum class LossDetection : std::uint8_t {
  exact,          // wide counters: every lost sample is counted and placed (protocol v1)
  counter_wraps,  // a narrow counter: losses shorter than its period are exact; a loss of a whole period
                  // or more looks like fewer (Cyton 8-bit, BITalino 4-bit; DeviceDescription says how)
  none,           // no counter: lost samples cannot be seen, only malformed bytes (Trigno over TCP)
};

// Everything a decoder has seen since construction (reset() keeps them).
struct DecoderCounters {
  std::uint64_t bytes = 0;              // bytes fed, all streams
  std::uint64_t packets = 0;            // packets (frames) accepted
  std::uint64_t garbage_bytes = 0;      // bytes skipped while resynchronising, or in rejected packets
  std::uint64_t crc_failures = 0;       // packets rejected by a checksum (0 for devices without one)
  std::uint64_t other_bad_packets = 0;  // rejected for anything else (length, framing, payload, version)
  std::uint64_t lost_packets = 0;       // from the device's packet counter (0 when it has none)
  std::uint64_t duplicate_packets = 0;  // dropped
  std::uint64_t duplicate_samples = 0;  // dropped because already delivered
  std::uint64_t gaps = 0;               // Gap records emitted
  std::uint64_t emg_samples = 0;        // EMG rows delivered to the sink
  std::uint64_t emg_lost_samples = 0;   // sum of EMG gap counts
  std::array<std::uint64_t, kMaxMotionSensors> imu_samples{};  // per motion sensor
  std::array<std::uint64_t, kMaxMotionSensors> imu_lost_samples{};
  std::uint64_t device_overflows = 0;  // the device's own buffer overflowed (as it reports)
  LossDetection loss_detection = LossDetection::exact;
  // False when loss cannot be detected at all (LossDetection::none): lost counts above are then 0
  // because nothing could be seen, not because nothing was lost.
  [[nodiscard]] bool loss_detectable() const noexcept { return loss_detection != LossDetection::none; }
};

class DeviceDecoder {
 public:
  virtual ~DeviceDecoder() = default;
  DeviceDecoder() = default;
  DeviceDecoder(const DeviceDecoder&) = delete;
  DeviceDecoder& operator=(const DeviceDecoder&) = delete;

  // Bytes that arrived on byte stream `stream` (< DeviceDescription::streams.size()) at `host_time_s`
  // (host steady clock, s). Bytes of an unknown stream are counted as garbage.
  virtual void feed(std::size_t stream, std::span<const std::uint8_t> bytes, double host_time_s) noexcept = 0;
  // The link was lost: partial packets are dropped (their bytes count as garbage); the sample indices
  // continue, so the samples missed while away become one gap when data resumes (where detectable).
  virtual void reset() noexcept = 0;
  // The session ends: emit whatever is still held back (Daisy's unpaired half sample is counted, not
  // emitted; protocol v1's events waiting for the clock fit are emitted).
  virtual void finish() noexcept = 0;

  [[nodiscard]] virtual DecoderCounters counters() const noexcept = 0;
  // Device→host clock fit over what has been decoded.
  [[nodiscard]] virtual ClockMapping clock() const noexcept = 0;
  // Set once the byte stream cannot be this device's (e.g. many bytes and not one valid packet: wrong
  // device, wrong packet size, wrong channel mode): one line naming the device and what was expected.
  // The recorder stops with it; whatever was recorded stays in the file.
  [[nodiscard]] virtual std::optional<std::string> stream_error() const { return std::nullopt; }
};

// A command to the device and the reply it must give. The recorder runs a list of these in order,
// bounded in time: write `bytes` to `stream`; if `reply_until` is set, read until it arrives (at most
// reply_timeout_s) and have DeviceDriver::check_reply judge the text; then discard input for settle_s
// (samples still in flight after a stop).
struct CommandStep {
  std::string what;        // for messages: "soft reset 'v'"
  std::size_t stream = 0;  // byte stream the command is written to and its reply read from
  std::vector<std::uint8_t> bytes;
  std::string reply_until;                      // reply ends with this text ("$$$"); empty: no reply awaited
  double reply_timeout_s = 1.0;                 // s
  double settle_s = 0.0;                        // s of input discarded after the step
  std::vector<std::string> reply_must_contain;  // every one must appear in the reply
  std::vector<std::string> reply_must_not_contain;  // none may appear
};

// The device answered, but not as this device should (wrong version string, wrong channel mode, a
// refused command). what() is one line naming the device and what was expected. Not retried.
struct DeviceReplyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct DeviceDescription;

class DeviceDriver {
 public:
  virtual ~DeviceDriver() = default;
  DeviceDriver() = default;
  DeviceDriver(const DeviceDriver&) = delete;
  DeviceDriver& operator=(const DeviceDriver&) = delete;

  [[nodiscard]] virtual const DeviceDescription& description() const noexcept = 0;
  // Run after every open of the link (first connect and each reconnect), then start_steps().
  // Non-const: a driver may number its commands (protocol v1 command ids).
  [[nodiscard]] virtual std::vector<CommandStep> connect_steps() = 0;
  [[nodiscard]] virtual std::vector<CommandStep> start_steps() = 0;
  // Sent, best effort, when the recording ends (the board must not stay streaming: OpenBCI_Processing#39).
  [[nodiscard]] virtual std::vector<CommandStep> stop_steps() = 0;
  // Judges a reply. Default: every reply_must_contain present and no reply_must_not_contain, else
  // DeviceReplyError("<device>: <step.what> answered '<reply>', expected ..."). Drivers that learn
  // from replies (firmware version, sensor list) override it and may call the default.
  virtual void check_reply(const CommandStep& step, std::string_view reply);
  // A decoder for one session. `session_start_host_s`: host steady clock at session start (event
  // times are seconds after it).
  [[nodiscard]] virtual std::unique_ptr<DeviceDecoder> make_decoder(DeviceSink& sink,
                                                                    double session_start_host_s) = 0;
};

// The reply as one printable line for messages: control characters shown as spaces, runs collapsed,
// cut to `max_chars` with "..." .
std::string printable_reply(std::string_view reply, std::size_t max_chars = 80);

}  // namespace glutescope::devices
