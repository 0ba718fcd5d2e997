// libFuzzer harness for the session reader on mutated HDF5 session files. HDF5 reads files, so each input
// is written to GLUTESCOPE_FUZZ_TMP (tmpfs) and opened with store::SessionReader, then every accessor is
// called, sample data in windows of at most kRows rows (the reader's own allocation bounds are the
// corpus test's concern, rel-files). Any exception is a correct outcome; a sanitizer report, a crash or a
// hang (libFuzzer's -timeout) is a finding.
//
// GLUTESCOPE_FUZZ_HANG_MS (set by run_fuzzer.sh for this harness): an input that runs longer than that (CPU
// time of the fuzzing thread, or ten times that of wall-clock time asleep or blocked) is stopped where it is,
// in milliseconds
// rather than after libFuzzer's -timeout of seconds. A thread sends SIGUSR2 to the fuzzing thread, whose
// handler (glutescope_fuzz_hang_signal) prints one line and aborts there; libFuzzer then reports a deadly
// signal with the stuck thread's stack, inside libhdf5 or inside glutescope, and saves the input, and
// run_fuzzer.sh's triage decides whose it is. HDF5 1.10.8 loops forever on about one input in a thousand
// (docs/RELIABILITY.md "Fuzzing"), so this is most of the harness's speed in long runs.
//
// The limit is charged to wherever the signal lands, so an input that spent it inside libhdf5 and had just
// returned to the reader would be reported as stuck in glutescope's code (this happened once in 4 096 reports
// of a long run, at 200 ms). So the handler aborts at once only when the interrupted instruction is inside
// libhdf5; anywhere else (glutescope, the sanitizer runtime, libc) it prints one line and lets the input run
// on, and the watcher stops it for good at ten times the limit, wherever it then is.
//
// GLUTESCOPE_FUZZ_HANG_SELFTEST=1 (tests/fuzz/hang_check.sh only): every input spins in this harness's own
// code instead of being read, so that a test can see that path end to end; =sleep: every input sleeps there
// first (the wall-clock limit's path); =after-first: every non-empty input other than the process's first
// spins (a stop in a fork run that does not repeat when its input is run alone).
#include <fcntl.h>
#include <hdf5.h>
#include <link.h>
#include <pthread.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "fuzz/fuzz_check.hpp"
#include "store/session_reader.hpp"

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
// Of the wall-clock time, only what the thread spends asleep or blocked is counted (sampled by the watcher):
// a run at nice 19 beside a build once had an input stopped after 4 s of wall-clock time in which it had
// waited for a CPU nearly throughout and run for a fraction of its 58 ms, and that stop was reported as a
// finding. (The run-queue wait in /proc's schedstat was tried first: the kernel adds it only when the thread
// gets a CPU again, too late for a watcher that looks during the wait.)
std::atomic<std::int64_t> g_input_cpu_ns{0};
std::atomic<std::int64_t> g_input_wall_ns{0};
pthread_t g_fuzz_thread;
clockid_t g_fuzz_thread_cpu;
int g_fuzz_thread_stat = -1;  // /proc/self/task/TID/stat of the fuzzing thread

// Whether the fuzzing thread is asleep or blocked (state S or D in /proc/self/task/TID/stat, proc(5)), as
// opposed to running or waiting for a CPU (R) or stopped (T). Without the file, every moment counts as
// asleep.
bool fuzz_thread_waits() {
  if (g_fuzz_thread_stat < 0) return true;
  char text[512];
  const ssize_t n = ::pread(g_fuzz_thread_stat, text, sizeof text - 1, 0);
  if (n <= 0) return true;
  text[n] = '\0';
  const char* paren = std::strrchr(text, ')');  // the command name may hold spaces and parentheses
  if (paren == nullptr || paren[1] != ' ') return true;
  return paren[2] == 'S' || paren[2] == 'D';
}

// The executable segments of libhdf5, found once at start (the handler only compares addresses, which is
// async-signal-safe; dladdr in a handler is not).
struct Range {
  std::uintptr_t begin = 0;
  std::uintptr_t end = 0;
};
std::array<Range, 8> g_hdf5_code{};
std::size_t g_hdf5_code_count = 0;
// Set by the handler when it lets the running input go on (reset per input).
std::atomic<bool> g_grace_taken{false};

