#include "devices/protocol.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>
#include <string>

namespace glutescope::protocol {
namespace {

[[noreturn]] void fail(const char* what, gsp_result result) {
  throw std::invalid_argument(std::string("protocol v1: cannot encode ") + what + ": " + gsp_result_name(result));
}

// Wraps a payload (already encoded) into a wire frame.
std::vector<std::uint8_t> frame_bytes(std::uint8_t type, const FrameStamp& stamp, const std::uint8_t* payload,
                                      std::size_t payload_length, const char* what) {
  gsp_header header{};
  header.type = type;
  header.device_id = stamp.device_id;
  header.sequence = stamp.sequence;
  header.timestamp_us = stamp.timestamp_us;
  std::vector<std::uint8_t> wire(GSP_MAX_WIRE_SIZE);
  std::size_t length = 0;
  const gsp_result r = gsp_frame_encode(&header, payload, payload_length, wire.data(), wire.size(), &length);
  if (r != GSP_OK) fail(what, r);
  wire.resize(length);
  return wire;
}

template <typename Encode>
std::vector<std::uint8_t> encode_with(std::uint8_t type, const FrameStamp& stamp, const char* what, Encode encode) {
  std::array<std::uint8_t, GSP_MAX_PAYLOAD_SIZE> payload{};
  std::size_t length = 0;
  const gsp_result r = encode(payload.data(), payload.size(), &length);
  if (r != GSP_OK) fail(what, r);
  return frame_bytes(type, stamp, payload.data(), length, what);
}

void copy_text(const std::string& from, char* to, std::size_t max_length, const char* what) {
  if (from.size() > max_length) {
    throw std::invalid_argument(std::string("protocol v1: ") + what + " '" + from + "' is longer than " +
                                std::to_string(max_length) + " bytes");
  }
  if (from.find('\0') != std::string::npos) {
    throw std::invalid_argument(std::string("protocol v1: ") + what + " contains a NUL byte");
  }
  std::copy(from.begin(), from.end(), to);
  to[from.size()] = '\0';
}

}  // namespace

std::vector<std::uint8_t> encode_frame(std::uint8_t type, const FrameStamp& stamp,
                                       std::span<const std::uint8_t> payload) {
  return frame_bytes(type, stamp, payload.data(), payload.size(), "frame");
}

std::vector<std::uint8_t> encode_device_info(const FrameStamp& stamp, const gsp_device_info& info) {
  return encode_with(GSP_MSG_DEVICE_INFO, stamp, "DEVICE_INFO", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_device_info_encode(&info, p, cap, n);
  });
}

std::vector<std::uint8_t> encode_device_info(const FrameStamp& stamp, const glutescope::DeviceInfo& info) {
  if (info.emg.size() > GSP_MAX_EMG_CHANNELS) {
    throw std::invalid_argument("protocol v1: DEVICE_INFO has " + std::to_string(info.emg.size()) +
                                " EMG channels, at most " + std::to_string(GSP_MAX_EMG_CHANNELS) + " allowed");
  }
  if (info.imu.size() > GSP_MAX_IMUS) {
    throw std::invalid_argument("protocol v1: DEVICE_INFO has " + std::to_string(info.imu.size()) +
                                " IMUs, at most " + std::to_string(GSP_MAX_IMUS) + " allowed");
  }
  gsp_device_info wire{};
  wire.protocol_minor = GSP_PROTOCOL_MINOR;
  copy_text(info.firmware_version, wire.firmware_version, GSP_MAX_STRING_LENGTH, "firmware version");
  copy_text(info.serial_number, wire.serial_number, GSP_MAX_STRING_LENGTH, "serial number");
  wire.emg_format = static_cast<std::uint8_t>(info.emg_format);
  wire.emg_rate_hz = static_cast<float>(info.emg_rate_hz);
  wire.emg_channel_count = static_cast<std::uint8_t>(info.emg.size());
  for (std::size_t i = 0; i < info.emg.size(); ++i) {
    copy_text(info.emg[i].label, wire.emg[i].label, GSP_MAX_LABEL_LENGTH, "EMG channel label");
    wire.emg[i].kind = GSP_CHANNEL_EMG;
    wire.emg[i].gain = static_cast<float>(info.emg[i].gain);
    wire.emg[i].microvolts_per_count = static_cast<float>(info.emg[i].microvolts_per_count);
  }
  wire.imu_count = static_cast<std::uint8_t>(info.imu.size());
  for (std::size_t i = 0; i < info.imu.size(); ++i) {
    const ImuInfo& from = info.imu[i];
    gsp_imu_info& to = wire.imu[i];
    copy_text(from.label, to.label, GSP_MAX_LABEL_LENGTH, "IMU label");
    to.flags = from.has_magnetometer ? GSP_IMU_FLAG_HAS_MAG : 0u;
    to.rate_hz = static_cast<float>(from.rate_hz);
    to.accel_range_g = static_cast<float>(from.accel_range_g);
    to.gyro_range_dps = static_cast<float>(from.gyro_range_dps);
    to.accel_g_per_count = static_cast<float>(from.accel_g_per_count);
    to.gyro_dps_per_count = static_cast<float>(from.gyro_dps_per_count);
    to.mag_ut_per_count = from.has_magnetometer ? static_cast<float>(from.mag_ut_per_count) : 0.0F;
  }
  return encode_device_info(stamp, wire);
}

