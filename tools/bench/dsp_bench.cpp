// DSP throughput in channel-samples per second (Google Benchmark).
//   Live chain: band-pass 20-450 Hz (order 4 -> 4 sections) + 50 Hz mains notch with 3 harmonics
//   (4 sections) + 50 ms moving RMS, streamed through process_interleaved in 100-row blocks.
//   Offline chain: sosfiltfilt_interleaved with the same 8 sections over 10 s at 2 kHz.
// tools/bench/compare.py runs these next to scipy.signal.sosfilt/sosfiltfilt (docs/PERFORMANCE.md).
#include <benchmark/benchmark.h>

#include <cstddef>
#include <random>
#include <vector>

#include "dsp/envelope.hpp"
#include "dsp/filter_design.hpp"
#include "dsp/sos_filter.hpp"
#include "dsp/zero_phase.hpp"

namespace {

using namespace glutescope::dsp;

constexpr double kRate = 2000.0;

SosCoefficients chain_sos() {
  return concatenate(butterworth_bandpass(4, 20.0, 450.0, kRate),
                     mains_notch_sos({.mains_hz = 50.0, .quality = 20.0, .harmonics = 3}, kRate));
}

std::vector<double> test_signal(std::size_t samples, std::size_t channels) {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::vector<double> x(samples * channels);
  for (double& v : x) v = gauss(rng);
  return x;
}

void BM_LiveChain(benchmark::State& state) {
  const auto channels = static_cast<std::size_t>(state.range(0));
  constexpr std::size_t block_rows = 100;  // 50 ms at 2 kHz
  SosFilter filter(chain_sos(), channels);
  MovingRms rms({.window_ms = 50.0}, kRate, channels);
  const auto x = test_signal(block_rows * 64, channels);
  std::vector<double> y(block_rows * channels);
  // Run past the start-up transient so the measured path is the steady-state one.
  for (std::size_t b = 0; b < 64; ++b) {
    const std::span in(x.data() + b * block_rows * channels, block_rows * channels);
    filter.process_interleaved(in, y);
    rms.process_interleaved(y, y);
  }
  std::size_t b = 0;
  for (auto _ : state) {
    const std::span in(x.data() + b * block_rows * channels, block_rows * channels);
    filter.process_interleaved(in, y);
    rms.process_interleaved(y, y);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
    b = (b + 1) % 64;
  }
  state.counters["ch_samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * block_rows * channels), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_LiveChain)->Arg(8)->Arg(16)->Arg(64)->Arg(256);

// Offline zero-phase chain; args: channels, seconds at 2 kHz.
void BM_OfflineZeroPhase(benchmark::State& state) {
  const auto channels = static_cast<std::size_t>(state.range(0));
  const auto samples = static_cast<std::size_t>(state.range(1)) * static_cast<std::size_t>(kRate);
  const SosCoefficients sos = chain_sos();
  const auto x = test_signal(samples, channels);
  for (auto _ : state) {
    auto y = sosfiltfilt_interleaved(sos, x, channels);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["ch_samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * samples * channels), benchmark::Counter::kIsRate);
}
// 8, 16, 64 and 256 channels (tools/bench/compare.py's rows), 10 s each, and 1 s for compare.py --quick.
BENCHMARK(BM_OfflineZeroPhase)->ArgsProduct({{8, 16, 64, 256}, {1, 10}})->Unit(benchmark::kMillisecond);

// One channel, per-sample calls: the cost of the scalar API.
void BM_SingleChannelPerSample(benchmark::State& state) {
  SosFilter filter(chain_sos());
  const auto x = test_signal(4096, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(filter.process(x[i]));
    i = (i + 1) & 4095;
  }
  state.counters["ch_samples_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SingleChannelPerSample);

}  // namespace

// BENCHMARK_MAIN with the SOS kernel variant the runtime dispatch picked in the report's context (compare.py
// prints it next to the figures).
int main(int argc, char** argv) {
  benchmark::AddCustomContext("sos_kernel", detail::sos_kernel_isa());
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