int note_hdf5_code(dl_phdr_info* info, std::size_t /*size*/, void* /*data*/) {
  if (info->dlpi_name == nullptr || std::strstr(info->dlpi_name, "libhdf5") == nullptr) return 0;
  for (int i = 0; i < info->dlpi_phnum && g_hdf5_code_count < g_hdf5_code.size(); ++i) {
    const ElfW(Phdr)& segment = info->dlpi_phdr[i];
    if (segment.p_type != PT_LOAD || (segment.p_flags & PF_X) == 0) continue;
    const std::uintptr_t begin = info->dlpi_addr + segment.p_vaddr;
    g_hdf5_code[g_hdf5_code_count++] = Range{begin, begin + segment.p_memsz};
  }
  return 0;
}

bool in_hdf5_code(std::uintptr_t pc) {
  for (std::size_t i = 0; i < g_hdf5_code_count; ++i) {
    if (pc >= g_hdf5_code[i].begin && pc < g_hdf5_code[i].end) return true;
  }
  return false;
}

std::uintptr_t interrupted_pc(const void* context) {
  const auto* uc = static_cast<const ucontext_t*>(context);
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(uc->uc_mcontext.pc);
#else
  (void)uc;
  return 0;  // unknown: every stop is then taken as inside libhdf5 (no grace)
#endif
}

}  // namespace

// Named (extern "C") so that run_fuzzer.sh's triage can step over this frame to the code it interrupted.
extern "C" __attribute__((noinline)) void glutescope_fuzz_hang_signal(int /*signal*/, siginfo_t* /*info*/,
                                                                      void* context) {
  const std::uintptr_t pc = interrupted_pc(context);
  if (pc != 0 && !in_hdf5_code(pc) && !g_grace_taken.exchange(true)) {
    static const char grace[] =
        "glutescope_fuzz: past GLUTESCOPE_FUZZ_HANG_MS outside libhdf5; running on to ten times the limit\n";
    (void)!::write(2, grace, sizeof grace - 1);
    return;
  }
  static const char line[] = "glutescope_fuzz: input ran longer than GLUTESCOPE_FUZZ_HANG_MS (hang)\n";
  (void)!::write(2, line, sizeof line - 1);
  std::abort();
}

namespace {

std::int64_t clock_ns(clockid_t clock) {
  timespec t{};
  clock_gettime(clock, &t);
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

void start_hang_catcher(long limit_ms) {
  g_fuzz_thread = pthread_self();
  if (pthread_getcpuclockid(g_fuzz_thread, &g_fuzz_thread_cpu) != 0) return;
  const std::string stat = "/proc/self/task/" + std::to_string(::gettid()) + "/stat";
  g_fuzz_thread_stat = ::open(stat.c_str(), O_RDONLY | O_CLOEXEC);
  dl_iterate_phdr(note_hdf5_code, nullptr);
  struct sigaction action {};
  action.sa_sigaction = glutescope_fuzz_hang_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;  // an input let run on must not see EINTR from its reads
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR2, &action, nullptr);
  std::thread([limit_ms] {
    // Process-directed signals (libFuzzer's SIGALRM timeout, whose handler prints the receiving thread's
    // stack) must reach the fuzzing thread, not this one.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    const std::int64_t limit_ns = static_cast<std::int64_t>(limit_ms) * 1'000'000;
    std::int64_t signalled = 0;  // the input (its wall-clock start) already sent one signal
    std::int64_t seen = 0;       // the input (its wall-clock start) whose waiting time is being summed...
    std::int64_t waiting = 0;    // ...: wall-clock time seen with the thread asleep or blocked
    std::int64_t last_look = clock_ns(CLOCK_MONOTONIC);
    const long interval_ms = limit_ms < 100 ? limit_ms : 50;
    // A look charges at most two intervals: when this thread itself waited long for a CPU, what the fuzzing
    // thread did meanwhile is unknown, and charging it all to its state at the next look made a starved but
    // running input look asleep.
    const std::int64_t max_charge = 2 * static_cast<std::int64_t>(interval_ms) * 1'000'000;
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
      const std::int64_t now = clock_ns(CLOCK_MONOTONIC);
      const std::int64_t since_last_look = now - last_look;
      last_look = now;
      const std::int64_t wall = g_input_wall_ns.load();
      if (wall == 0) continue;
      if (wall != seen) {
        seen = wall;
        waiting = 0;
      }
      // The time since the last look (at most since the input's start, at most max_charge) is charged as the
      // state now says.
      if (fuzz_thread_waits()) waiting += std::min({since_last_look, now - wall, max_charge});
      // First: the limit of CPU time or ten times it of waiting. After a signal that the handler let
      // pass: ten times the limit of CPU time or twenty times of waiting (with run_fuzzer.sh's
      // default of 500 ms, 5 s and 10 s: within libFuzzer's -timeout).
      const bool again = signalled == wall;
      const std::int64_t cpu_limit = again ? 10 * limit_ns : limit_ns;
      const std::int64_t wall_limit = again ? 20 * limit_ns : 10 * limit_ns;
      const std::int64_t cpu = clock_ns(g_fuzz_thread_cpu) - g_input_cpu_ns.load();
      if (g_input_wall_ns.load() == wall && (cpu > cpu_limit || waiting > wall_limit)) {
        pthread_kill(g_fuzz_thread, SIGUSR2);
        signalled = wall;
      }
    }
  }).detach();
}

