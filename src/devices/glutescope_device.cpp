#include "devices/glutescope_device.hpp"

#include "devices/device_registry.hpp"
#include "devices/protocol.hpp"

namespace glutescope::devices {

GlutescopeDecoder::GlutescopeDecoder(DeviceSink& sink, double session_start_host_s)
    : model_(sink, session_start_host_s),
      read_time_s_(session_start_host_s),
      decoder_([this](const protocol::Frame& frame, const protocol::Message& message) {
        model_.consume(frame, message, read_time_s_);
      }) {}

void GlutescopeDecoder::feed(std::size_t stream, std::span<const std::uint8_t> bytes,
                             double host_time_s) noexcept {
  bytes_ += bytes.size();
  if (stream != 0) {
    foreign_stream_bytes_ += bytes.size();
    return;
  }
  read_time_s_ = host_time_s;
  decoder_.feed(bytes);
}

DecoderCounters GlutescopeDecoder::counters() const noexcept {
  const protocol::StreamDecoderCounters& dc = decoder_.counters();
  const DeviceModelCounters& mc = model_.counters();
  DecoderCounters c;
  c.bytes = bytes_;
  c.packets = dc.frames_ok;
  c.garbage_bytes = dc.garbage_bytes + foreign_stream_bytes_;
  c.crc_failures = dc.crc_errors;
  c.other_bad_packets = dc.cobs_errors + dc.length_errors + dc.too_long + dc.payload_errors +
                        dc.unknown_type + dc.unsupported_version;
  c.lost_packets = mc.lost_frames;
  c.duplicate_packets = mc.duplicate_frames;
  c.duplicate_samples = mc.duplicate_samples;
  c.gaps = mc.gaps;
  c.emg_samples = mc.emg_samples;
  c.emg_lost_samples = mc.emg_lost_samples;
  static_assert(kMaxMotionSensors >= GSP_MAX_IMUS);
  for (std::size_t i = 0; i < GSP_MAX_IMUS; ++i) {
    c.imu_samples[i] = mc.imu_samples[i];
    c.imu_lost_samples[i] = mc.imu_lost_samples[i];
  }
  c.device_overflows = mc.device_overflows;
  c.loss_detection = LossDetection::exact;
  return c;
}

std::vector<CommandStep> GlutescopeDriver::connect_steps() {
  // One stamper for both commands (sequence 0 and 1), as greet_device did.
  protocol::FrameStamper stamper(0, 0);
  std::vector<CommandStep> steps;
  const std::pair<const char*, gsp_command_opcode> commands[] = {
      {"REQUEST_DEVICE_INFO", GSP_CMD_REQUEST_DEVICE_INFO}, {"START", GSP_CMD_START}};
  for (const auto& [what, opcode] : commands) {
    CommandStep step;
    step.what = what;
    step.reply_timeout_s = 0.1;  // write timeout (s); DEVICE_INFO comes in-band, no reply awaited
    gsp_command c{};
    c.command_id = next_command_id_++;
    c.opcode = static_cast<std::uint8_t>(opcode);
    step.bytes = protocol::encode_command(stamper.stamp(0), c);
    steps.push_back(std::move(step));
  }
  return steps;
}

std::vector<CommandStep> GlutescopeDriver::stop_steps() { return {}; }

std::unique_ptr<DeviceDecoder> GlutescopeDriver::make_decoder(DeviceSink& sink, double session_start_host_s) {
  return std::make_unique<GlutescopeDecoder>(sink, session_start_host_s);
}

const DeviceDescription& GlutescopeDriver::description() const noexcept { return *find_device("glutescope"); }

DeviceDescription glutescope_description() {
  DeviceDescription d;
  d.name = "glutescope";
  d.title = "glutescope wearable, firmware protocol v1";
  d.link = LinkKind::serial;
  d.default_baud = 921600;
  d.streams = {{"serial or BLE", 0}};
  d.emg_channels = 8;
  d.emg_rates = "1000-4000 Hz (DEVICE_INFO; simulator default 2000 Hz)";
  d.emg_rate_hz = 2000.0;
  d.emg_unit = "uV";
  d.emg_scale = "per channel from DEVICE_INFO (microvolts_per_count)";
  d.motion = {{"IMU 0-2 (pelvis, thighs)", 200.0, true, true, false, "g, deg/s"}};
  d.loss_detection = LossDetection::exact;
  d.losses_detected =
      "CRC-32C per frame; u32 frame sequence (lost, duplicate, reordered, restart); u32 sample counter per "
      "stream: every lost sample counted and placed";
  d.losses_undetectable = "none within 2^32 samples per stream";
  d.clock = "device microsecond timestamp per frame, fitted to the host steady clock";
  d.source = "firmware-protocol/PROTOCOL.md";
  return d;
}

}  // namespace glutescope::devices
