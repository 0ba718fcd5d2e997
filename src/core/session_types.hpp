// Device-level sample blocks, events and gaps: what flows from the decoder to the recorder and the
// analysis pipeline. Values are raw device counts; scales live in the montage and DEVICE_INFO.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/montage.hpp"

namespace glutescope {

// A block of consecutive EMG samples from one device frame.
struct EmgBlock {
  std::uint64_t first_sample = 0;  // index of the first sample in the session's EMG stream (unwrapped)
  std::uint32_t channels = 0;
  std::vector<std::int32_t> counts;  // [samples x channels], row-major, device ADC counts
  std::uint64_t device_time_us = 0;  // device clock at the first sample (µs)
  double host_time_s = 0.0;          // host steady_clock when the frame arrived (s)

  [[nodiscard]] std::size_t samples() const noexcept { return channels == 0 ? 0 : counts.size() / channels; }
};

// A block of consecutive samples from one six-axis (optionally nine-axis) IMU.
struct ImuBlock {
  std::uint8_t sensor = 0;          // index into Montage::imu / DEVICE_INFO's IMU list
  std::uint64_t first_sample = 0;   // index of the first sample in this sensor's stream (unwrapped)
  std::vector<std::int16_t> accel;  // [samples x 3] counts
  std::vector<std::int16_t> gyro;   // [samples x 3] counts
  std::vector<std::int16_t> mag;    // empty, or [samples x 3] counts
  std::uint64_t device_time_us = 0;
  double host_time_s = 0.0;

  [[nodiscard]] std::size_t samples() const noexcept { return accel.size() / 3; }
};

// Kinds of event stored in the session's events table. Values are stored in files: append only.
enum class EventKind : std::uint8_t {
  marker = 0,     // operator or device button marker
  set_start = 1,  // exercise set begins (exercise, and muscle for MVC trials)
  set_stop = 2,
  note = 3,      // free text from the operator
  lead_off = 4,  // electrode lost skin contact (channel)
  lead_on = 5,
  battery_low = 6,
  disconnect = 7,  // transport lost
  reconnect = 8,
  overflow = 9,    // a bounded queue dropped data (text says which and how much)
  rep_start = 10,  // a repetition begins (imported marker, BIDS event onset): a motion source of its own
  rep_end = 11,    // the repetition ends (a BIDS event's onset + duration)
};

// Event::text of the set_start/set_stop events a device sent (protocol v1 EVENT SET_START/SET_STOP), so
// that they can be told from operator markers of the same kinds, which never carry this text
// (docs/RECORDING.md "Device and operator sets").
inline constexpr std::string_view kDeviceSetEventText = "device";

struct Event {
  double time_s = 0.0;  // seconds since session start on the host clock
  EventKind kind = EventKind::marker;
  Exercise exercise = Exercise::other;
  Muscle muscle = Muscle::other;  // MVC target muscle, or the muscle of a lead-off channel
  Side side = Side::unknown;
  std::int32_t channel = -1;  // EMG channel for lead-off/lead-on, else -1
  std::string text;
  // Where a device-stamped event falls on the EMG sample clock (fractional sample index), computed by the
  // device model from the event's device timestamp and the EMG blocks' own device times: exact whatever the
  // host clock fit does (a scheduler stall, a replay faster than real time). Empty for events the host
  // stamped (keys, control FIFO, imports): those are placed through the clock fit from time_s.
  std::optional<double> emg_sample;
};

// One angle channel (goniometer, motion-capture export) in degrees, uniform at rate_hz from t = 0 (the
// streams' sample 0); NaN where the source had no value. Joint, motion and side say what it measures: a
// positive change is a movement in the direction `motion` names (a flexion channel grows as the joint
// flexes). Stored in /acquisition/angle (docs/SESSION_FORMAT.md, format 1.2).
struct AngleChannel {
  std::string label;
  Joint joint = Joint::hip;
  JointMotion motion = JointMotion::extension;
  Side side = Side::unknown;  // left, right, or midline for "both" / a pelvic angle
  double rate_hz = 0.0;
  std::vector<double> deg;
};

// Which stream a gap belongs to.
enum class StreamKind : std::uint8_t { emg = 0, imu = 1 };

// A run of samples the device produced but the host never received (never interpolated).
struct Gap {
  StreamKind stream = StreamKind::emg;
  std::uint8_t sensor = 0;         // IMU index when stream == imu
  std::uint64_t start_sample = 0;  // first missing sample index
  std::uint64_t count = 0;         // number of missing samples
  double host_time_s = 0.0;        // when the gap was detected
};

}  // namespace glutescope
