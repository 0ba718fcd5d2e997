// machine_limits: the limits of one core that bound the SOS filter chains (tools/bench/compare.py,
// docs/PERFORMANCE.md).
//   1. Peak double-precision multiply-add throughput, flop/s: independent chains acc = acc * m + a (2 flops
//      per element), enough of them to cover the add/multiply latency, written with intrinsics for each
//      instruction set the CPU has; both fused (FMA) and separate multiply and add, because the dsp kernels
//      are built with -ffp-contract=off and never fuse (docs/DSP.md: FMA would change rounding).
//   2. Memory bandwidth of one core, byte/s: a STREAM triad a[i] = b[i] + s * c[i] over three arrays far
//      larger than the last-level cache; bytes counted as STREAM does (24 per element, no write-allocate).
// Each figure is the best of several timed runs (a peak is a maximum; a shared machine only lowers it).
// Usage: machine_limits [--quick] [--json]
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace {

// CPU time of the calling thread (s): on a shared machine, time spent waiting for a core is not counted, as
// in the other figures compare.py prints (Google Benchmark's cpu_time, Python's time.thread_time).
double thread_cpu_s() {
  timespec t{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

// Chains per variant: latency (4 cycles on current x86 for add, multiply and FMA; 3 for Zen) times the
// number of pipes (2), with margin. Separate multiply and add double the chain length, hence more chains.
constexpr int kChains = 12;

// Each kernel runs `iterations` steps of kChains independent vector multiply-adds and returns a value that
// depends on every chain (so nothing is optimised away). acc converges to a / (1 - m) = 2: no overflow and
// no denormals, whose slow path would understate the peak.
#define GS_PEAK_KERNEL(NAME, TARGET, VEC, SET1, STEP, REDUCE_LANE)              \
  __attribute__((target(TARGET))) double NAME(long iterations) {                \
    VEC acc[kChains];                                                           \
    const VEC m = SET1(0.5);                                                    \
    const VEC a = SET1(1.0);                                                    \
    for (int k = 0; k < kChains; ++k) acc[k] = SET1(static_cast<double>(k));    \
    for (long i = 0; i < iterations; ++i) {                                     \
      _Pragma("GCC unroll 16") for (int k = 0; k < kChains; ++k) acc[k] = STEP; \
    }                                                                           \
    double sum = 0.0;                                                           \
    for (int k = 0; k < kChains; ++k) sum += REDUCE_LANE(acc[k]);               \
    return sum;                                                                 \
  }

GS_PEAK_KERNEL(sse2_muladd, "sse2", __m128d, _mm_set1_pd, _mm_add_pd(_mm_mul_pd(acc[k], m), a), _mm_cvtsd_f64)
GS_PEAK_KERNEL(avx2_muladd, "avx2", __m256d, _mm256_set1_pd, _mm256_add_pd(_mm256_mul_pd(acc[k], m), a),
               _mm256_cvtsd_f64)
GS_PEAK_KERNEL(avx2_fma, "avx2,fma", __m256d, _mm256_set1_pd, _mm256_fmadd_pd(acc[k], m, a), _mm256_cvtsd_f64)
GS_PEAK_KERNEL(avx512_muladd, "avx512f", __m512d, _mm512_set1_pd, _mm512_add_pd(_mm512_mul_pd(acc[k], m), a),
               _mm512_cvtsd_f64)
GS_PEAK_KERNEL(avx512_fma, "avx512f,fma", __m512d, _mm512_set1_pd, _mm512_fmadd_pd(acc[k], m, a),
               _mm512_cvtsd_f64)
#undef GS_PEAK_KERNEL

struct PeakVariant {
  const char* name;
  const char* cpu_feature;  // __builtin_cpu_supports name
  const char* cpu_feature2;
  int lanes;  // doubles per vector
  bool fused;
  double (*kernel)(long);
};

const PeakVariant kVariants[] = {
    {"sse2 mul+add", "sse2", "sse2", 2, false, sse2_muladd},
    {"avx2 mul+add", "avx2", "avx2", 4, false, avx2_muladd},
    {"avx2 fma", "avx2", "fma", 4, true, avx2_fma},
    {"avx512 mul+add", "avx512f", "avx512f", 8, false, avx512_muladd},
    {"avx512 fma", "avx512f", "fma", 8, true, avx512_fma},
};

bool supported(const char* feature) {
  // __builtin_cpu_supports needs a string literal, so each feature name is spelt out.
  const std::string f = feature;
  if (f == "sse2") return __builtin_cpu_supports("sse2");
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "avx512f") return __builtin_cpu_supports("avx512f");
  return false;
}

// flop/s of one variant: best of `runs`, each about `run_s` long.
double peak_flops(const PeakVariant& v, int runs, double run_s) {
  long iterations = 1 << 16;
  // Calibrate so that one run lasts about run_s.
  for (;;) {
    const double t0 = thread_cpu_s();
    volatile double sink = v.kernel(iterations);
    (void)sink;
    const double dt = thread_cpu_s() - t0;
    if (dt > run_s / 4) {
      iterations = static_cast<long>(static_cast<double>(iterations) * run_s / dt);
      break;
    }
    iterations *= 4;
  }
  double best = 0.0;
  for (int r = 0; r < runs; ++r) {
    const double t0 = thread_cpu_s();
    volatile double sink = v.kernel(iterations);
    (void)sink;
    const double dt = thread_cpu_s() - t0;
    best = std::max(best, 2.0 * v.lanes * kChains * static_cast<double>(iterations) / dt);
  }
  return best;
}

// STREAM triad over arrays of `n` doubles; byte/s, best of `runs`.
double triad_bandwidth(std::size_t n, int runs) {
  // new double[] leaves the memory untouched; the first fill faults the pages in before timing.
  const std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  std::fill_n(a.get(), n, 0.0);
  std::fill_n(b.get(), n, 1.0);
  std::fill_n(c.get(), n, 2.0);
  const double s = 3.0;
  double best = 0.0;
  for (int r = 0; r < runs; ++r) {
    const double t0 = thread_cpu_s();
    double* __restrict pa = a.get();
    const double* __restrict pb = b.get();
    const double* __restrict pc = c.get();
    for (std::size_t i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
    const double dt = thread_cpu_s() - t0;
    volatile double sink = pa[n / 2];
    (void)sink;
    best = std::max(best, 24.0 * static_cast<double>(n) / dt);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: machine_limits [--quick] [--json]\n");
      return 2;
    }
  }
  const int runs = quick ? 2 : 7;
  const double run_s = quick ? 0.02 : 0.1;
  // 3 x 128 MiB, four times a 32 MiB L3 (quick: 3 x 32 MiB, still mostly outside a typical L3).
  const std::size_t triad_n = (quick ? std::size_t{4} : std::size_t{16}) << 20;

  std::vector<std::pair<const PeakVariant*, double>> peaks;
  for (const PeakVariant& v : kVariants) {
    if (supported(v.cpu_feature) && supported(v.cpu_feature2))
      peaks.emplace_back(&v, peak_flops(v, runs, run_s));
  }
  const double triad = triad_bandwidth(triad_n, quick ? 3 : 10);

  if (json) {
    std::printf("{\"peak_flops\": {");
    for (std::size_t i = 0; i < peaks.size(); ++i) {
      std::printf("%s\"%s\": %.6g", i ? ", " : "", peaks[i].first->name, peaks[i].second);
    }
    std::printf("}, \"triad_bytes_per_s\": %.6g}\n", triad);
    return 0;
  }
  for (const auto& [v, flops] : peaks) std::printf("peak %-15s %8.2f Gflop/s\n", v->name, flops / 1e9);
  std::printf("triad bandwidth     %8.2f GB/s (one core)\n", triad / 1e9);
  return 0;
}
