// Decoder throughput of the third-party devices (docs/DEVICES.md "Performance"): bytes fed in 4 KiB
// chunks into the BITalino and Trigno decoders with a sink that only counts, reported as bytes/s and
// packets/s (items). Run: build/release/bench_devices.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "devices/bitalino_device.hpp"
#include "devices/trigno_device.hpp"

namespace {

using namespace glutescope;

struct CountingSink final : devices::DeviceSink {
  std::uint64_t rows = 0;
  void on_device_info(const DeviceInfo&) override {}
  void on_emg(const EmgBlock& b) override { rows += b.samples(); }
  void on_imu(const ImuBlock& b) override { rows += b.samples(); }
  void on_gap(const Gap&) override {}
  void on_event(const Event&) override {}
};

void BM_BitalinoDecode(benchmark::State& state) {
  namespace bit = devices::bitalino;
  std::mt19937 rng(1);
  std::vector<std::uint8_t> wire;
  const std::size_t frames = 100000;
  for (std::size_t k = 0; k < frames; ++k) {
    bit::Frame f;
    f.sequence = static_cast<std::uint8_t>(k & 15);
    for (std::size_t p = 0; p < 5; ++p)
      f.analog[p] = static_cast<std::uint16_t>(rng() & (p < 4 ? 0x3FF : 0x3F));
    std::uint8_t w[8];
    wire.insert(wire.end(), w, w + bit::pack(f, 5, w));
  }
  for (auto _ : state) {
    CountingSink sink;
    devices::BitalinoDecoder d(sink, 0.0, {}, nullptr);
    for (std::size_t i = 0; i < wire.size(); i += 4096)
      d.feed(0, {wire.data() + i, std::min<std::size_t>(4096, wire.size() - i)}, 1.0);
    d.finish();
    benchmark::DoNotOptimize(sink.rows);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * frames));
}
BENCHMARK(BM_BitalinoDecode)->Unit(benchmark::kMillisecond);

void BM_TrignoDecodeEmg(benchmark::State& state) {
  const std::size_t samples = 20000;
  std::vector<std::uint8_t> wire(samples * devices::trigno::kEmgSampleBytes);
  std::mt19937 rng(2);
  for (std::size_t i = 0; i + 4 <= wire.size(); i += 4)
    devices::trigno::write_float_le(static_cast<float>((static_cast<int>(rng() % 2000) - 1000) * 1e-6),
                                    &wire[i]);
  const auto base = std::make_shared<devices::TrignoBaseState>();
  for (auto _ : state) {
    CountingSink sink;
    devices::TrignoDecoder d(sink, 0.0, base);
    for (std::size_t i = 0; i < wire.size(); i += 4096)
      d.feed(1, {wire.data() + i, std::min<std::size_t>(4096, wire.size() - i)}, 1.0);
    benchmark::DoNotOptimize(sink.rows);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * wire.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * samples));
}
BENCHMARK(BM_TrignoDecodeEmg)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
