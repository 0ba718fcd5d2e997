// Cyton decoder throughput (docs/DEVICES.md "Performance"): MB/s and packets/s of CytonDecoder::feed
// over an emulated stream (tools/simulator encoder) fed in 4 KiB chunks, to a sink that only counts.
// Plain Cyton and Cyton + Daisy; a stream with 1 % garbage bytes measures the resynchronisation path.
#include <benchmark/benchmark.h>

#include <memory>
#include <random>
#include <vector>

#include "devices/cyton_device.hpp"
#include "simulator/cyton_emulator.hpp"

namespace {

using namespace glutescope;

struct CountingSink final : devices::DeviceSink {
  std::uint64_t rows = 0;
  void on_device_info(const DeviceInfo&) override {}
  void on_emg(const EmgBlock& b) override { rows += b.samples(); }
  void on_imu(const ImuBlock&) override {}
  void on_gap(const Gap&) override {}
  void on_event(const Event&) override {}
};

// 60 s of packets (15000) with channel values that change every packet and accelerometer every 10th.
std::vector<std::uint8_t> stream(double garbage_fraction) {
  std::mt19937 rng(3);
  std::vector<std::uint8_t> s;
  for (std::uint32_t k = 0; k < 15000; ++k) {
    std::array<std::int32_t, 8> ch{};
    for (auto& c : ch) c = static_cast<std::int32_t>(rng() % 200000) - 100000;
    std::array<std::uint8_t, 6> aux{};
    if (k % 10 == 0) aux = {0x1F, 0x40, 0x00, 0x10, 0xFF, 0x38};
    const auto p = sim::encode_cyton_packet(static_cast<std::uint8_t>(k), ch, aux);
    if (garbage_fraction > 0.0 && k % 100 == 50) {
      for (int i = 0; i < static_cast<int>(33 * 100 * garbage_fraction); ++i) {
        std::uint8_t b = 0;
        do b = static_cast<std::uint8_t>(rng());
        while (b == 0xA0);
        s.push_back(b);
      }
    }
    s.insert(s.end(), p.begin(), p.end());
  }
  return s;
}

void decode(benchmark::State& state, bool daisy, double garbage) {
  const auto bytes = stream(garbage);
  auto board = std::make_shared<devices::CytonBoardState>();
  board->daisy = daisy;
  std::uint64_t packets = 0;
  for (auto _ : state) {
    CountingSink sink;
    devices::CytonDecoder decoder(sink, board, 0.0);
    for (std::size_t at = 0; at < bytes.size(); at += 4096) {
      const std::size_t n = std::min<std::size_t>(4096, bytes.size() - at);
      decoder.feed(0, std::span<const std::uint8_t>(bytes.data() + at, n), 1.0);
    }
    decoder.finish();
    packets += decoder.counters().packets;
    benchmark::DoNotOptimize(sink.rows);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.counters["packets/s"] = benchmark::Counter(static_cast<double>(packets), benchmark::Counter::kIsRate);
}

void BM_CytonDecode(benchmark::State& s) { decode(s, false, 0.0); }
void BM_CytonDaisyDecode(benchmark::State& s) { decode(s, true, 0.0); }
void BM_CytonDecodeWithGarbage(benchmark::State& s) { decode(s, false, 0.01); }
BENCHMARK(BM_CytonDecode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CytonDaisyDecode)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CytonDecodeWithGarbage)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
