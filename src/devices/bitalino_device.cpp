#include "devices/bitalino_device.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "devices/device_registry.hpp"
#include "devices/index_clock.hpp"

namespace glutescope::devices {
namespace {

// Samples gathered into one block before it is handed on (blocks are also closed at every gap and at the
// end of each feed, so a live view waits at most one read).
constexpr std::size_t kBlockSamples = 256;

const char* input_name(std::size_t input) {
  static constexpr const char* names[] = {"A1", "A2", "A3", "A4", "A5", "A6"};
  return names[input];
}

}  // namespace

std::uint8_t BitalinoSettings::mask() const {
  if (!bitalino::rate_command(rate_hz))
    throw std::invalid_argument(fmt::format("BITalino rate must be 1, 10, 100 or 1000 Hz, not {}", rate_hz));
  std::uint8_t m = 0;
  int accelerometers = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (inputs[i] == BitalinoInput::unused) continue;
    m = static_cast<std::uint8_t>(m | (1U << i));
    accelerometers += inputs[i] == BitalinoInput::accelerometer ? 1 : 0;
  }
  if (m == 0) throw std::invalid_argument("BITalino: no analog input in use");
  if (accelerometers > 1) throw std::invalid_argument("BITalino: at most one accelerometer input");
  if (acc.c_max <= acc.c_min || acc.c_min < 0 || acc.c_max > 1023)
    throw std::invalid_argument("BITalino accelerometer calibration needs 0 <= Cmin < Cmax <= 1023");
  return m;
}

BitalinoDecoder::BitalinoDecoder(DeviceSink& sink, double session_start_host_s, BitalinoSettings settings,
                                 std::shared_ptr<const std::string> firmware)
    : sink_(sink),
      session_start_host_s_(session_start_host_s),
      settings_(settings),
      channels_(bitalino::channel_count(settings_.mask())),
      frame_size_(bitalino::frame_size(channels_)),
      firmware_(std::move(firmware)) {
  info_.protocol_version = 0;  // not glutescope's protocol
  info_.serial_number = "BITalino";
  info_.emg_format = SampleFormat::int16;
  info_.emg_rate_hz = settings_.rate_hz;
  std::size_t position = 0;
  for (std::size_t input = 0; input < bitalino::kAnalogInputs; ++input) {
    if (settings_.inputs[input] == BitalinoInput::unused) continue;
    if (settings_.inputs[input] == BitalinoInput::emg) {
      emg_positions_[emg_channels_++] = position;
      info_.emg.push_back({input_name(input), bitalino::kEmgGain, bitalino::kEmgMicrovoltsPerCount});
    } else {
      acc_position_ = position;
      ImuInfo imu;
      imu.label = fmt::format("{} accelerometer", input_name(input));
      imu.rate_hz = settings_.rate_hz;
      imu.accel_range_g = 3.0;  // ACC data sheet range ±3 g
      imu.accel_g_per_count = bitalino::acc_g_per_count(settings_.acc);
      imu.gyro_range_dps = 0.0;  // no gyroscope
      imu.gyro_dps_per_count = 0.0;
      info_.imu.push_back(imu);
    }
    ++position;
  }
  emg_.channels = static_cast<std::uint32_t>(emg_channels_);
  emg_.counts.reserve(kBlockSamples * emg_channels_);
  imu_.accel.reserve(kBlockSamples * 3);
  imu_.gyro.reserve(kBlockSamples * 3);
  counters_.loss_detection = LossDetection::counter_wraps;
}

void BitalinoDecoder::feed(std::size_t stream, std::span<const std::uint8_t> bytes,
                           double host_time_s) noexcept {
  counters_.bytes += bytes.size();
  last_feed_s_ = host_time_s;
  if (stream != 0) {
    counters_.garbage_bytes += bytes.size();
    return;
  }
  for (const std::uint8_t b : bytes) {
    push(b, host_time_s);
    // Judged at exactly the kStreamCheckBytes-th byte, so that the verdict and its text are the same
    // however the stream was cut into reads.
    if (++serial_bytes_ == kStreamCheckBytes && counters_.packets == 0) {
      stream_error_ = fmt::format(
          "bitalino: {} bytes without one valid frame; expected {}-byte frames with CRC-4 for {} channels "
          "at {} Hz (wrong channel set, or not a BITalino (r)evolution?)",
          kStreamCheckBytes, frame_size_, channels_, settings_.rate_hz);
    }
  }
  flush(host_time_s);
}

