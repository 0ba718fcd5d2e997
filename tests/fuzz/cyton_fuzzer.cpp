// libFuzzer harness for the OpenBCI Cyton decoder (CytonFramer + CytonDecoder), 8 channels or, with bit 0
// of the options byte, Cyton + Daisy (16). Input layout and the shared invariants: fuzz/device_fuzz.hpp.
// Cyton-specific: bytes in = 33 × packets framed + garbage bytes (after finish() nothing is pending);
// every framed packet is accepted, a duplicate, or a corrupt counter; EMG counts are 24-bit.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "devices/cyton_device.hpp"
#include "fuzz/device_fuzz.hpp"

namespace glutescope::devices {
namespace {

fuzz::Summary run(const fuzz::Input& input, bool split) {
  auto state = std::make_shared<CytonBoardState>();
  state->daisy = (input.options & 1u) != 0;
  state->firmware = "v3.1.2";
  // Bits 1-3: one gain for every channel (index into the ADS1299's gains), so µV per count varies.
  constexpr int kGains[] = {1, 2, 4, 6, 8, 12, 24, 24};
  state->gains.assign(state->daisy ? 16 : 8, kGains[(input.options >> 1) & 7u]);
  fuzz::CheckingSink sink({-(1 << 23), (1 << 23) - 1});
  CytonDecoder decoder(sink, state, 1000.0);
  const double host_s = fuzz::feed_records(decoder, input, split);

  const DecoderCounters c = decoder.counters();
  FUZZ_REQUIRE(c.bytes == kCytonPacketSize * c.packets + c.garbage_bytes);
  FUZZ_REQUIRE(c.duplicate_packets + c.other_bad_packets <= c.packets);
  // Index steps per accepted packet: an 8-bit counter moves at most 255 packets (a Daisy row is two
  // packets); an accelerometer window is 10 packets (its first value may come up to 9 packets late).
  const double rows_per_packet = state->daisy ? 128.0 : 256.0;
  const double emg_rate_hz = state->daisy ? kCytonRateHz / 2.0 : kCytonRateHz;
  sink.check_counters(
      c, {fuzz::LineBound{rows_per_packet, emg_rate_hz}, fuzz::LineBound{26.0, kCytonAccelRateHz}}, host_s);
  return fuzz::summarise(sink, decoder);
}

}  // namespace
}  // namespace glutescope::devices

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return glutescope::devices::fuzz::test_one_input(data, size, glutescope::devices::run);
}
