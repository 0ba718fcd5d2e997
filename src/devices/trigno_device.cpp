#include "devices/trigno_device.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

#include "core/device_info.hpp"
#include "devices/device_registry.hpp"
#include "devices/index_clock.hpp"

namespace glutescope::devices {
namespace {

constexpr std::array<std::size_t, 2> kSampleBytes = {trigno::kEmgSampleBytes, trigno::kAccSampleBytes};
const char* const kStreamName[2] = {"EMG", "accelerometer"};

std::int32_t clipped_emg(float v) {
  if (std::isnan(v)) return 0;
  return v > 0 ? std::numeric_limits<std::int32_t>::max() : std::numeric_limits<std::int32_t>::min();
}
std::int16_t clipped_acc(float v) {
  if (std::isnan(v)) return 0;
  return v > 0 ? std::numeric_limits<std::int16_t>::max() : std::numeric_limits<std::int16_t>::min();
}

CommandStep query(std::string text, std::vector<std::string> must_contain = {}, double timeout_s = 2.0) {
  CommandStep s;
  s.what = text;
  const std::string wire = trigno::command(text);
  s.bytes.assign(wire.begin(), wire.end());
  s.reply_until = std::string(trigno::kTerminator);
  s.reply_timeout_s = timeout_s;
  s.reply_must_contain = std::move(must_contain);
  return s;
}

}  // namespace

TrignoDecoder::TrignoDecoder(DeviceSink& sink, double session_start_host_s,
                             std::shared_ptr<const TrignoBaseState> base)
    : sink_(sink), session_start_host_s_(session_start_host_s), base_(std::move(base)) {
  emg_block_.channels = trigno::kSensors;
  for (std::size_t s = 0; s < trigno::kSensors; ++s) acc_blocks_[s].sensor = static_cast<std::uint8_t>(s);
  counters_.loss_detection = LossDetection::none;
}

void TrignoDecoder::start(double host_time_s) noexcept {
  started_ = true;
  rate_hz_ = {base_->emg_rate_hz(), base_->acc_rate_hz()};
  DeviceInfo info;
  info.protocol_version = 0;
  info.firmware_version = "SDK protocol " + base_->protocol_version;
  info.serial_number = "Trigno";
  info.emg_format = SampleFormat::int24;  // stored as int32
  info.emg_rate_hz = rate_hz_[emg];
  std::string paired;
  for (std::size_t s = 0; s < trigno::kSensors; ++s) {
    info.emg.push_back({fmt::format("sensor {}", s + 1), 1.0, trigno::kEmgMicrovoltsPerCount});
    ImuInfo imu;
    imu.label = fmt::format("sensor {} accelerometer", s + 1);
    imu.rate_hz = rate_hz_[acc];
    imu.accel_range_g = trigno::kAccRangeG;
    imu.accel_g_per_count = trigno::kAccGPerCount;
    imu.gyro_range_dps = 0.0;
    imu.gyro_dps_per_count = 0.0;
    info.imu.push_back(imu);
    if (base_->paired[s]) paired += fmt::format("{}{}", paired.empty() ? "" : ", ", s + 1);
  }
  sink_.on_device_info(info);
  note(fmt::format(
           "Trigno SDK data carry no sample counter or timestamp: lost samples cannot be detected, only "
           "byte counts are checked (EMG {:.3f} Hz, accelerometer {:.3f} Hz; paired sensors: {})",
           rate_hz_[emg], rate_hz_[acc], paired.empty() ? "none" : paired),
       host_time_s);
}

void TrignoDecoder::feed(std::size_t stream, std::span<const std::uint8_t> bytes,
                         double host_time_s) noexcept {
  counters_.bytes += bytes.size();
  last_feed_s_ = host_time_s;
  if (stream == 0) {
    bytes_.command += bytes.size();
    return;
  }
  if (stream > 2) {
    counters_.garbage_bytes += bytes.size();
    return;
  }
  if (!started_) start(host_time_s);
  const auto kind = static_cast<Kind>(stream - 1);
  bytes_.data[kind] += bytes.size();
  const std::size_t size = kSampleBytes[kind];
  if (resuming(kind) && host_time_s != *resumed_at_s_[kind]) settle_reconnect(kind);
  if (restarted_[kind]) {
    restarted_[kind] = false;
    resumed_at_s_[kind] = host_time_s;
    resumed_samples_[kind] = 0;
  }
  for (const std::uint8_t b : bytes) {
    partial_[kind][fill_[kind]++] = b;
    if (fill_[kind] == size) {
      sample(kind, host_time_s);
      fill_[kind] = 0;
    }
  }
  last_arrival_s_[kind] = host_time_s;
  flush(host_time_s);
}

void TrignoDecoder::sample(Kind kind, double host_time_s) noexcept {
  const std::uint8_t* p = partial_[kind].data();
  bool bad = false;
  if (kind == emg) {
    if (emg_block_.counts.empty()) emg_block_.first_sample = next_index_[emg];
    for (std::size_t s = 0; s < trigno::kSensors; ++s) {
      const float v = trigno::read_float_le(p + 4 * s);
      const auto c = trigno::emg_count(v);
      bad |= !c;
      emg_block_.counts.push_back(c ? *c : clipped_emg(v));
    }
  } else {
    for (std::size_t s = 0; s < trigno::kSensors; ++s) {
      ImuBlock& b = acc_blocks_[s];
      if (b.accel.empty()) b.first_sample = next_index_[acc];
      for (std::size_t axis = 0; axis < 3; ++axis) {
        const float v = trigno::read_float_le(p + 4 * (3 * s + axis));
        const auto c = trigno::acc_count(v);
        bad |= !c;
        b.accel.push_back(c ? *c : clipped_acc(v));
        b.gyro.push_back(0);
      }
    }
  }
  ++next_index_[kind];
  ++resumed_samples_[kind];  // read only while resuming
  ++bytes_.samples[kind];
  ++counters_.packets;
  if (bad) {
    ++bytes_.bad_samples[kind];
    ++counters_.other_bad_packets;
  }
  (void)host_time_s;
}

// The base restarted its stream after a reconnect: the samples it produced while the link was away were
// never sent and nothing in the data says how many; the host clock at the nominal rate gives an estimate.
// The samples decoded since the first arrival (held back, not yet flushed) move up by the estimate.
void TrignoDecoder::settle_reconnect(Kind kind) noexcept {
  const double resumed_at_s = *resumed_at_s_[kind];
  resumed_at_s_[kind].reset();
  const double away =
      (resumed_at_s - away_since_s_[kind]) * rate_hz_[kind] - static_cast<double>(resumed_samples_[kind]);
  const auto missed = static_cast<std::uint64_t>(std::llround(std::max(0.0, away)));
  if (missed == 0) return;
  const std::uint64_t start = next_index_[kind] - resumed_samples_[kind];
  ++counters_.gaps;
  if (kind == emg) {
    sink_.on_gap({StreamKind::emg, 0, start, missed, resumed_at_s});
    counters_.emg_lost_samples += missed;
    if (!emg_block_.counts.empty()) emg_block_.first_sample += missed;
  } else {
    for (std::size_t s = 0; s < trigno::kSensors; ++s) {
      sink_.on_gap({StreamKind::imu, static_cast<std::uint8_t>(s), start, missed, resumed_at_s});
      counters_.imu_lost_samples[s] += missed;
      if (!acc_blocks_[s].accel.empty()) acc_blocks_[s].first_sample += missed;
    }
  }
  next_index_[kind] += missed;
  note(fmt::format(
           "Trigno {} stream resumed after a reconnect: the {} samples missed were estimated from the host "
           "clock at {:.3f} Hz",
           kStreamName[kind], missed, rate_hz_[kind]),
       resumed_at_s);
}

void TrignoDecoder::flush(double host_time_s) noexcept {
  const auto device_us = [](std::uint64_t index, double rate) { return index_time_us(index, rate); };
  if (!emg_block_.counts.empty() && !resuming(emg)) {
    emg_block_.device_time_us = device_us(emg_block_.first_sample, rate_hz_[emg]);
    emg_block_.host_time_s = host_time_s;
    clock_.add(device_us(emg_block_.first_sample + emg_block_.samples() - 1, rate_hz_[emg]), host_time_s);
    counters_.emg_samples += emg_block_.samples();
    sink_.on_emg(emg_block_);
    emg_block_.counts.clear();
  }
  for (std::size_t s = 0; s < trigno::kSensors && !resuming(acc); ++s) {
    ImuBlock& b = acc_blocks_[s];
    if (b.accel.empty()) continue;
    b.device_time_us = device_us(b.first_sample, rate_hz_[acc]);
    b.host_time_s = host_time_s;
    counters_.imu_samples[s] += b.samples();
    sink_.on_imu(b);
    b.accel.clear();
    b.gyro.clear();
  }
}

void TrignoDecoder::note(std::string text, double host_time_s) noexcept {
  emit_note(sink_, session_start_host_s_, std::move(text), host_time_s);
}

void TrignoDecoder::reset() noexcept {
  for (const Kind kind : {emg, acc}) {
    if (resuming(kind)) settle_reconnect(kind);
  }
  flush(last_feed_s_);
  for (std::size_t k = 0; k < 2; ++k) {
    bytes_.cut_bytes[k] += fill_[k];
    counters_.garbage_bytes += fill_[k];
    fill_[k] = 0;
    if (bytes_.samples[k] > 0) {
      restarted_[k] = true;
      away_since_s_[k] = last_arrival_s_[k];
    }
  }
}

void TrignoDecoder::finish() noexcept {
  reset();
  for (auto& r : restarted_) r = false;
  if (!started_) return;
  note(fmt::format(
           "Trigno byte counts: EMG {} bytes = {} samples of {} bytes, accelerometer {} bytes = {} samples "
           "of {} bytes; {} + {} bytes of samples cut off by disconnects; {} + {} samples with values no "
           "sensor gives; lost samples undetectable",
           bytes_.data[emg], bytes_.samples[emg], trigno::kEmgSampleBytes, bytes_.data[acc],
           bytes_.samples[acc], trigno::kAccSampleBytes, bytes_.cut_bytes[emg], bytes_.cut_bytes[acc],
           bytes_.bad_samples[emg], bytes_.bad_samples[acc]),
       last_feed_s_);
}

TrignoDriver::TrignoDriver() : base_(std::make_shared<TrignoBaseState>()) {}

const DeviceDescription& TrignoDriver::description() const noexcept {
  static const DeviceDescription d = trigno_description();
  return d;
}

std::vector<CommandStep> TrignoDriver::connect_steps() {
  std::vector<CommandStep> steps;
  CommandStep greeting;
  greeting.what = "the command port's greeting";
  greeting.reply_until = std::string(trigno::kTerminator);
  greeting.reply_timeout_s = 3.0;
  greeting.reply_must_contain = {std::string(trigno::kGreetingPrefix)};
  steps.push_back(greeting);
  steps.push_back(query("ENDIANNESS?", {"LITTLE"}));
  steps.push_back(query("FRAME INTERVAL?"));
  steps.push_back(query("MAX SAMPLES EMG?"));
  steps.push_back(query("MAX SAMPLES AUX?"));
  for (std::size_t s = 1; s <= trigno::kSensors; ++s)
    steps.push_back(query(fmt::format("SENSOR {} PAIRED?", s)));
  return steps;
}

std::vector<CommandStep> TrignoDriver::start_steps() {
  return {query("START", {"OK"}, 5.0)};  // the base takes a few seconds to start (BCI2000 DelsysTrigno)
}

std::vector<CommandStep> TrignoDriver::stop_steps() { return {query("STOP")}; }

void TrignoDriver::check_reply(const CommandStep& step, std::string_view reply) {
  const auto refuse = [&](std::string_view expected) {
    throw DeviceReplyError(fmt::format("trigno: {} answered '{}', expected {}", step.what,
                                       printable_reply(trigno::reply_text(reply), 60), expected));
  };
  if (step.bytes.empty()) {
    DeviceDriver::check_reply(step, reply);
    base_->protocol_version = trigno::greeting_version(reply).value_or("");
    return;
  }
  const std::string_view what = step.what;
  if (what == "FRAME INTERVAL?" || what == "MAX SAMPLES EMG?" || what == "MAX SAMPLES AUX?") {
    const auto v = trigno::number_reply(reply);
    if (what == "FRAME INTERVAL?") {
      if (!v || *v >= 1.0) refuse("a frame interval in seconds between 0 and 1");
      base_->frame_interval_s = *v;
    } else {
      if (!v || *v > 1000.0 || *v != std::floor(*v)) refuse("a whole number of samples per frame, 1 to 1000");
      (what == "MAX SAMPLES EMG?" ? base_->emg_samples_per_frame : base_->aux_samples_per_frame) =
          static_cast<unsigned>(*v);
    }
    // The rates these make (with what is known so far, the SDK defaults until learned) must be ones a
    // session can store: 26 samples per 1e-7 s is a damaged reply, not a Trigno (real bases: 1926 or
    // 2000 Hz EMG, 148 Hz accelerometer).
    using L = DeviceInfoLimits;
    const double emg_hz = base_->emg_rate_hz(), acc_hz = base_->acc_rate_hz();
    if (!(emg_hz >= L::min_rate_hz && emg_hz <= L::max_emg_rate_hz && acc_hz >= L::min_rate_hz &&
          acc_hz <= L::max_imu_rate_hz)) {
      refuse(fmt::format(
          "a frame interval and samples per frame giving {} to {} Hz EMG and {} to {} Hz "
          "accelerometer (these give {:g} and {:g} Hz)",
          L::min_rate_hz, L::max_emg_rate_hz, L::min_rate_hz, L::max_imu_rate_hz, emg_hz, acc_hz));
    }
    return;
  }
  if (what.substr(0, 7) == "SENSOR " && what.substr(what.size() - 8) == " PAIRED?") {
    const std::string_view text = trigno::reply_text(reply);
    if (text != "YES" && text != "NO") refuse("'YES' or 'NO'");
    const auto n = static_cast<std::size_t>(std::stoul(std::string(what.substr(7))));
    base_->paired.at(n - 1) = text == "YES";
    return;
  }
  DeviceDriver::check_reply(step, reply);
}

std::unique_ptr<DeviceDecoder> TrignoDriver::make_decoder(DeviceSink& sink, double session_start_host_s) {
  return std::make_unique<TrignoDecoder>(sink, session_start_host_s, base_);
}

DeviceDescription trigno_description() {
  DeviceDescription d;
  d.name = "trigno";
  d.title = "Delsys Trigno (SDK TCP server)";
  d.link = LinkKind::tcp;
  d.default_base_port = trigno::kDefaultBasePort;
  d.streams = {{"commands", 0}, {"EMG", trigno::kEmgPortOffset}, {"accelerometer", trigno::kAccPortOffset}};
  d.emg_channels = trigno::kSensors;
  d.emg_rates =
      "1925.926 Hz (26 samples per 13.5 ms frame; 2000 Hz with UPSAMPLE ON), from the base's replies";
  d.emg_rate_hz = trigno::kEmgSamplesPerFrame / trigno::kFrameIntervalS;
  d.emg_unit = "uV";
  d.emg_scale = "float32 little-endian volts, stored as int32 counts of 10 nV (0.01 uV)";
  d.motion = {{"16 sensor accelerometers (3 axes each)",
               trigno::kAccSamplesPerFrame / trigno::kFrameIntervalS, true, false, false, "g"}};
  d.loss_detection = LossDetection::none;
  d.losses_detected = "byte counts only: samples cut off by a disconnect, values no sensor gives";
  d.losses_undetectable =
      "lost samples: the SDK data have no counter or timestamp; the gap over a reconnect is "
      "estimated from the host clock";
  d.clock = "none: device time from the sample index at the rate the base reports";
  d.source =
      "Delsys Trigno SDK User's Guide MAN-025-1-0 (6.1 Data Ports, 6.2 Packet Structure, commands); "
      "axopy/pytrigno; BCI2000 DelsysTrigno";
  return d;
}

}  // namespace glutescope::devices