void BitalinoDecoder::drop_first() noexcept {
  std::memmove(window_.data(), window_.data() + 1, fill_ - 1);
  --fill_;
  ++counters_.garbage_bytes;
  ++skipped_since_frame_;
}

// One state machine step per byte, so any chunking of the stream gives the same frames and counts.
// Straight after an accepted frame, a window passing the CRC with the expected sequence number is taken.
// Otherwise (after a failure, a jump, or at the start) a window W passing the CRC is taken once the two
// windows after it pass the CRC with consecutive sequence numbers, the first of them W's number + 1 or,
// if W is in step (its number the expected one), any number but W's own (frames lost right after W; a
// repeat of W's number would mean W is garbage just before that good frame).
// A misaligned window is then taken by chance about once in 16^5. One pattern is taken as garbage
// although the numbers fit: after skipped bytes, a W implying exactly 15 lost frames (its number one
// below the expected one) is far likelier garbage that happens to pass just before a good frame.
void BitalinoDecoder::push(std::uint8_t byte, double host_time_s) noexcept {
  window_[fill_++] = byte;
  const std::size_t n = frame_size_;
  const auto crc_at = [&](std::size_t k) { return bitalino::crc_ok({window_.data() + k * n, n}); };
  const auto seq_at = [&](std::size_t k) { return static_cast<std::uint8_t>(window_[(k + 1) * n - 1] >> 4); };
  while (fill_ >= n) {
    if (!crc_at(0)) {
      if (in_step_) ++counters_.crc_failures;
      reject_first();
      continue;
    }
    const std::uint8_t seq0 = seq_at(0);
    const bool in_step = have_sequence_ && seq0 == expected_sequence_;
    if (in_step && in_step_ && skipped_since_frame_ == 0) {
      // Straight after a good frame, in step: taken without waiting, so a corrupted or cut follower
      // costs only itself. (Garbage starting exactly at a frame boundary passes here 1 time in 256.)
      accept(window_.data(), host_time_s);
      std::memmove(window_.data(), window_.data() + n, fill_ - n);
      fill_ -= n;
      continue;
    }
    const bool garbage_15 =
        have_sequence_ && !in_step && skipped_since_frame_ > 0 && ((seq0 + 1) & 0x0F) == expected_sequence_;
    if (fill_ < 3 * n) return;  // wait for the two windows that confirm this one
    const std::uint8_t seq1 = seq_at(1);
    const bool confirmed = crc_at(1) && crc_at(2) && seq_at(2) == ((seq1 + 1) & 0x0F) &&
                           (seq1 == ((seq0 + 1) & 0x0F) || (in_step && seq1 != seq0));
    if (confirmed && !garbage_15) {
      accept(window_.data(), host_time_s);
      std::memmove(window_.data(), window_.data() + n, fill_ - n);
      fill_ -= n;
      in_step_ = true;
      continue;
    }
    if (in_step_) ++sync_losses_;
    reject_first();
  }
}

void BitalinoDecoder::reject_first() noexcept {
  in_step_ = false;
  drop_first();
}

// The last complete windows have no followers to confirm them (end of session, or the link went): they
// are taken while they pass the CRC in step; the rest is garbage.
void BitalinoDecoder::settle_held(double host_time_s) noexcept {
  const std::size_t n = frame_size_;
  while (fill_ >= n && bitalino::crc_ok({window_.data(), n}) && have_sequence_ &&
         (window_[n - 1] >> 4) == expected_sequence_) {
    accept(window_.data(), host_time_s);
    std::memmove(window_.data(), window_.data() + n, fill_ - n);
    fill_ -= n;
  }
  counters_.garbage_bytes += fill_;
  fill_ = 0;
  in_step_ = false;
}