// GLUTESCOPE_FUZZ_HANG_SELFTEST: stands for a loop in glutescope's code, bounded (60 s of wall-clock time)
// so that a broken hang catcher ends the test instead of hanging it.
__attribute__((noinline)) void selftest_spin() {
  const std::int64_t until = clock_ns(CLOCK_MONOTONIC) + std::int64_t{60'000'000'000};
  volatile std::uint64_t sink = 0;
  while (clock_ns(CLOCK_MONOTONIC) < until) sink = sink + 1;
}

// GLUTESCOPE_FUZZ_HANG_SELFTEST=sleep: stands for an input that waits (as HDF5's sleeps between metadata
// retries do): no CPU time, so only the wall-clock limit can stop it; bounded as above.
__attribute__((noinline)) void selftest_sleep() {
  const std::int64_t until = clock_ns(CLOCK_MONOTONIC) + std::int64_t{60'000'000'000};
  for (std::int64_t now = clock_ns(CLOCK_MONOTONIC); now < until; now = clock_ns(CLOCK_MONOTONIC)) {
    const std::int64_t left = until - now;
    timespec pause{static_cast<time_t>(left / 1'000'000'000), static_cast<long>(left % 1'000'000'000)};
    ::nanosleep(&pause, nullptr);  // interrupted by the hang signal's first, let-pass delivery: sleep on
  }
}

bool g_selftest = false;
bool g_selftest_sleep = false;
// GLUTESCOPE_FUZZ_HANG_SELFTEST=after-first: every non-empty input other than the process's first spins, so
// an input stopped in a fork run ends normally when run again alone (its process's only one): a stop that
// does not repeat.
bool g_selftest_after_first = false;
std::optional<std::size_t> g_first_input_hash;

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
  const char* selftest = std::getenv("GLUTESCOPE_FUZZ_HANG_SELFTEST");
  g_selftest = selftest != nullptr && std::string(selftest) == "1";
  g_selftest_sleep = selftest != nullptr && std::string(selftest) == "sleep";
  g_selftest_after_first = selftest != nullptr && std::string(selftest) == "after-first";
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = scratch_path();
  g_input_cpu_ns.store(clock_ns(CLOCK_THREAD_CPUTIME_ID));
  g_grace_taken.store(false);
  g_input_wall_ns.store(clock_ns(CLOCK_MONOTONIC));
  struct InputDone {
    ~InputDone() { g_input_wall_ns.store(0); }
  } input_done;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_REQUIRE(f != nullptr);
  FUZZ_REQUIRE(std::fwrite(data, 1, size, f) == size);
  std::fclose(f);
  if (g_selftest) selftest_spin();
  if (g_selftest_sleep) selftest_sleep();
  if (g_selftest_after_first && size > 0) {
    // Not by count: libFuzzer runs an empty input first, and runs an input again at once to look for a leak.
    const std::size_t hash =
        std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(data), size));
    if (!g_first_input_hash) g_first_input_hash = hash;
    if (*g_first_input_hash != hash) selftest_spin();
  }
  try {
    read_everything(path);
  } catch (const std::exception&) {
  }
  std::remove(path.c_str());
  return 0;
}
