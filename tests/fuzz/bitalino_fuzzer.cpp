// libFuzzer harness for the BITalino (r)evolution decoder (CRC-4 frames, 4-bit sequence number, resync by
// one byte). The options byte chooses the settings: bits 0-1 the rate (1, 10, 100, 1000 Hz), bits 2-7 the
// analog inputs A1-A6 in use (none: the default A1-A5); with bit 7 of the chunking seed the highest input
// in use (of two or more) carries the accelerometer, else all are EMG. Input layout and the shared
// invariants: fuzz/device_fuzz.hpp. BITalino-specific: bytes in = frame size × frames + garbage bytes;
// EMG counts are 10-bit ADC codes centred on 512, accelerometer counts 2·ADC10 − (Cmin + Cmax).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "devices/bitalino_device.hpp"
#include "fuzz/device_fuzz.hpp"

namespace glutescope::devices {
namespace {

BitalinoSettings settings_of(const fuzz::Input& input) {
  constexpr unsigned kRates[] = {1, 10, 100, 1000};
  BitalinoSettings s;
  s.rate_hz = kRates[input.options & 3u];
  const unsigned mask = input.options >> 2;
  if (mask == 0) return s;  // the default: EMG on A1-A4, accelerometer on A5
  std::size_t highest = 0, used = 0;
  for (std::size_t i = 0; i < bitalino::kAnalogInputs; ++i) {
    const bool on = (mask & (1u << i)) != 0;
    s.inputs[i] = on ? BitalinoInput::emg : BitalinoInput::unused;
    if (on) highest = i, ++used;
  }
  if (used >= 2 && (input.seed & 0x80u) != 0) s.inputs[highest] = BitalinoInput::accelerometer;
  return s;
}

fuzz::Summary run(const fuzz::Input& input, bool split) {
  const BitalinoSettings settings = settings_of(input);
  const bitalino::AccCalibration cal = settings.acc;
  fuzz::CheckingSink sink({-512, 511, -(cal.c_min + cal.c_max), 2 * 1023 - (cal.c_min + cal.c_max)});
  BitalinoDecoder decoder(sink, 1000.0, settings, std::make_shared<const std::string>("BITalino_v5.1"));
  const double host_s = fuzz::feed_records(decoder, input, split);

  const DecoderCounters c = decoder.counters();
  const std::size_t frame = bitalino::frame_size(bitalino::channel_count(settings.mask()));
  FUZZ_REQUIRE(c.bytes == frame * c.packets + c.garbage_bytes);
  FUZZ_REQUIRE(c.lost_packets <= 15 * c.packets);
  // A 4-bit sequence number moves at most 16 samples per accepted frame; a restart is estimated from the
  // host clock at the nominal rate.
  const fuzz::LineBound bound{16.0, static_cast<double>(settings.rate_hz)};
  sink.check_counters(c, {bound, bound}, host_s);
  return fuzz::summarise(sink, decoder);
}

}  // namespace
}  // namespace glutescope::devices

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return glutescope::devices::fuzz::test_one_input(data, size, glutescope::devices::run);
}
