#include "devices/device_model.hpp"

#include <cmath>
#include <limits>

#include <fmt/core.h>

namespace glutescope::devices {

bool same_layout(const DeviceInfo& a, const DeviceInfo& b) noexcept {
  if (a.emg_format != b.emg_format || a.emg_rate_hz != b.emg_rate_hz || a.emg.size() != b.emg.size() ||
      a.imu.size() != b.imu.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.emg.size(); ++i) {
    if (a.emg[i].label != b.emg[i].label || a.emg[i].microvolts_per_count != b.emg[i].microvolts_per_count) {
      return false;
    }
  }
  for (std::size_t i = 0; i < a.imu.size(); ++i) {
    if (a.imu[i].label != b.imu[i].label || a.imu[i].rate_hz != b.imu[i].rate_hz ||
        a.imu[i].has_magnetometer != b.imu[i].has_magnetometer) {
      return false;
    }
  }
  return true;
}

DeviceModel::DeviceModel(DeviceSink& sink, double session_start_host_s, ClockFitSettings clock_settings)
    : sink_(sink), session_start_host_s_(session_start_host_s), clock_(clock_settings) {
  pending_events_.reserve(64);  // a session's first seconds rarely carry more events
}

std::optional<std::uint64_t> DeviceModel::emg_next_sample() const noexcept {
  if (!emg_.started) return std::nullopt;
  return emg_.next;
}

void DeviceModel::note(std::string text, double host_time_s) {
  Event e;
  e.time_s = host_time_s - session_start_host_s_;
  e.kind = EventKind::note;
  e.text = std::move(text);
  sink_.on_event(e);
}

void DeviceModel::consume(const protocol::Frame& frame, const protocol::Message& message,
                          double host_time_s) {
  ++counters_.frames;
  using Verdict = protocol::SequenceTracker::Verdict;
  const Verdict verdict = sequence_.observe(frame.header.sequence);
  switch (verdict) {
    case Verdict::duplicate:
      ++counters_.duplicate_frames;
      return;
    case Verdict::late:
      ++counters_.late_frames;
      return;
    case Verdict::restart:
      ++counters_.device_restarts;
      emg_.rebase_pending = emg_.started;
      emg_.unwrapper.reset();
      for (auto& s : imu_) {
        s.rebase_pending = s.started;
        s.unwrapper.reset();
      }
      flush_pending_events();  // time them with the fit of the clock they were stamped on
      clock_.reset();
      emg_anchor_.reset();  // the device clock restarted: the old blocks' device times no longer apply
      first_overflow_count_.reset();
      note(
          "device restarted (frame counter went back): sample counters re-based, samples lost during the "
          "restart are not known",
          host_time_s);
      break;
    default:
      break;
  }
  // Lost frames: the tracker's count, minus frames that came late (their samples were dropped, so they
  // stay lost for the session).
  counters_.lost_frames = sequence_.counters().lost + counters_.late_frames;
  clock_.add(frame.header.timestamp_us, host_time_s);
  if (!pending_events_.empty() && clock_.mapping().windows >= kEventClockWindows) flush_pending_events();

  if (const auto* info = std::get_if<gsp_device_info>(&message)) {
    on_info(*info, frame.header);
  } else if (const auto* emg = std::get_if<gsp_emg_block>(&message)) {
    on_emg(*emg, frame.header, host_time_s);
  } else if (const auto* imu = std::get_if<gsp_imu_block>(&message)) {
    on_imu(*imu, frame.header, host_time_s);
  } else if (const auto* event = std::get_if<gsp_event>(&message)) {
    on_device_event(*event, frame.header);
  } else if (const auto* status = std::get_if<gsp_status>(&message)) {
    if (!first_overflow_count_) first_overflow_count_ = status->overflow_count;
    if (status->overflow_count >= *first_overflow_count_) {
      counters_.device_overflows = status->overflow_count - *first_overflow_count_;
    }
  }
  // COMMAND (host → device) and ACK carry nothing to record.
}

template <typename... Args>
void DeviceModel::refuse(const char* format, const Args&... args) noexcept {
  if (protocol_error_) return;
  try {
    protocol_error_ = fmt::vformat(format, fmt::make_format_args(args...));
  } catch (...) {  // no memory for the message: an empty one still stops the recorder
    protocol_error_.emplace();
  }
}

void DeviceModel::on_info(const gsp_device_info& wire, const gsp_header& header) {
  DeviceInfo info = protocol::to_device_info(wire, header.device_id);
  if (auto problem = device_info_problem(info)) {
    ++counters_.rejected_device_infos;  // the first accepted layout (if any) stays in force
    refuse("DEVICE_INFO rejected: {}", *problem);
    return;
  }
  if (!info_) {
    sink_.on_device_info(info);
    info_ = std::move(info);
    return;
  }
  if (!same_layout(*info_, info)) {
    ++counters_.info_changes;  // blocks that disagree with the first DEVICE_INFO are dropped as malformed
  }
}

std::optional<std::size_t> DeviceModel::admit(StreamState& s, std::uint32_t raw_first, std::size_t samples,
                                              StreamKind kind, std::uint8_t sensor, double rate_hz,
                                              double host_time_s, std::uint64_t& first_out,
                                              std::uint64_t& lost_counter) noexcept {
  constexpr auto int64_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const std::uint64_t device_index = s.unwrapper.unwrap(raw_first);
  const char* stream = kind == StreamKind::emg ? "EMG" : "IMU";
  if (device_index > int64_max / 2 || s.next > int64_max / 2) {  // 2^62 samples: no real stream gets here
    ++counters_.implausible_jumps;
    refuse("{} sample counter out of range ({})", stream, device_index);
    return std::nullopt;
  }
  if (s.rebase_pending) {
    s.rebase = static_cast<std::int64_t>(s.next) - static_cast<std::int64_t>(device_index);
    s.rebase_pending = false;
  }
  // Both terms are below 2^62 in magnitude, so the sum cannot overflow; it is negative for a sample below
  // the anchor of a re-based stream (before where the session continued): already covered, an overlap.
  const std::int64_t index = static_cast<std::int64_t>(device_index) + s.rebase;
  if (!s.started) {
    if (index < 0) return std::nullopt;  // unreachable: a rebase needs a started stream
    s.started = true;
    s.next = static_cast<std::uint64_t>(index);
    s.started_host_s = host_time_s;
  }
  const auto next = static_cast<std::int64_t>(s.next);
  if (index > next) {
    const auto missing = static_cast<std::uint64_t>(index - next);
    // What the device could have produced since the stream started, plus the slack (see the header).
    const double elapsed_s =
        std::isfinite(host_time_s - s.started_host_s) ? std::max(0.0, host_time_s - s.started_host_s) : 0.0;
    const double bound = rate_hz * (elapsed_s + kLossSlackSeconds) * kRateTolerance;
    if (static_cast<double>(lost_counter) + static_cast<double>(missing) > bound) {
      ++counters_.implausible_jumps;
      refuse(
          "{} sample counter jumped ahead by {} samples at sample {}: more than the {:.0f} a {:g} Hz "
          "stream can lose in {:.0f} s",
          stream, missing, s.next, bound, rate_hz, elapsed_s + kLossSlackSeconds);
      return std::nullopt;
    }
    Gap gap;
    gap.stream = kind;
    gap.sensor = sensor;
    gap.start_sample = s.next;
    gap.count = missing;
    gap.host_time_s = host_time_s;
    lost_counter += gap.count;
    ++counters_.gaps;
    sink_.on_gap(gap);
    s.next = static_cast<std::uint64_t>(index);
  }
  const std::int64_t end = index + static_cast<std::int64_t>(samples);
  if (end <= static_cast<std::int64_t>(s.next)) {
    counters_.duplicate_samples += samples;
    return std::nullopt;
  }
  const auto skip = static_cast<std::size_t>(static_cast<std::int64_t>(s.next) - index);
  counters_.duplicate_samples += skip;
  first_out = s.next;
  s.next = static_cast<std::uint64_t>(end);
  return skip;
}

void DeviceModel::on_emg(const gsp_emg_block& block, const gsp_header& header, double host_time_s) noexcept {
  if (!info_) {
    ++counters_.blocks_before_info;
    return;
  }
  const auto expected_format = info_->emg_format == SampleFormat::int24 ? GSP_FORMAT_INT24 : GSP_FORMAT_INT16;
  if (block.channel_count != info_->emg.size() || block.format != expected_format ||
      block.sample_count == 0) {
    ++counters_.malformed_blocks;
    return;
  }
  std::uint64_t first = 0;
  const auto skip = admit(emg_, block.first_sample, block.sample_count, StreamKind::emg, 0,
                          info_->emg_rate_hz, host_time_s, first, counters_.emg_lost_samples);
  if (!skip) return;
  protocol::to_emg_block(block, first, header.timestamp_us, emg_block_);
  if (*skip > 0) {
    emg_block_.counts.erase(
        emg_block_.counts.begin(),
        emg_block_.counts.begin() + static_cast<std::ptrdiff_t>(*skip * block.channel_count));
    // The device clock stamps the block's first sample; shift it to the first kept one.
    emg_block_.device_time_us +=
        static_cast<std::uint64_t>(std::llround(static_cast<double>(*skip) * 1e6 / info_->emg_rate_hz));
  }
  emg_block_.first_sample = first;
  emg_block_.host_time_s = host_time_s;
  emg_anchor_ = EmgAnchor{emg_block_.device_time_us, first};
  counters_.emg_samples += emg_block_.samples();
  sink_.on_emg(emg_block_);
}

void DeviceModel::on_imu(const gsp_imu_block& block, const gsp_header& header, double host_time_s) noexcept {
  if (!info_) {
    ++counters_.blocks_before_info;
    return;
  }
  const bool has_mag = (block.flags & GSP_IMU_FLAG_HAS_MAG) != 0;
  if (block.sensor >= info_->imu.size() || block.sensor >= GSP_MAX_IMUS ||
      has_mag != info_->imu[block.sensor].has_magnetometer || block.sample_count == 0) {
    ++counters_.malformed_blocks;
    return;
  }
  std::uint64_t first = 0;
  const auto skip =
      admit(imu_[block.sensor], block.first_sample, block.sample_count, StreamKind::imu, block.sensor,
            info_->imu[block.sensor].rate_hz, host_time_s, first, counters_.imu_lost_samples[block.sensor]);
  if (!skip) return;
  protocol::to_imu_block(block, first, header.timestamp_us, imu_block_);
  if (*skip > 0) {
    const auto values = static_cast<std::ptrdiff_t>(*skip * 3);
    imu_block_.accel.erase(imu_block_.accel.begin(), imu_block_.accel.begin() + values);
    imu_block_.gyro.erase(imu_block_.gyro.begin(), imu_block_.gyro.begin() + values);
    if (has_mag) imu_block_.mag.erase(imu_block_.mag.begin(), imu_block_.mag.begin() + values);
    imu_block_.device_time_us += static_cast<std::uint64_t>(
        std::llround(static_cast<double>(*skip) * 1e6 / info_->imu[block.sensor].rate_hz));
  }
  imu_block_.first_sample = first;
  imu_block_.host_time_s = host_time_s;
  counters_.imu_samples[block.sensor] += imu_block_.samples();
  sink_.on_imu(imu_block_);
}

void DeviceModel::on_device_event(const gsp_event& wire, const gsp_header& header) noexcept {
  if (gsp_is_known_event_kind(wire.kind) == 0) {
    ++counters_.unknown_event_kinds;  // PROTOCOL.md §4.4: skip and count kinds added by a later revision
    return;
  }
  if (clock_.mapping().windows < kEventClockWindows) {
    pending_events_.emplace_back(wire, header.timestamp_us);  // timed once the fit knows the drift
    return;
  }
  emit_device_event(wire, header.timestamp_us);
}

void DeviceModel::flush_pending_events() noexcept {
  for (const auto& [wire, device_time_us] : pending_events_) emit_device_event(wire, device_time_us);
  pending_events_.clear();
}

void DeviceModel::finish() noexcept { flush_pending_events(); }

void DeviceModel::emit_device_event(const gsp_event& wire, std::uint64_t device_time_us) noexcept {
  Event e;
  // The device stamps when the event happened (PROTOCOL.md §4.4); the clock fit puts it on the host clock
  // without the transport delay, like the sample blocks' device times.
  e.time_s = clock_.mapping().to_host_s(device_time_us) - session_start_host_s_;
  // The same instant on the EMG sample clock, from the device's own times alone (the latest EMG block of
  // this device clock: its first sample and that sample's device time), so that analysis places the event
  // exactly even where the host clock fit was disturbed when the event was timed.
  if (emg_anchor_ && info_ && info_->emg_rate_hz > 0.0) {
    const double dt_s =
        (static_cast<double>(device_time_us) - static_cast<double>(emg_anchor_->device_time_us)) * 1e-6;
    e.emg_sample = static_cast<double>(emg_anchor_->first_sample) + dt_s * info_->emg_rate_hz;
  }
  switch (wire.kind) {
    case GSP_EVENT_LEAD_OFF:
    case GSP_EVENT_LEAD_ON:
      e.kind = wire.kind == GSP_EVENT_LEAD_OFF ? EventKind::lead_off : EventKind::lead_on;
      e.channel = wire.arg;
      if (info_ && wire.arg < info_->emg.size()) e.text = info_->emg[wire.arg].label;
      break;
    case GSP_EVENT_BUTTON:
      e.kind = EventKind::marker;
      e.text = fmt::format("device button {}", wire.arg);
      break;
    case GSP_EVENT_MARKER:
      e.kind = EventKind::marker;
      e.text = fmt::format("device marker {}", wire.arg);
      break;
    case GSP_EVENT_BATTERY_LOW:
      e.kind = EventKind::battery_low;
      e.text = fmt::format("{} mV", wire.value);
      break;
    case GSP_EVENT_SET_START:
    case GSP_EVENT_SET_STOP:
      // The codec has checked the codes against PROTOCOL.md §4.4, whose values are glutescope's own.
      e.kind = wire.kind == GSP_EVENT_SET_START ? EventKind::set_start : EventKind::set_stop;
      e.exercise = static_cast<Exercise>(wire.arg);
      if (e.exercise == Exercise::mvc) {
        e.muscle = static_cast<Muscle>(GSP_SET_VALUE_MUSCLE(wire.value));
        e.side = static_cast<Side>(GSP_SET_VALUE_SIDE(wire.value));
      }
      e.text = std::string(kDeviceSetEventText);
      break;
    default:
      break;
  }
  sink_.on_event(e);
}

}  // namespace glutescope::devices
