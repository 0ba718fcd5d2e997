// Session writer throughput: EMG blocks appended through SessionWriter with the crash journal on
// (journal write + fdatasync every 0.25 s, whole-chunk HDF5 writes, checkpoint every 5 s), as in recording.
// Reports bytes/s of raw counts and samples/s (rows × channels). Run: build/release/tools/bench/bench_store
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "store/session_writer.hpp"

namespace {

using namespace glutescope;

void BM_SessionWriterAppend(benchmark::State& state) {
  const auto channels = static_cast<std::size_t>(state.range(0));
  const double rate_hz = static_cast<double>(state.range(1));
  const int deflate = static_cast<int>(state.range(2));
  const std::size_t block_samples = static_cast<std::size_t>(rate_hz / 100.0);  // 10 ms frames
  DeviceInfo device;
  device.emg_rate_hz = rate_hz;
  Montage montage;
  for (std::size_t c = 0; c < channels; ++c) {
    device.emg.push_back({std::string("ch").append(std::to_string(c)), 1000.0, 0.1});
    montage.emg.push_back(
        {std::string("ch").append(std::to_string(c)), Muscle::other, Side::unknown, "", 1000.0, 0.1});
  }
  EmgBlock block;
  block.channels = static_cast<std::uint32_t>(channels);
  block.counts.resize(block_samples * channels);
  std::mt19937 rng(1);
  std::normal_distribution<double> noise(0.0, 300.0);  // EMG-like counts (not compressible to nothing)
  for (auto& v : block.counts) v = static_cast<std::int32_t>(noise(rng));
  const auto path =
      std::filesystem::temp_directory_path() / ("bench_store_" + std::to_string(::getpid()) + ".h5");
  store::SessionWriterOptions options;
  options.force = true;
  options.deflate_level = deflate;
  std::uint64_t rows = 0;
  {
    store::SessionWriter writer(path, device, montage, "bench", options);
    for (auto _ : state) {
      block.first_sample = rows;
      writer.append(block);
      rows += block_samples;
    }
    writer.close();
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<std::int64_t>(rows * channels * sizeof(std::int16_t)));
  state.SetItemsProcessed(static_cast<std::int64_t>(rows * channels));
  state.counters["rows/s"] = benchmark::Counter(static_cast<double>(rows), benchmark::Counter::kIsRate);
  state.counters["x_realtime"] =
      benchmark::Counter(static_cast<double>(rows) / rate_hz, benchmark::Counter::kIsRate);
}
// args: channels, rate (Hz), deflate level
BENCHMARK(BM_SessionWriterAppend)
    ->Args({8, 2000, 0})
    ->Args({256, 4000, 0})
    ->Args({256, 4000, 1})
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(2.0)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
