#include "simulator/frames.hpp"

#include <algorithm>
#include <cmath>
#include <span>

#include "devices/protocol.hpp"

namespace glutescope::sim {
namespace {

enum class Source : std::uint8_t { device_info, emg, imu, event, status };

struct Planned {
  std::uint64_t send_time_us = 0;
  int rank = 0;  // tie order at equal send times
  Source source = Source::device_info;
  std::size_t index = 0;  // into the session's emg / imu / events, or the STATUS second
};

std::uint64_t to_us(double seconds) { return static_cast<std::uint64_t>(std::llround(seconds * 1e6)); }

}  // namespace

std::optional<gsp_event> wire_event(const Event& e) noexcept {
  gsp_event out{};
  switch (e.kind) {
    case EventKind::lead_off:
    case EventKind::lead_on:
      out.kind = e.kind == EventKind::lead_off ? GSP_EVENT_LEAD_OFF : GSP_EVENT_LEAD_ON;
      out.arg = static_cast<std::uint16_t>(e.channel);
      return out;
    case EventKind::set_start:
    case EventKind::set_stop:
      out.kind = e.kind == EventKind::set_start ? GSP_EVENT_SET_START : GSP_EVENT_SET_STOP;
      out.arg = static_cast<std::uint16_t>(e.exercise);
      // A set stop repeats its start's fields (the schedule gives both the same exercise, muscle, side).
      out.value = e.exercise == Exercise::mvc ? GSP_SET_VALUE(static_cast<std::uint32_t>(e.muscle),
                                                              static_cast<std::uint32_t>(e.side))
                                              : 0U;
      return out;
    default:
      return std::nullopt;
  }
}

std::vector<EncodedFrame> encode_frame_list(const SimulatedSession& session) {
  const SimulatorSettings& s = session.settings;
  std::vector<Planned> plan;
  plan.push_back({0, 0, Source::device_info, 0});
  for (std::size_t i = 0; i < session.emg.size(); ++i) {
    const EmgBlock& b = session.emg[i];
    plan.push_back(
        {to_us(static_cast<double>(b.first_sample + b.samples()) / s.emg_rate_hz), 1, Source::emg, i});
  }
  for (std::size_t i = 0; i < session.imu.size(); ++i) {
    const ImuBlock& b = session.imu[i];
    plan.push_back({to_us(static_cast<double>(b.first_sample + b.samples()) / s.imu_rate_hz), 2 + b.sensor,
                    Source::imu, i});
  }
  for (std::size_t i = 0; i < session.events.size(); ++i) {
    plan.push_back({to_us(session.events[i].time_s), 10, Source::event, i});
  }
  const auto whole_seconds = static_cast<std::size_t>(std::floor(session.truth.schedule.duration_s));
  for (std::size_t k = 1; k <= whole_seconds; ++k)
    plan.push_back({to_us(static_cast<double>(k)), 11, Source::status, k});
  std::stable_sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) {
    return a.send_time_us != b.send_time_us ? a.send_time_us < b.send_time_us : a.rank < b.rank;
  });

  protocol::FrameStamper stamper(s.device_id);
  std::vector<EncodedFrame> frames;
  frames.reserve(plan.size());
  for (const Planned& p : plan) {
    EncodedFrame f;
    f.send_time_us = p.send_time_us;
    switch (p.source) {
      case Source::device_info:
        f.type = GSP_MSG_DEVICE_INFO;
        f.wire = protocol::encode_device_info(stamper.stamp(0), session.device_info);
        break;
      case Source::emg: {
        const EmgBlock& b = session.emg[p.index];
        f.type = GSP_MSG_EMG_BLOCK;
        f.wire = protocol::encode_emg_block(stamper.stamp(b.device_time_us),
                                            static_cast<std::uint32_t>(b.first_sample),
                                            static_cast<std::uint8_t>(b.channels), SampleFormat::int16,
                                            std::span<const std::int32_t>(b.counts));
        break;
      }
      case Source::imu: {
        const ImuBlock& b = session.imu[p.index];
        f.type = GSP_MSG_IMU_BLOCK;
        f.wire = protocol::encode_imu_block(
            stamper.stamp(b.device_time_us), b.sensor, static_cast<std::uint32_t>(b.first_sample),
            std::span<const std::int16_t>(b.accel), std::span<const std::int16_t>(b.gyro));
        break;
      }
      case Source::event: {
        const Event& e = session.events[p.index];
        const std::optional<gsp_event> payload = wire_event(e);
        if (!payload) continue;
        f.type = GSP_MSG_EVENT;
        f.wire = protocol::encode_event(stamper.stamp(to_us(e.time_s)), *payload);
        break;
      }
      case Source::status: {
        gsp_status status{};
        const auto second = static_cast<std::uint32_t>(p.index);
        status.battery_percent = static_cast<std::uint8_t>(95U - std::min<std::uint32_t>(second / 120U, 90U));
        status.state = GSP_STATE_STREAMING;
        status.battery_mv = static_cast<std::uint16_t>(4000U - std::min<std::uint32_t>(second, 600U));
        status.overflow_count = 0;
        status.uptime_s = second;
        f.type = GSP_MSG_STATUS;
        f.wire = protocol::encode_status(stamper.stamp(p.send_time_us), status);
        break;
      }
    }
    frames.push_back(std::move(f));
  }
  return frames;
}

std::vector<std::uint8_t> encode_frames(const SimulatedSession& session) {
  std::vector<std::uint8_t> out;
  for (const EncodedFrame& f : encode_frame_list(session))
    out.insert(out.end(), f.wire.begin(), f.wire.end());
  return out;
}

}  // namespace glutescope::sim