std::vector<std::uint8_t> encode_emg_block(const FrameStamp& stamp, std::uint32_t first_sample,
                                           std::uint8_t channels, SampleFormat format,
                                           std::span<const std::int32_t> counts) {
  if (channels == 0 || counts.size() % channels != 0) {
    throw std::invalid_argument("protocol v1: EMG_BLOCK needs counts.size() (" + std::to_string(counts.size()) +
                                ") to be a multiple of the channel count (" + std::to_string(channels) + ")");
  }
  const std::size_t samples = counts.size() / channels;
  const std::uint16_t max = gsp_emg_max_samples(channels, static_cast<std::uint8_t>(format));
  if (samples > max) {
    throw std::invalid_argument("protocol v1: EMG_BLOCK of " + std::to_string(samples) + " samples exceeds " +
                                std::to_string(max) + " per frame for " + std::to_string(channels) + " channels");
  }
  gsp_emg_block block{};
  block.first_sample = first_sample;
  block.sample_count = static_cast<std::uint16_t>(samples);
  block.channel_count = channels;
  block.format = static_cast<std::uint8_t>(format);
  return encode_with(GSP_MSG_EMG_BLOCK, stamp, "EMG_BLOCK", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_emg_block_encode(&block, counts.data(), p, cap, n);
  });
}

std::vector<std::uint8_t> encode_imu_block(const FrameStamp& stamp, std::uint8_t sensor,
                                           std::uint32_t first_sample, std::span<const std::int16_t> accel,
                                           std::span<const std::int16_t> gyro, std::span<const std::int16_t> mag) {
  if (accel.size() % 3 != 0 || gyro.size() != accel.size() || (!mag.empty() && mag.size() != accel.size())) {
    throw std::invalid_argument("protocol v1: IMU_BLOCK needs accel, gyro (and mag if given) of equal size, "
                                "a multiple of 3");
  }
  gsp_imu_block block{};
  block.sensor = sensor;
  block.flags = mag.empty() ? 0u : GSP_IMU_FLAG_HAS_MAG;
  const std::size_t samples = accel.size() / 3;
  if (samples > gsp_imu_max_samples(block.flags)) {
    throw std::invalid_argument("protocol v1: IMU_BLOCK of " + std::to_string(samples) + " samples exceeds " +
                                std::to_string(gsp_imu_max_samples(block.flags)) + " per frame");
  }
  block.sample_count = static_cast<std::uint16_t>(samples);
  block.first_sample = first_sample;
  return encode_with(GSP_MSG_IMU_BLOCK, stamp, "IMU_BLOCK", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_imu_block_encode(&block, accel.data(), gyro.data(), mag.empty() ? nullptr : mag.data(), p, cap, n);
  });
}

std::vector<std::uint8_t> encode_event(const FrameStamp& stamp, const gsp_event& event) {
  return encode_with(GSP_MSG_EVENT, stamp, "EVENT", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_event_encode(&event, p, cap, n);
  });
}

std::vector<std::uint8_t> encode_status(const FrameStamp& stamp, const gsp_status& status) {
  return encode_with(GSP_MSG_STATUS, stamp, "STATUS", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_status_encode(&status, p, cap, n);
  });
}

std::vector<std::uint8_t> encode_command(const FrameStamp& stamp, const gsp_command& command) {
  return encode_with(GSP_MSG_COMMAND, stamp, "COMMAND", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_command_encode(&command, p, cap, n);
  });
}

std::vector<std::uint8_t> encode_ack(const FrameStamp& stamp, const gsp_ack& ack) {
  return encode_with(GSP_MSG_ACK, stamp, "ACK", [&](std::uint8_t* p, std::size_t cap, std::size_t* n) {
    return gsp_ack_encode(&ack, p, cap, n);
  });
}

gsp_result decode_frame(std::span<const std::uint8_t> wire, std::vector<std::uint8_t>& scratch, Frame& out) {
  if (scratch.size() < wire.size()) scratch.resize(wire.size());
  const std::uint8_t* payload = nullptr;
  if (scratch.empty()) scratch.resize(1);
  const gsp_result r = gsp_frame_decode(wire.data(), wire.size(), scratch.data(), scratch.size(), &out.header, &payload);
  if (r != GSP_OK) return r;
  out.payload = std::span<const std::uint8_t>(payload, out.header.payload_length);
  return GSP_OK;
}