void BitalinoDecoder::accept(const std::uint8_t* bytes, double host_time_s) noexcept {
  const bitalino::Frame frame = bitalino::unpack({bytes, frame_size_}, channels_);
  ++counters_.packets;
  skipped_since_frame_ = 0;
  if (!info_sent_) {
    info_sent_ = true;
    if (firmware_) info_.firmware_version = *firmware_;
    sink_.on_device_info(info_);
    if (acc_position_) {
      note(fmt::format(
               "BITalino accelerometer {}: one axis, stored in column x (Cmin {}, Cmax {}); columns y, z "
               "and the gyroscope are not measured and hold 0",
               info_.imu.front().label, settings_.acc.c_min, settings_.acc.c_max),
           host_time_s);
    }
  }
  if (restarted_) {
    // The device restarted its sequence at the new start command: the time away is all we know.
    restarted_ = false;
    const double away = std::max(0.0, (host_time_s - last_frame_s_) * settings_.rate_hz - 1.0);
    const auto missed = static_cast<std::uint64_t>(std::llround(away));
    if (missed > 0) gap(missed, host_time_s);
    note(fmt::format(
             "BITalino restarted after a reconnect: the {} samples missed were estimated from the host "
             "clock at {} Hz",
             missed, settings_.rate_hz),
         host_time_s);
  } else if (have_sequence_) {
    const auto lost = static_cast<std::uint64_t>((frame.sequence - expected_sequence_) & 0x0F);
    if (lost > 0) {
      counters_.lost_packets += lost;
      gap(lost, host_time_s);
    }
  }
  have_sequence_ = true;
  expected_sequence_ = static_cast<std::uint8_t>((frame.sequence + 1) & 0x0F);
  last_frame_s_ = host_time_s;

  if (emg_.counts.empty() && imu_.accel.empty()) {
    emg_.first_sample = next_index_;
    imu_.first_sample = next_index_;
  }
  for (std::size_t c = 0; c < emg_channels_; ++c) {
    const std::size_t p = emg_positions_[c];
    emg_.counts.push_back(bitalino::emg_count(frame.analog[p], bitalino::position_bits(p)));
  }
  if (acc_position_) {
    const std::size_t p = *acc_position_;
    imu_.accel.push_back(static_cast<std::int16_t>(
        bitalino::acc_count(frame.analog[p], bitalino::position_bits(p), settings_.acc)));
    imu_.accel.push_back(0);
    imu_.accel.push_back(0);
    for (int k = 0; k < 3; ++k) imu_.gyro.push_back(0);
  }
  ++next_index_;
  const auto inputs = static_cast<std::uint8_t>(frame.digital & 0x0C);  // I1 (bit 3), I2 (bit 2)
  if (digital_inputs_ && *digital_inputs_ != inputs) {
    for (const auto& [bit, name] : {std::pair{0x08, "I1"}, std::pair{0x04, "I2"}}) {
      if (((*digital_inputs_ ^ inputs) & bit) == 0) continue;
      Event e;
      e.time_s = host_time_s - session_start_host_s_;
      e.kind = EventKind::marker;
      e.text = fmt::format("BITalino digital input {} {} at sample {}", name, (inputs & bit) ? "high" : "low",
                           next_index_ - 1);
      flush(host_time_s);
      sink_.on_event(e);
    }
  }
  digital_inputs_ = inputs;
  if (emg_.samples() >= kBlockSamples || imu_.samples() >= kBlockSamples) flush(host_time_s);
}

void BitalinoDecoder::gap(std::uint64_t count, double host_time_s) noexcept {
  flush(host_time_s);
  ++counters_.gaps;
  if (emg_channels_ > 0) {
    sink_.on_gap({StreamKind::emg, 0, next_index_, count, host_time_s});
    counters_.emg_lost_samples += count;
  }
  if (acc_position_) {
    sink_.on_gap({StreamKind::imu, 0, next_index_, count, host_time_s});
    counters_.imu_lost_samples[0] += count;
  }
  next_index_ += count;
}

void BitalinoDecoder::flush(double host_time_s) noexcept {
  // Device time from the sample index at the nominal rate: the board has no clock of its own.
  const auto device_us = [&](std::uint64_t index) { return index_time_us(index, settings_.rate_hz); };
  if (!emg_.counts.empty()) {
    emg_.device_time_us = device_us(emg_.first_sample);
    emg_.host_time_s = host_time_s;
    clock_.add(device_us(emg_.first_sample + emg_.samples() - 1), host_time_s);
    counters_.emg_samples += emg_.samples();
    sink_.on_emg(emg_);
    emg_.counts.clear();
  }
  if (!imu_.accel.empty()) {
    imu_.device_time_us = device_us(imu_.first_sample);
    imu_.host_time_s = host_time_s;
    if (emg_channels_ == 0) clock_.add(device_us(imu_.first_sample + imu_.samples() - 1), host_time_s);
    counters_.imu_samples[0] += imu_.samples();
    sink_.on_imu(imu_);
    imu_.accel.clear();
    imu_.gyro.clear();
  }
}

void BitalinoDecoder::note(std::string text, double host_time_s) noexcept {
  emit_note(sink_, session_start_host_s_, std::move(text), host_time_s);
}

