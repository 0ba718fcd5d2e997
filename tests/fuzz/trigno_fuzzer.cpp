// libFuzzer harness for the Delsys Trigno driver and decoder: first the command port's replies, judged by
// TrignoDriver::check_reply as the recorder does, then (if every reply was accepted) the three byte
// streams into the decoder it makes. Input: the 3-byte header of fuzz/device_fuzz.hpp, then one reply per
// connect and start step (greeting, ENDIANNESS?, FRAME INTERVAL?, MAX SAMPLES EMG?, MAX SAMPLES AUX?,
// SENSOR 1..16 PAIRED?, START), each up to and including its <CR><LF><CR><LF>, then the records (stream
// 0 commands, 1 EMG, 2 accelerometer, 3 unknown).
// Invariants: a reply is accepted or refused with DeviceReplyError (nothing else thrown); the accepted
// replies make a DeviceInfo that device_info_problem accepts; the shared stream invariants
// (device_fuzz.hpp); bytes in = command bytes + 64 × EMG samples + 192 × accelerometer samples + garbage.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "devices/trigno_device.hpp"
#include "fuzz/device_fuzz.hpp"

namespace glutescope::devices {
namespace {

// Runs the handshake on the replies at the start of `data`; the bytes after them, or nullopt when a reply
// is missing (the recorder would time out) or refused.
std::optional<std::span<const std::uint8_t>> handshake(TrignoDriver& driver,
                                                       std::span<const std::uint8_t> data) {
  std::vector<CommandStep> steps = driver.connect_steps();
  for (CommandStep& s : driver.start_steps()) steps.push_back(std::move(s));
  for (const CommandStep& step : steps) {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    const std::size_t end = text.find(step.reply_until);
    if (step.reply_until.empty() || end == std::string_view::npos) return std::nullopt;
    const std::size_t length = end + step.reply_until.size();
    try {
      driver.check_reply(step, text.substr(0, length));
    } catch (const DeviceReplyError&) {
      return std::nullopt;
    }
    data = data.subspan(length);
  }
  return data;
}

fuzz::Summary run(std::span<const std::uint8_t> data, bool split) {
  TrignoDriver driver;
  const auto rest = handshake(driver, data.subspan(3));
  if (!rest) return {};
  const fuzz::Input input{data[0], data[1], data[2] * 0.01, fuzz::parse_records(*rest)};
  fuzz::CheckingSink sink({INT32_MIN, INT32_MAX, INT16_MIN, INT16_MAX});
  const std::unique_ptr<DeviceDecoder> made = driver.make_decoder(sink, 1000.0);
  auto& decoder = dynamic_cast<TrignoDecoder&>(*made);
  const double host_s = fuzz::feed_records(decoder, input, split);

  const DecoderCounters c = decoder.counters();
  const TrignoDecoder::ByteCounts& b = decoder.byte_counts();
  FUZZ_REQUIRE(c.packets == b.samples[0] + b.samples[1]);
  FUZZ_REQUIRE(c.bytes == b.command + trigno::kEmgSampleBytes * b.samples[0] +
                              trigno::kAccSampleBytes * b.samples[1] + c.garbage_bytes);
  if (!sink.info) return fuzz::summarise(sink, decoder);  // no data bytes: nothing to bound
  // No counter: one sample per sample received, plus the host-clock estimate after a reconnect.
  sink.check_counters(
      c, {fuzz::LineBound{1.0, sink.info->emg_rate_hz}, fuzz::LineBound{1.0, sink.info->imu[0].rate_hz}},
      host_s);
  return fuzz::summarise(sink, decoder);
}

}  // namespace
}  // namespace glutescope::devices

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glutescope::devices;
  if (size < 3) return 0;
  const std::span<const std::uint8_t> input(data, size);
  FUZZ_REQUIRE(run(input, false) == run(input, true));
  return 0;
}
