// Test helper: a simulated session fed straight into a live consumer, blocks and events merged in time order
// as the device model would deliver them (no pacing: the consumer's queue must be large enough).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/clock_fit.hpp"
#include "pipeline/live_analysis.hpp"
#include "simulator/session.hpp"

namespace glutescope::test {

// How the feed differs from the simulator's own timeline (docs: "Same code live and offline").
struct LiveFeedShift {
  std::uint64_t emg_first_sample = 0;  // device attached mid-stream: EMG sample counters start here
  std::uint64_t imu_first_sample = 0;  // the same instant on the IMU counters
  double startup_delay_s = 0.0;        // session time 0 is this long before the device's first sample
  bool send_clock = false;             // give the consumer the device→host fit (as the recorder does)
  double host_clock_at_start_s = 1000.0;
  double device_clock_at_first_sample_s = 7.0;
};

// The device→host fit that makes the feed's session times consistent with the shift: host = offset +
// device, the first EMG sample arriving startup_delay_s after session time 0.
inline ClockMapping shifted_clock(const LiveFeedShift& s) {
  ClockMapping m;
  m.offset_s = s.host_clock_at_start_s + s.startup_delay_s - s.device_clock_at_first_sample_s;
  m.slope = 1.0;
  m.windows = 10;
  return m;
}

inline void feed_live(pipeline::LiveAnalysis& live, const sim::SimulatedSession& session,
                      const LiveFeedShift& shift = {}) {
  live.on_device_info(session.device_info);
  if (shift.send_clock) live.on_clock(shift.host_clock_at_start_s, shifted_clock(shift));
  const double emg_rate = session.device_info.emg_rate_hz, imu_rate = session.device_info.imu[0].rate_hz;
  // The simulator lists IMU blocks sensor by sensor; a device interleaves them in time.
  std::vector<std::size_t> imu_order(session.imu.size());
  for (std::size_t j = 0; j < imu_order.size(); ++j) imu_order[j] = j;
  std::stable_sort(imu_order.begin(), imu_order.end(), [&](std::size_t a, std::size_t b) {
    return session.imu[a].first_sample + session.imu[a].samples() <
           session.imu[b].first_sample + session.imu[b].samples();
  });
  std::size_t e = 0, i = 0, k = 0;
  while (e < session.emg.size() || i < session.imu.size() || k < session.events.size()) {
    const double te =
        e < session.emg.size()
            ? static_cast<double>(session.emg[e].first_sample + session.emg[e].samples()) / emg_rate
            : 1e300;
    const double ti = i < session.imu.size() ? static_cast<double>(session.imu[imu_order[i]].first_sample +
                                                                   session.imu[imu_order[i]].samples()) /
                                                   imu_rate
                                             : 1e300;
    const double tk = k < session.events.size() ? session.events[k].time_s : 1e300;
    if (tk <= te && tk <= ti) {
      Event ev = session.events[k++];
      ev.time_s += shift.startup_delay_s;  // on the host session clock
      live.on_event(ev);
    } else if (te <= ti) {
      EmgBlock b = session.emg[e++];
      b.device_time_us = static_cast<std::uint64_t>(
          (shift.device_clock_at_first_sample_s + static_cast<double>(b.first_sample) / emg_rate) * 1e6 +
          0.5);
      b.first_sample += shift.emg_first_sample;
      live.on_emg(b);
    } else {
      ImuBlock b = session.imu[imu_order[i++]];
      b.first_sample += shift.imu_first_sample;
      live.on_imu(b);
    }
  }
}

}  // namespace glutescope::test
