#include "devices/cyton_device.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "devices/device_registry.hpp"

namespace glutescope::devices {

std::optional<char> cyton_gain_code(int gain) noexcept {
  constexpr std::array<int, 7> gains = {1, 2, 4, 6, 8, 12, 24};
  for (std::size_t i = 0; i < gains.size(); ++i) {
    if (gains[i] == gain) return static_cast<char>('0' + i);
  }
  return std::nullopt;
}

char cyton_channel_char(std::size_t channel) noexcept {
  constexpr char daisy[] = "QWERTYUI";
  if (channel < 8) return static_cast<char>('1' + channel);
  return channel < 16 ? daisy[channel - 8] : '?';
}

CytonPacket parse_cyton_packet(std::span<const std::uint8_t, kCytonPacketSize> bytes) noexcept {
  CytonPacket p;
  p.sample_number = bytes[1];
  for (std::size_t c = 0; c < 8; ++c) p.channels[c] = cyton_int24(bytes.data() + 2 + 3 * c);
  std::copy_n(bytes.data() + 26, 6, p.aux.begin());
  p.footer = bytes[32];
  return p;
}

// ---- Framer -------------------------------------------------------------------------------------

CytonFramer::Step CytonFramer::examine() noexcept {
  if (buffer_[0] != kCytonHeader) {
    locked_ = false;
    return Step::skip;
  }
  if (size_ < kCytonPacketSize) return Step::need_more;
  if (!is_cyton_footer(buffer_[kCytonPacketSize - 1])) {
    locked_ = false;
    return Step::skip;
  }
  if (locked_) return Step::accept;
  // Searching: the next packet's header and footer confirm the candidate, so that a lone 0xA0 ... 0xCx pair
  // in garbage, or in a stream of another packet size, does not become a sample.
  if (size_ < 2 * kCytonPacketSize) return Step::need_more;
  if (buffer_[kCytonPacketSize] != kCytonHeader || !is_cyton_footer(buffer_[2 * kCytonPacketSize - 1]))
    return Step::skip;
  locked_ = true;
  return Step::accept;
}

void CytonFramer::consume(std::size_t n) noexcept {
  std::memmove(buffer_.data(), buffer_.data() + n, size_ - n);
  size_ -= n;
}

void CytonFramer::reset() noexcept {
  counters_.garbage_bytes += size_;
  size_ = 0;
  locked_ = false;
}

// ---- Device description -------------------------------------------------------------------------

DeviceInfo cyton_device_info(const CytonBoardState& state) {
  DeviceInfo info;
  info.protocol_version = 0;  // not glutescope protocol v1
  info.device_id = 0;
  info.firmware_version = state.firmware;
  info.serial_number = state.daisy ? "OpenBCI Cyton + Daisy" : "OpenBCI Cyton";
  info.device_model = state.daisy ? "cyton-daisy" : "cyton";
  info.loss_detection = "counter-wraps";
  info.emg_format = SampleFormat::int24;
  info.emg_rate_hz = state.daisy ? kCytonRateHz / 2.0 : kCytonRateHz;
  const std::size_t channels = state.daisy ? 16 : 8;
  for (std::size_t c = 0; c < channels; ++c) {
    const int gain = c < state.gains.size() ? state.gains[c] : kCytonDefaultGain;
    info.emg.push_back(
        {fmt::format("CH{}", c + 1), static_cast<double>(gain), cyton_microvolts_per_count(gain)});
  }
  ImuInfo accel;
  accel.label = "accel";
  accel.rate_hz = kCytonAccelRateHz;
  accel.accel_range_g = 4.0;
  accel.accel_g_per_count = kCytonAccelGPerCount;
  accel.gyro_range_dps = 0.0;  // no gyroscope (ImuInfo::has_gyroscope)
  accel.gyro_dps_per_count = 0.0;
  info.imu.push_back(accel);
  return info;
}

// ---- Decoder ------------------------------------------------------------------------------------

CytonDecoder::CytonDecoder(DeviceSink& sink, std::shared_ptr<const CytonBoardState> state,
                           double session_start_host_s)
    : sink_(sink),
      state_(std::move(state)),
      session_start_host_s_(session_start_host_s),
      daisy_(state_->daisy),
      channels_(daisy_ ? 16 : 8),
      emg_rate_hz_(daisy_ ? kCytonRateHz / 2.0 : kCytonRateHz),
      host_time_s_(session_start_host_s) {
  emg_block_.channels = static_cast<std::uint32_t>(channels_);
  emg_block_.counts.reserve(kSamplesPerBlock * channels_);
  imu_block_.accel.reserve(3);
  imu_block_.gyro.reserve(3);
  counters_.loss_detection = LossDetection::counter_wraps;
}

void CytonDecoder::feed(std::size_t stream, std::span<const std::uint8_t> bytes,
                        double host_time_s) noexcept {
  counters_.bytes += bytes.size();
  if (stream != 0) {
    counters_.garbage_bytes += bytes.size();  // a Cyton has one byte stream
    return;
  }
  host_time_s_ = host_time_s;
  framer_.feed(bytes, [this](const CytonPacket& p) { on_packet(p); });
}

void CytonDecoder::on_packet(const CytonPacket& p) noexcept {
  if (!have_last_) {
    std::uint64_t absolute = p.sample_number;
    if (outage_pending_) {
      // The board was reset at the reconnect: its counter restarted, so the packets missed while away
      // are estimated from the host clock (at least one), keeping a Daisy half's parity.
      const double away_s = std::max(0.0, host_time_s_ - last_packet_host_s_);
      const auto estimate = static_cast<std::uint64_t>(std::max(1.0, std::round(away_s * kCytonRateHz)));
      absolute = last_absolute_ + estimate;
      if (daisy_ && ((absolute ^ p.sample_number) & 1u) != 0) ++absolute;
      outage_pending_ = false;
      ++cyton_.estimated_outages;
      note(
          fmt::format("{}: link back after {:.2f} s; the board was reset, so its {} lost packets are "
                      "estimated from the host clock, not counted",
                      daisy_ ? "cyton-daisy" : "cyton", away_s, absolute - last_absolute_ - 1));
      counters_.lost_packets += absolute - last_absolute_ - 1;
    } else {
      first_absolute_ = absolute;
    }
    have_last_ = true;
    last_counter_ = p.sample_number;
    last_absolute_ = absolute;
    accept(p, absolute);
    return;
  }
  if (held_) {
    if (((p.sample_number - last_counter_) & 0xFF) == 2) {
      // The held packet's counter was corrupt: the count goes on from before it. Its slot is lost.
      held_.reset();
      ++cyton_.corrupt_counters;
      ++counters_.other_bad_packets;
      ++counters_.lost_packets;
      last_counter_ = p.sample_number;
      last_absolute_ += 2;
      accept(p, last_absolute_);
      return;
    }
    on_packet_flush_held();
  }
  const auto diff = static_cast<unsigned>((p.sample_number - last_counter_) & 0xFF);
  if (diff == 0) {
    ++counters_.duplicate_packets;
    return;
  }
  if (diff == 1) {
    last_counter_ = p.sample_number;
    ++last_absolute_;
    accept(p, last_absolute_);
    return;
  }
  held_ = p;  // a jump: decided by the next packet
}

void CytonDecoder::accept(const CytonPacket& p, std::uint64_t absolute) noexcept {
  last_packet_host_s_ = host_time_s_;
  emit_info_once();
  if (!daisy_) {
    accept_emg_row(absolute - first_absolute_, p.channels.data());
  } else if ((absolute & 1u) != 0) {  // odd: the board's ADS1299, channels 1-8
    if (pending_board_) ++cyton_.unpaired_halves;
    pending_board_ = absolute;
    pending_board_channels_ = p.channels;
  } else {  // even: the Daisy's ADS1299, channels 9-16, pairs with the board half just before it
    if (pending_board_ && *pending_board_ + 1 == absolute) {
      std::array<std::int32_t, 16> row{};
      std::copy(pending_board_channels_.begin(), pending_board_channels_.end(), row.begin());
      std::copy(p.channels.begin(), p.channels.end(), row.begin() + 8);
      const std::uint64_t base = first_absolute_ | 1u;  // first board (odd) packet number of the session
      if (*pending_board_ >= base) accept_emg_row((*pending_board_ - base) / 2, row.data());
    } else {
      cyton_.unpaired_halves += pending_board_ ? 2 : 1;
    }
    pending_board_.reset();
  }
  accept_accel(p, absolute);
}

void CytonDecoder::accept_emg_row(std::uint64_t row, const std::int32_t* channels) noexcept {
  if (row < next_row_) {
    ++counters_.duplicate_samples;
    return;
  }
  if (row > next_row_) {
    flush_emg();
    Gap gap{StreamKind::emg, 0, next_row_, row - next_row_, host_time_s_};
    counters_.emg_lost_samples += gap.count;
    ++counters_.gaps;
    sink_.on_gap(gap);
  }
  const auto device_time_us =
      static_cast<std::uint64_t>(std::llround(static_cast<double>(row) * 1e6 / emg_rate_hz_));
  if (emg_block_.counts.empty()) {
    emg_block_.first_sample = row;
    emg_block_.device_time_us = device_time_us;
    emg_block_.host_time_s = host_time_s_;
  }
  emg_block_.counts.insert(emg_block_.counts.end(), channels, channels + channels_);
  next_row_ = row + 1;
  ++counters_.emg_samples;
  clock_.add(device_time_us, host_time_s_);
  if (emg_block_.samples() >= kSamplesPerBlock) flush_emg();
}

void CytonDecoder::accept_accel(const CytonPacket& p, std::uint64_t absolute) noexcept {
  if (p.footer != 0xC0) {
    ++cyton_.non_accel_aux;  // raw aux, user defined or time-stamped aux: not an accelerometer sample
    return;
  }
  if (std::all_of(p.aux.begin(), p.aux.end(), [](std::uint8_t b) { return b == 0; })) return;
  const std::uint64_t window = (absolute - first_absolute_) / 10;
  if (window < next_accel_) {
    ++cyton_.extra_accel_values;
    return;
  }
  if (window > next_accel_) {
    Gap gap{StreamKind::imu, 0, next_accel_, window - next_accel_, host_time_s_};
    counters_.imu_lost_samples[0] += gap.count;
    ++counters_.gaps;
    sink_.on_gap(gap);
  }
  imu_block_.sensor = 0;
  imu_block_.first_sample = window;
  imu_block_.accel.assign(
      {cyton_int16(p.aux.data()), cyton_int16(p.aux.data() + 2), cyton_int16(p.aux.data() + 4)});
  imu_block_.gyro.assign(3, 0);  // no gyroscope: the session format keeps the dataset, conversion 0
  imu_block_.mag.clear();
  imu_block_.device_time_us = window * 40000;  // 1 / 25 Hz
  imu_block_.host_time_s = host_time_s_;
  next_accel_ = window + 1;
  ++counters_.imu_samples[0];
  sink_.on_imu(imu_block_);
}

void CytonDecoder::flush_emg() noexcept {
  if (emg_block_.counts.empty()) return;
  sink_.on_emg(emg_block_);
  emg_block_.counts.clear();
}

void CytonDecoder::emit_info_once() noexcept {
  if (info_sent_) return;
  info_sent_ = true;
  try {
    sink_.on_device_info(cyton_device_info(*state_));
  } catch (...) {  // allocation failure only; the recorder then reports no device
    info_sent_ = false;
  }
}

void CytonDecoder::note(std::string text) noexcept {
  try {
    Event e;
    e.time_s = host_time_s_ - session_start_host_s_;
    e.kind = EventKind::note;
    e.text = std::move(text);
    sink_.on_event(e);
  } catch (...) {  // allocation failure: the gap itself is still recorded
  }
}

void CytonDecoder::reset() noexcept {
  if (held_) on_packet_flush_held();
  flush_emg();
  framer_.reset();
  if (pending_board_) {
    ++cyton_.unpaired_halves;
    pending_board_.reset();
  }
  if (have_last_) outage_pending_ = true;
  have_last_ = false;
}

void CytonDecoder::finish() noexcept {
  if (held_) on_packet_flush_held();
  flush_emg();
  framer_.reset();  // a partial packet at the end is garbage
  if (pending_board_) {
    ++cyton_.unpaired_halves;  // a board half whose Daisy half never came: not a sample
    pending_board_.reset();
  }
}

void CytonDecoder::on_packet_flush_held() noexcept {
  const CytonPacket held = *held_;
  held_.reset();
  const auto jump = static_cast<std::uint64_t>((held.sample_number - last_counter_) & 0xFF);
  counters_.lost_packets += jump - 1;
  last_counter_ = held.sample_number;
  last_absolute_ += jump;
  accept(held, last_absolute_);
}

DecoderCounters CytonDecoder::counters() const noexcept {
  DecoderCounters c = counters_;
  c.packets = framer_.counters().packets;
  c.garbage_bytes += framer_.counters().garbage_bytes;
  return c;
}

std::optional<std::string> CytonDecoder::stream_error() const {
  // Mostly not packets: a legitimate stream with losses still consists almost entirely of packets, while
  // another packet size still meets an occasional 0xA0 ... 0xCx pair by chance.
  const std::uint64_t packet_bytes = kCytonPacketSize * framer_.counters().packets;
  if (counters_.bytes < kBytesWithoutPacket || packet_bytes * 2 >= counters_.bytes) return std::nullopt;
  return fmt::format(
      "{}: {} bytes received and less than half of them in 33-byte packets (0xA0, counter, 8 x 24-bit, 6 "
      "aux, footer "
      "0xC0-0xC6): is it a Cyton in its default binary format at 115200 Bd?",
      daisy_ ? "cyton-daisy" : "cyton", counters_.bytes);
}

// ---- Driver -------------------------------------------------------------------------------------

CytonDriver::CytonDriver(bool daisy, const std::vector<int>& channel_gains)
    : state_(std::make_shared<CytonBoardState>()), configure_gains_(!channel_gains.empty()) {
  state_->daisy = daisy;
  const std::size_t channels = daisy ? 16 : 8;
  const char* name = daisy ? "cyton-daisy" : "cyton";
  if (!channel_gains.empty() && channel_gains.size() != 1 && channel_gains.size() != channels) {
    throw std::invalid_argument(fmt::format("--gain for {}: give one gain or {} (one per channel), got {}",
                                            name, channels, channel_gains.size()));
  }
  state_->gains.assign(channels, kCytonDefaultGain);
  for (std::size_t c = 0; c < channels && !channel_gains.empty(); ++c) {
    const int gain = channel_gains.size() == 1 ? channel_gains[0] : channel_gains[c];
    if (!cyton_gain_code(gain)) {
      throw std::invalid_argument(
          fmt::format("--gain for {}: {} is not an ADS1299 gain (1, 2, 4, 6, 8, 12 or 24)", name, gain));
    }
    state_->gains[c] = gain;
  }
}

const DeviceDescription& CytonDriver::description() const noexcept {
  return *find_device(state_->daisy ? "cyton-daisy" : "cyton");
}

namespace {

CommandStep text_step(std::string what, std::string bytes) {
  CommandStep s;
  s.what = std::move(what);
  s.bytes.assign(bytes.begin(), bytes.end());
  return s;
}

constexpr std::string_view kResetStep = "soft reset 'v'";
constexpr std::string_view kDaisyStep = "16-channel mode 'C'";

}  // namespace

std::vector<CommandStep> CytonDriver::connect_steps() {
  std::vector<CommandStep> steps;
  // A board left streaming by an earlier program must stop first (OpenBCI_Processing#39); packets
  // still in flight are discarded for 0.3 s.
  CommandStep stop = text_step("stop 's'", "s");
  stop.reply_timeout_s = 0.5;
  stop.settle_s = 0.3;
  steps.push_back(stop);
  // Soft reset: the reply names the board and firmware and ends in "$$$" (SDK §Miscellaneous).
  CommandStep reset = text_step(std::string(kResetStep), "v");
  reset.reply_until = "$$$";
  reset.reply_timeout_s = 3.0;
  reset.reply_must_contain = {"OpenBCI V3"};
  steps.push_back(reset);
  if (state_->daisy) {
    // 'C' answers "16$$$" or "daisy attached16$$$", or "no daisy to attach!8$$$" (SDK §16 Channel Commands).
    CommandStep mode = text_step(std::string(kDaisyStep), "C");
    mode.reply_until = "$$$";
    mode.reply_timeout_s = 2.0;
    steps.push_back(mode);
  } else {
    // 'c' answers "daisy removed$$$" only when a Daisy was attached, else nothing: no reply awaited.
    CommandStep mode = text_step("8-channel mode 'c'", "c");
    mode.reply_timeout_s = 0.5;
    mode.settle_s = 0.2;
    steps.push_back(mode);
  }
  if (configure_gains_) {
    // x CHANNEL POWER_DOWN GAIN INPUT BIAS SRB2 SRB1 X: on, the gain, normal input, in BIAS, SRB2 on, SRB1
    // off (the board's defaults but the gain); answered "Success: Channel set for N$$$" when not streaming.
    for (std::size_t c = 0; c < state_->gains.size(); ++c) {
      CommandStep set =
          text_step(fmt::format("channel setting for channel {}", c + 1),
                    fmt::format("x{}0{}0110X", cyton_channel_char(c), *cyton_gain_code(state_->gains[c])));
      set.reply_until = "$$$";
      set.reply_timeout_s = 2.0;
      set.reply_must_contain = {"Success"};
      steps.push_back(set);
    }
  }
  return steps;
}

std::vector<CommandStep> CytonDriver::start_steps() { return {text_step("start streaming 'b'", "b")}; }

std::vector<CommandStep> CytonDriver::stop_steps() { return {text_step("stop 's'", "s")}; }

void CytonDriver::check_reply(const CommandStep& step, std::string_view reply) {
  if (step.what == kDaisyStep) {
    if (reply.find("no daisy") != std::string_view::npos || reply.find("16$$$") == std::string_view::npos) {
      throw DeviceReplyError(
          fmt::format("cyton-daisy: the board answered 'C' (16-channel mode) with '{}', expected '16$$$': no "
                      "Daisy module "
                      "attached? Record it with --device cyton",
                      printable_reply(reply)));
    }
    return;
  }
  DeviceDriver::check_reply(step, reply);
  if (step.what == kResetStep) {
    const auto at = reply.find("Firmware: ");
    if (at == std::string_view::npos) {
      state_->firmware = "v1 (no Firmware line)";
    } else {
      const auto begin = at + 10;
      auto end = begin;
      while (end < reply.size() && reply[end] > ' ' && reply[end] != '$') ++end;
      state_->firmware = std::string(reply.substr(begin, std::min<std::size_t>(end - begin, 32)));
    }
  }
}

std::unique_ptr<DeviceDecoder> CytonDriver::make_decoder(DeviceSink& sink, double session_start_host_s) {
  return std::make_unique<CytonDecoder>(sink, state_, session_start_host_s);
}

DeviceDescription cyton_description(bool daisy) {
  DeviceDescription d;
  d.name = daisy ? "cyton-daisy" : "cyton";
  d.title = daisy ? "OpenBCI Cyton + Daisy (16 channels)" : "OpenBCI Cyton (8 channels)";
  d.link = LinkKind::serial;
  d.default_baud = 115200;
  d.streams = {{"serial (RFduino USB dongle, FTDI)", 0}};
  d.emg_channels = daisy ? 16 : 8;
  d.emg_rates = daisy ? "125 Hz per channel (250 packets/s alternating board and Daisy)" : "250 Hz";
  d.emg_rate_hz = daisy ? kCytonRateHz / 2.0 : kCytonRateHz;
  d.emg_unit = "uV";
  d.emg_scale = "4.5 V / gain / (2^23 - 1) per count, gain 24 by default (0.02235 uV)";
  d.motion = {
      {"board accelerometer (LIS3DH)", kCytonAccelRateHz, true, false, false, "g (0.002/16 per count)"}};
  d.loss_detection = LossDetection::counter_wraps;
  d.losses_detected =
      daisy ? "8-bit sample number: lost packets and rows (a half without its partner is a lost row); "
              "garbage bytes; counters corrupted once"
            : "8-bit sample number: every lost packet below 256 in a row; garbage bytes; counters "
              "corrupted once";
  d.losses_undetectable =
      "256 or more packets lost in a row look like fewer (1.02 s); no checksum, so a flipped data bit is a "
      "wrong "
      "value; after a reconnect the board is reset and the outage is estimated from the host clock";
  d.clock = "none in the default footer: device time = sample index / 250 Hz, host arrival times stored";
  d.source = "docs.openbci.com Cyton Data Format and Cyton Board SDK";
  return d;
}

}  // namespace glutescope::devices
