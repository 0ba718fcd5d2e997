// libFuzzer harness for the session reader on mutated HDF5 session files. HDF5 reads files, so each input
// is written to GLUTESCOPE_FUZZ_TMP (tmpfs) and opened with store::SessionReader, then every accessor is
// called, sample data in windows of at most kRows rows (the reader's own allocation bounds are the
// corpus test's concern, rel-files). Any exception is a correct outcome; a sanitizer report, a crash or a
// hang (libFuzzer's -timeout) is a finding.
//
// GLUTESCOPE_FUZZ_HANG_MS (set by run_fuzzer.sh for this harness): an input that runs longer than that (CPU
// time of the fuzzing thread, or ten times that of wall-clock time) is stopped where it is, in milliseconds
// rather than after libFuzzer's -timeout of seconds. A thread sends SIGUSR2 to the fuzzing thread, whose
// handler (glutescope_fuzz_hang_signal) prints one line and aborts there; libFuzzer then reports a deadly
// signal with the stuck thread's stack, inside libhdf5 or inside glutescope, and saves the input, and
// run_fuzzer.sh's triage decides whose it is. HDF5 1.10.8 loops forever on about one input in a thousand
// (docs/RELIABILITY.md "Fuzzing"), so this is most of the harness's speed in long runs.
#include <hdf5.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <thread>

#include "fuzz/fuzz_check.hpp"
#include "store/session_reader.hpp"

// Named (extern "C") so that run_fuzzer.sh's triage can step over this frame to the code it interrupted.
extern "C" [[noreturn]] __attribute__((noinline)) void glutescope_fuzz_hang_signal(int /*signal*/) {
  static const char line[] = "glutescope_fuzz: input ran longer than GLUTESCOPE_FUZZ_HANG_MS (hang)\n";
  (void)!::write(2, line, sizeof line - 1);
  std::abort();
}

namespace {

constexpr std::uint64_t kRows = 4096;

std::string scratch_path() {
  const char* dir = std::getenv("GLUTESCOPE_FUZZ_TMP");
  return std::string(dir != nullptr ? dir : "/tmp") + "/session_fuzz_" + std::to_string(::getpid()) + ".h5";
}

void read_everything(const std::string& path) {
  glutescope::store::SessionReader r(path);
  (void)r.info();
  (void)r.device();
  (void)r.montage();
  const std::uint64_t rows = r.emg_rows();
  const auto counts = r.emg_counts(0, kRows);
  FUZZ_REQUIRE(counts.size() <= kRows * r.emg_channels());
  (void)r.emg_microvolts(0, kRows);
  (void)r.emg_sample_index(0, kRows);
  if (rows > kRows) (void)r.emg_counts(rows - kRows, kRows);
  (void)r.emg_blocks(kRows);
  for (std::size_t s = 0; s < r.imu_count() && s < 8; ++s) {
    (void)r.imu_rows(s);
    (void)r.imu_counts(s, 0, kRows);
    (void)r.imu_physical(s, 0, kRows);
    (void)r.imu_sample_index(s, 0, kRows);
    (void)r.imu_blocks(s, kRows);
  }
  (void)r.events();
  (void)r.gaps();
  (void)r.timing_fit();
  (void)r.statistics();
}

// The running input's start, as the fuzzing thread's CPU time and as wall-clock time (ns; wall 0 between
// inputs). CPU time decides, so that a busy machine does not stop a slow but finishing input; wall-clock
// time, at ten times the limit, catches an input that waits instead (HDF5 sleeps between metadata retries).
std::atomic<std::int64_t> g_input_cpu_ns{0};
std::atomic<std::int64_t> g_input_wall_ns{0};
pthread_t g_fuzz_thread;
clockid_t g_fuzz_thread_cpu;

std::int64_t clock_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void start_hang_catcher(long limit_ms) {
  g_fuzz_thread = pthread_self();
  if (pthread_getcpuclockid(g_fuzz_thread, &g_fuzz_thread_cpu) != 0) return;
  struct sigaction action {};
  action.sa_handler = glutescope_fuzz_hang_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);
  std::thread([limit_ms] {
    const std::int64_t limit_ns = static_cast<std::int64_t>(limit_ms) * 1'000'000;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(limit_ms < 100 ? limit_ms : 50));
      const std::int64_t wall = g_input_wall_ns.load();
      if (wall == 0) continue;
      const std::int64_t cpu = clock_ns(g_fuzz_thread_cpu) - g_input_cpu_ns.load();
      if (g_input_wall_ns.load() == wall &&
          (cpu > limit_ns || clock_ns(CLOCK_MONOTONIC) - wall > 10 * limit_ns)) {
        pthread_kill(g_fuzz_thread, SIGUSR2);
        return;  // the process is ending
      }
    }
  }).detach();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // no HDF5 error stack printed per input
  // HDF5 keeps freed blocks on free lists up to a limit per list and frees the rest; under ASan every new
  // block is then freshly mapped memory, and page faults were most of an input's time. Larger limits let
  // HDF5 reuse its blocks: page faults over a 48-input corpus fell from 211 k to 153 k.
  H5set_free_list_limits(-1, -1, -1, -1, 64 << 20, 16 << 20);
  if (const char* env = std::getenv("GLUTESCOPE_FUZZ_HANG_MS"); env != nullptr) {
    const long limit_ms = std::strtol(env, nullptr, 10);
    if (limit_ms > 0) start_hang_catcher(limit_ms);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = scratch_path();
  g_input_cpu_ns.store(clock_ns(CLOCK_THREAD_CPUTIME_ID));
  g_input_wall_ns.store(clock_ns(CLOCK_MONOTONIC));
  struct InputDone {
    ~InputDone() { g_input_wall_ns.store(0); }
  } input_done;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_REQUIRE(f != nullptr);
  FUZZ_REQUIRE(std::fwrite(data, 1, size, f) == size);
  std::fclose(f);
  try {
    read_everything(path);
  } catch (const std::exception&) {
  }
  std::remove(path.c_str());
  return 0;
}