void BitalinoDecoder::finish() noexcept {
  settle_held(last_feed_s_);
  flush(last_feed_s_);
}

void BitalinoDecoder::reset() noexcept {
  settle_held(last_feed_s_);
  flush(last_feed_s_);
  have_sequence_ = false;
  if (counters_.packets > 0) restarted_ = true;
}

BitalinoDriver::BitalinoDriver(BitalinoSettings settings) : settings_(settings) { (void)settings_.mask(); }

const DeviceDescription& BitalinoDriver::description() const noexcept {
  static const DeviceDescription d = bitalino_description();
  return d;
}

std::vector<CommandStep> BitalinoDriver::connect_steps() {
  std::vector<CommandStep> steps(3);
  steps[0].what = "stop command 0xFF";
  steps[0].bytes = {bitalino::kStopCommand};
  steps[0].settle_s = 0.2;  // frames still in flight (up to the firmware's transmit buffer)
  steps[1].what = "version command 0x07";
  steps[1].bytes = {bitalino::kVersionCommand};
  steps[1].reply_until = std::string(1, '\n');  // (not = "\n": GCC 12 -Wrestrict false positive, PR 105329)
  steps[1].reply_timeout_s = 1.0;
  steps[1].reply_must_contain = {"BITalino_v5."};
  steps[2].what = fmt::format("sampling rate command for {} Hz", settings_.rate_hz);
  steps[2].bytes = {*bitalino::rate_command(settings_.rate_hz)};
  return steps;
}

std::vector<CommandStep> BitalinoDriver::start_steps() {
  CommandStep start;
  start.what = fmt::format("start live mode, channel mask 0x{:02X}", settings_.mask());
  start.bytes = {bitalino::start_command(settings_.mask())};
  return {start};
}

std::vector<CommandStep> BitalinoDriver::stop_steps() {
  CommandStep stop;
  stop.what = "stop command 0xFF";
  stop.bytes = {bitalino::kStopCommand};
  return {stop};
}

void BitalinoDriver::check_reply(const CommandStep& step, std::string_view reply) {
  if (step.bytes != std::vector<std::uint8_t>{bitalino::kVersionCommand}) {
    DeviceDriver::check_reply(step, reply);
    return;
  }
  const auto version = bitalino::parse_version(reply);
  if (!version || version->major != 5) {
    throw DeviceReplyError(fmt::format(
        "bitalino: version command 0x07 answered '{}', expected 'BITalino_v5.x' (a BITalino (r)evolution)",
        printable_reply(reply, 60)));
  }
  *firmware_ = version->text;
}

std::unique_ptr<DeviceDecoder> BitalinoDriver::make_decoder(DeviceSink& sink, double session_start_host_s) {
  return std::make_unique<BitalinoDecoder>(sink, session_start_host_s, settings_, firmware_);
}

DeviceDescription bitalino_description() {
  DeviceDescription d;
  d.name = "bitalino";
  d.title = "BITalino (r)evolution";
  d.link = LinkKind::serial;
  d.default_baud = bitalino::kBaudRate;
  d.streams = {{"serial (Bluetooth SPP or USB)", 0}};
  d.emg_channels = 4;
  d.emg_rates = "1000 Hz (1, 10, 100 or 1000 Hz)";
  d.emg_rate_hz = 1000.0;
  d.emg_unit = "uV";
  d.emg_scale = "EMG(V) = (ADC/2^n - 1/2) x 3.3 V / 1009: 3.194 uV per count, +-1.64 mV; 10-bit A1-A4";
  d.motion = {{"A5 accelerometer (one axis, 6 bits with 5 channels)", 1000.0, true, false, false, "g"}};
  d.loss_detection = LossDetection::counter_wraps;
  d.losses_detected =
      "CRC-4 per frame (bad frames skipped, one-byte resync); 4-bit sequence number: lost frames "
      "become exact gaps";
  d.losses_undetectable =
      "a loss of 16 frames or more looks like its remainder mod 16 (16 ms at 1000 Hz); "
      "the gap over a reconnect is estimated from the host clock";
  d.clock = "none: device time from the sample index at the nominal rate";
  d.source =
      "BITalinoWorld/firmware-bitalino-revolution (uart.c, live.c, timer.c), BITalinoWorld/cpp-api, "
      "REVOLUTION EMG and ACC sensor data sheets";
  return d;
}

}  // namespace glutescope::devices