gsp_result decode_message(const Frame& frame, Message& out) noexcept {
  const std::uint8_t* p = frame.payload.data();
  const std::size_t n = frame.payload.size();
  // emplace constructs the alternative in place: no allocation (all alternatives are trivially copyable).
  switch (frame.header.type) {
    case GSP_MSG_DEVICE_INFO: return gsp_device_info_decode(p, n, &out.emplace<gsp_device_info>());
    case GSP_MSG_EMG_BLOCK: return gsp_emg_block_decode(p, n, &out.emplace<gsp_emg_block>());
    case GSP_MSG_IMU_BLOCK: return gsp_imu_block_decode(p, n, &out.emplace<gsp_imu_block>());
    case GSP_MSG_EVENT: return gsp_event_decode(p, n, &out.emplace<gsp_event>());
    case GSP_MSG_STATUS: return gsp_status_decode(p, n, &out.emplace<gsp_status>());
    case GSP_MSG_COMMAND: return gsp_command_decode(p, n, &out.emplace<gsp_command>());
    case GSP_MSG_ACK: return gsp_ack_decode(p, n, &out.emplace<gsp_ack>());
    default: return GSP_ERR_BAD_PAYLOAD;
  }
}

glutescope::DeviceInfo to_device_info(const gsp_device_info& info, std::uint16_t device_id) {
  glutescope::DeviceInfo out;
  out.protocol_version = GSP_PROTOCOL_VERSION;
  out.device_id = device_id;
  out.firmware_version = info.firmware_version;
  out.serial_number = info.serial_number;
  out.emg_format = info.emg_format == GSP_FORMAT_INT24 ? SampleFormat::int24 : SampleFormat::int16;
  out.emg_rate_hz = static_cast<double>(info.emg_rate_hz);
  const std::size_t channels = std::min<std::size_t>(info.emg_channel_count, GSP_MAX_EMG_CHANNELS);
  for (std::size_t i = 0; i < channels; ++i) {
    const gsp_emg_channel_info& c = info.emg[i];
    out.emg.push_back({c.label, static_cast<double>(c.gain), static_cast<double>(c.microvolts_per_count)});
  }
  const std::size_t imus = std::min<std::size_t>(info.imu_count, GSP_MAX_IMUS);
  for (std::size_t i = 0; i < imus; ++i) {
    const gsp_imu_info& m = info.imu[i];
    ImuInfo imu;
    imu.label = m.label;
    imu.rate_hz = static_cast<double>(m.rate_hz);
    imu.accel_range_g = static_cast<double>(m.accel_range_g);
    imu.gyro_range_dps = static_cast<double>(m.gyro_range_dps);
    imu.accel_g_per_count = static_cast<double>(m.accel_g_per_count);
    imu.gyro_dps_per_count = static_cast<double>(m.gyro_dps_per_count);
    imu.has_magnetometer = (m.flags & GSP_IMU_FLAG_HAS_MAG) != 0;
    imu.mag_ut_per_count = imu.has_magnetometer ? static_cast<double>(m.mag_ut_per_count) : 0.0;
    out.imu.push_back(std::move(imu));
  }
  return out;
}

std::uint64_t CounterUnwrapper::unwrap(std::uint32_t counter) noexcept {
  if (!started_) {
    started_ = true;
    highest_ = counter;
    return counter;
  }
  // Signed distance modulo 2^32 from the highest index seen (two's complement reinterpretation).
  const auto delta = static_cast<std::int32_t>(counter - static_cast<std::uint32_t>(highest_));
  if (delta >= 0) {
    highest_ += static_cast<std::uint64_t>(delta);
    return highest_;
  }
  const auto back = static_cast<std::uint64_t>(-static_cast<std::int64_t>(delta));
  return back > highest_ ? 0 : highest_ - back;
}

void to_emg_block(const gsp_emg_block& block, std::uint64_t first_sample, std::uint64_t device_time_us,
                  EmgBlock& out) {
  out.first_sample = first_sample;
  out.channels = block.channel_count;
  out.device_time_us = device_time_us;
  const std::size_t values = static_cast<std::size_t>(block.sample_count) * block.channel_count;
  out.counts.resize(values);
  for (std::size_t s = 0; s < block.sample_count; ++s) {
    for (std::size_t c = 0; c < block.channel_count; ++c) {
      out.counts[s * block.channel_count + c] = gsp_emg_block_sample(&block, s, c);
    }
  }
}

void to_imu_block(const gsp_imu_block& block, std::uint64_t first_sample, std::uint64_t device_time_us,
                  ImuBlock& out) {
  out.sensor = block.sensor;
  out.first_sample = first_sample;
  out.device_time_us = device_time_us;
  const std::size_t n = block.sample_count;
  const bool has_mag = (block.flags & GSP_IMU_FLAG_HAS_MAG) != 0;
  out.accel.resize(n * 3);
  out.gyro.resize(n * 3);
  out.mag.resize(has_mag ? n * 3 : 0);
  std::int16_t mag[3] = {0, 0, 0};
  for (std::size_t s = 0; s < n; ++s) {
    gsp_imu_block_sample(&block, s, &out.accel[s * 3], &out.gyro[s * 3], mag);
    if (has_mag) std::copy(mag, mag + 3, out.mag.begin() + static_cast<std::ptrdiff_t>(s * 3));
  }
}

const char* to_string(gsp_result result) noexcept { return gsp_result_name(result); }

}  // namespace glutescope::protocol
