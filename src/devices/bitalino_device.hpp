// BITalino (r)evolution behind the device framework (device_decoder.hpp): the byte-stream decoder (frame
// cutting with CRC-4, shift-one-byte resynchronisation, 4-bit sequence numbers → exact gaps) and the
// driver (stop, version check, rate and start commands). Packet layout and sources: bitalino_protocol.hpp
// and docs/DEVICES.md "BITalino (r)evolution".
//
// Resynchronisation: the data sheet's (and cpp-api's) rule is "on a CRC failure shift one byte and
// retry". A 4-bit CRC passes a misaligned window 1 time in 16, so this decoder takes a window only when
// it is in step straight after a good frame, or the two windows after it pass the CRC too with agreeing
// sequence numbers (push() says exactly how); the last frames before the end or a disconnect are taken
// if in step. Output thus lags by up to two frames (2 ms at 1000 Hz). Every byte not in an accepted frame is
// counted as garbage.
//
// Loss: the sequence number counts sample periods, including frames the firmware skipped because its
// transmit buffer was full (timer.c), so a jump of k (mod 16) is k lost samples, placed exactly. A loss
// of 16 frames or more wraps and looks like k mod 16 (a loss of exactly 16 like none): the counter
// cannot say; docs/DEVICES.md states it. After a reconnect the device restarts at sequence 0, so the
// samples missed while away are estimated from the host clock (at the nominal rate) and a note says so.
//
// Stored values: EMG channels as centred counts (ADC10 − 512, 3.194 µV per count: the EMG data sheet's
// transfer function); the accelerometer channel as 2·ADC10 − (Cmin + Cmax), 1/(Cmax − Cmin) g per count
// (ACC data sheet), in column x of a motion sensor whose y and z columns (and gyroscope) are not measured
// and stay 0 (a note event says so). Digital inputs I1/I2 changes become marker events.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "devices/bitalino_protocol.hpp"
#include "devices/device_decoder.hpp"

namespace glutescope::devices {

enum class BitalinoInput : std::uint8_t { emg, accelerometer, unused };

struct BitalinoSettings {
  unsigned rate_hz = 1000;  // 1, 10, 100 or 1000
  // What each analog input A1..A6 carries; inputs marked unused are not started. Default: four EMG
  // sensors on A1-A4 and the accelerometer on A5 (5 channels: 8-byte frames, A5 then has 6 bits).
  std::array<BitalinoInput, bitalino::kAnalogInputs> inputs = {
      BitalinoInput::emg, BitalinoInput::emg,           BitalinoInput::emg,
      BitalinoInput::emg, BitalinoInput::accelerometer, BitalinoInput::unused};
  bitalino::AccCalibration acc;

  // Start-command mask of the inputs in use. Throws std::invalid_argument for a bad rate, no input in
  // use or more than one accelerometer.
  [[nodiscard]] std::uint8_t mask() const;
};

class BitalinoDecoder final : public DeviceDecoder {
 public:
  // `firmware`: the version text the device gave ("BITalino_v5.1"), read when the first frame arrives (the
  // driver learns it in its connect steps, which may run after the decoder is made). Throws
  // std::invalid_argument for settings mask() rejects.
  BitalinoDecoder(DeviceSink& sink, double session_start_host_s, BitalinoSettings settings,
                  std::shared_ptr<const std::string> firmware);

  void feed(std::size_t stream, std::span<const std::uint8_t> bytes, double host_time_s) noexcept override;
  void reset() noexcept override;
  void finish() noexcept override;
  [[nodiscard]] DecoderCounters counters() const noexcept override { return counters_; }
  [[nodiscard]] ClockMapping clock() const noexcept override { return clock_.mapping(); }
  [[nodiscard]] std::optional<std::string> stream_error() const override { return stream_error_; }

  [[nodiscard]] const DeviceInfo& device_info() const noexcept { return info_; }
  // Windows rejected right after an accepted frame for anything but their CRC (a sequence mismatch).
  [[nodiscard]] std::uint64_t sync_losses() const noexcept { return sync_losses_; }

  // Serial bytes examined before a stream without one valid frame is declared not this device (see
  // stream_error).
  static constexpr std::uint64_t kStreamCheckBytes = 2048;

 private:
  void push(std::uint8_t byte, double host_time_s) noexcept;
  void drop_first() noexcept;
  void reject_first() noexcept;
  void settle_held(double host_time_s) noexcept;
  void accept(const std::uint8_t* frame, double host_time_s) noexcept;
  void gap(std::uint64_t count, double host_time_s) noexcept;
  void flush(double host_time_s) noexcept;
  void note(std::string text, double host_time_s) noexcept;

  DeviceSink& sink_;
  double session_start_host_s_;
  BitalinoSettings settings_;
  std::size_t channels_;
  std::size_t frame_size_;
  std::array<std::size_t, bitalino::kAnalogInputs> emg_positions_{};  // frame positions of EMG channels
  std::size_t emg_channels_ = 0;
  std::optional<std::size_t> acc_position_;
  std::shared_ptr<const std::string> firmware_;
  DeviceInfo info_;
  bool info_sent_ = false;
  ClockFit clock_;

  std::array<std::uint8_t, 3 * bitalino::kMaxFrameSize> window_{};  // a window and two followers
  std::size_t fill_ = 0;
  std::uint64_t skipped_since_frame_ = 0;  // garbage bytes since the last accepted frame
  bool in_step_ = false;                   // the last window was accepted (a failure now is a loss of step)
  bool have_sequence_ = false;
  std::uint8_t expected_sequence_ = 0;
  bool restarted_ = false;  // reset() seen; the next frame starts a new device sequence
  double last_frame_s_ = 0.0;
  std::uint64_t next_index_ = 0;
  std::optional<std::uint8_t> digital_inputs_;  // I1, I2 of the last frame (bits 3, 2)

  EmgBlock emg_;
  ImuBlock imu_;
  double last_feed_s_ = 0.0;
  DecoderCounters counters_;
  std::uint64_t sync_losses_ = 0;
  std::uint64_t serial_bytes_ = 0;  // bytes of stream 0 (the serial link)
  std::optional<std::string> stream_error_;
};

class BitalinoDriver final : public DeviceDriver {
 public:
  explicit BitalinoDriver(BitalinoSettings settings = {});

  [[nodiscard]] const DeviceDescription& description() const noexcept override;
  // Stop (0xFF: ends a stream left running, ignored when idle) and 0.2 s of discarded input; version
  // (0x07, reply up to '\n', must be BITalino_v5.x); sampling rate.
  [[nodiscard]] std::vector<CommandStep> connect_steps() override;
  [[nodiscard]] std::vector<CommandStep> start_steps() override;  // live mode with the channel mask
  [[nodiscard]] std::vector<CommandStep> stop_steps() override;   // 0xFF
  void check_reply(const CommandStep& step, std::string_view reply) override;
  [[nodiscard]] std::unique_ptr<DeviceDecoder> make_decoder(DeviceSink& sink,
                                                            double session_start_host_s) override;

 private:
  BitalinoSettings settings_;
  std::shared_ptr<std::string> firmware_ = std::make_shared<std::string>("BITalino");
};

// The registry entry (device_registry.cpp lists it).
DeviceDescription bitalino_description();

}  // namespace glutescope::devices
