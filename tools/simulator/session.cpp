#include "simulator/session.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/core.h>

namespace glutescope::sim {

std::vector<std::int32_t> SimulatedSession::emg_counts() const {
  std::vector<std::int32_t> out;
  out.reserve(truth.emg_samples * montage.emg.size());
  for (const EmgBlock& b : emg) out.insert(out.end(), b.counts.begin(), b.counts.end());
  return out;
}

std::vector<std::int16_t> SimulatedSession::imu_accel(std::uint8_t sensor) const {
  std::vector<std::int16_t> out;
  for (const ImuBlock& b : imu) {
    if (b.sensor == sensor) out.insert(out.end(), b.accel.begin(), b.accel.end());
  }
  return out;
}

std::vector<std::int16_t> SimulatedSession::imu_gyro(std::uint8_t sensor) const {
  std::vector<std::int16_t> out;
  for (const ImuBlock& b : imu) {
    if (b.sensor == sensor) out.insert(out.end(), b.gyro.begin(), b.gyro.end());
  }
  return out;
}

DeviceInfo simulated_device_info(const SimulatorSettings& settings, const Montage& montage) {
  DeviceInfo info;
  info.device_id = settings.device_id;
  info.firmware_version = std::string("glutescope-sim ") + GLUTESCOPE_VERSION;
  info.serial_number = fmt::format("SIM-{:016X}", settings.seed);
  info.emg_format = SampleFormat::int16;
  info.emg_rate_hz = settings.emg_rate_hz;
  for (const EmgChannel& ch : montage.emg) info.emg.push_back({ch.label, ch.gain, ch.microvolts_per_count});
  for (const ImuSensor& s : montage.imu) {
    ImuInfo imu;  // ±8 g, ±2000 dps int16 defaults
    imu.label = s.label;
    imu.rate_hz = settings.imu_rate_hz;
    info.imu.push_back(imu);
  }
  return info;
}

SimulatedSession simulate(const SimulatorSettings& settings) {
  validate(settings);
  SimulatedSession session;
  session.settings = settings;
  session.montage = default_montage();
  const Montage& montage = session.montage;
  if (montage.imu.size() != 3) throw std::logic_error("the simulator models exactly three IMUs");
  if (settings.contaminants.lead_off_channel &&
      static_cast<std::size_t>(*settings.contaminants.lead_off_channel) >= montage.emg.size()) {
    throw std::invalid_argument(fmt::format("lead-off channel {} does not exist (the montage has {} channels)",
                                            *settings.contaminants.lead_off_channel, montage.emg.size()));
  }
  session.device_info = simulated_device_info(settings, montage);

  SessionTruth& truth = session.truth;
  truth.schedule = make_schedule(settings, montage);
  const Schedule& schedule = truth.schedule;

  EmgRender emg = render_emg(settings, montage, schedule);
  ImuRender imu = render_imu(settings, schedule);
  truth.emg_samples = emg.samples;
  truth.imu_samples = imu.samples;
  truth.emg_channels = std::move(emg.channel_truth);
  truth.gyro_bias_dps = imu.gyro_bias_dps;
  truth.rotation_axis_sensor = imu.rotation_axis_sensor;
  truth.imu_clipped_samples = imu.clipped_samples;
  truth.joint_angles = std::move(imu.angles);
  truth.ecg_beats_s = std::move(emg.ecg_beats_s);

  // EMG blocks of emg_samples_per_frame samples.
  const auto emg_rate = settings.emg_rate_hz;
  const auto per_emg = static_cast<std::size_t>(settings.emg_samples_per_frame);
  const std::size_t channels = emg.channels;
  for (std::size_t first = 0; first < emg.samples; first += per_emg) {
    const std::size_t count = std::min(per_emg, emg.samples - first);
    EmgBlock block;
    block.first_sample = first;
    block.channels = static_cast<std::uint32_t>(channels);
    block.device_time_us = static_cast<std::uint64_t>(std::llround(static_cast<double>(first) * 1e6 / emg_rate));
    block.counts.assign(emg.counts.begin() + static_cast<std::ptrdiff_t>(first * channels),
                        emg.counts.begin() + static_cast<std::ptrdiff_t>((first + count) * channels));
    session.emg.push_back(std::move(block));
  }
  const auto per_imu = static_cast<std::size_t>(settings.imu_samples_per_frame);
  for (std::uint8_t sensor = 0; sensor < 3; ++sensor) {
    for (std::size_t first = 0; first < imu.samples; first += per_imu) {
      const std::size_t count = std::min(per_imu, imu.samples - first);
      ImuBlock block;
      block.sensor = sensor;
      block.first_sample = first;
      block.device_time_us =
          static_cast<std::uint64_t>(std::llround(static_cast<double>(first) * 1e6 / settings.imu_rate_hz));
      const auto begin = static_cast<std::ptrdiff_t>(first * 3);
      const auto end = static_cast<std::ptrdiff_t>((first + count) * 3);
      block.accel.assign(imu.accel[sensor].begin() + begin, imu.accel[sensor].begin() + end);
      block.gyro.assign(imu.gyro[sensor].begin() + begin, imu.gyro[sensor].begin() + end);
      session.imu.push_back(std::move(block));
    }
  }

  session.events = schedule.markers;
  const Contaminants& c = settings.contaminants;
  if (c.lead_off_channel && c.lead_off_time_s < schedule.duration_s) {
    truth.lead_off = LeadOffTruth{*c.lead_off_channel, c.lead_off_time_s};
    Event e;
    e.time_s = c.lead_off_time_s;
    e.kind = EventKind::lead_off;
    e.channel = *c.lead_off_channel;
    const EmgChannel& ch = montage.emg[static_cast<std::size_t>(*c.lead_off_channel)];
    e.muscle = ch.muscle;
    e.side = ch.side;
    e.text = ch.label;
    session.events.push_back(e);
  }
  std::stable_sort(session.events.begin(), session.events.end(),
                   [](const Event& a, const Event& b) { return a.time_s < b.time_s; });
  return session;
}

}  // namespace glutescope::sim
