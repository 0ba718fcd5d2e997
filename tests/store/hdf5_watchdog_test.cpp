// store::Hdf5Watch and the watchdog of the one-shot commands (store/hdf5_watchdog.hpp). Each case that
// enables the watchdog runs in a death-test child: the watchdog ends its process by design. The real
// damaged files (HDF5 1.10.8 looping or faulting inside H5HG) are run through the binary by the
// malformed-file corpus test (test_store_malformed_corpus, class "libhdf5").
#include "store/hdf5_watchdog.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

namespace glutescope::store {
namespace {

using namespace std::chrono_literals;

void enable_with_base(const char* seconds) {
  ::setenv("GLUTESCOPE_HDF5_TIMEOUT", seconds, 1);
  enable_hdf5_watchdog();
}

// In a death-test child: enables the watchdog (limit base_s + bytes at 10 MB/s), runs `work` inside one read
// scope on `file`, and exits 0 if the watchdog let it finish.
void inside_a_read(const char* base_s, const std::string& file, std::uint64_t bytes,
                   const std::function<void()>& work) {
  enable_with_base(base_s);
  {
    const Hdf5Watch watch(file, bytes);
    work();
  }
  std::exit(0);
}

// A write to a page that may not be written: a real SIGSEGV, as a wild pointer inside HDF5 gives.
void fault() {
  void* page = ::mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  *static_cast<volatile int*>(page) = 1;
}

TEST(Hdf5WatchdogDeathTest, AReadThatNeverReturnsEndsTheProcessWithOneLineNamingTheFile) {
  // "Inside HDF5" for far longer than the limit.
  EXPECT_EXIT(inside_a_read("0.3", "/data/damaged.h5", 0, [] { std::this_thread::sleep_for(10s); }),
              ::testing::ExitedWithCode(kHdf5StallExitStatus),
              "^glutescope: /data/damaged.h5: HDF5 did not return within 0.3 s while reading it \\(damaged "
              "file\\?\\)\n$");
}

TEST(Hdf5WatchdogDeathTest, TheLimitBoundsEachStretchWithoutAReturnNotTheWholeCommand) {
  // 12 inner reads of 0.1 s inside one outer scope: 1.2 s in all, four times the 0.3-s limit, but the
  // reader returned every 0.1 s; then 0.8 s of work outside any scope.
  EXPECT_EXIT(
      {
        enable_with_base("0.3");
        const std::string file = "long.h5";
        {
          const Hdf5Watch outer(file, 0);
          for (int i = 0; i < 12; ++i) {
            const Hdf5Watch inner(file, 0);
            std::this_thread::sleep_for(100ms);
          }
        }
        std::this_thread::sleep_for(800ms);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Hdf5WatchdogDeathTest, TheLimitGrowsWithTheFileSize) {
  // 0.3 s + 20 MB at 10 MB/s = 2.3 s: a 1-s read of a large file is not a hang; the same read of a small
  // file is.
  EXPECT_EXIT(inside_a_read("0.3", "big.h5", 20'000'000, [] { std::this_thread::sleep_for(1s); }),
              ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(inside_a_read("0.3", "small.h5", 2'000'000, [] { std::this_thread::sleep_for(2s); }),
              ::testing::ExitedWithCode(kHdf5StallExitStatus), "small.h5: HDF5 did not return within 0.5 s");
}

TEST(Hdf5WatchdogDeathTest, AFaultWhileReadingEndsTheProcessWithOneLine) {
  EXPECT_EXIT(inside_a_read("5", "heap.h5", 0, fault), ::testing::ExitedWithCode(kHdf5FaultExitStatus),
              "^glutescope: heap.h5: reading it stopped with SIGSEGV inside the HDF5 reader \\(damaged "
              "file\\?\\)\n$");
}

TEST(Hdf5WatchdogDeathTest, AFaultOutsideAReadGoesToThePreviousHandler) {
  // glutescope's own fault is not dressed up as a damaged file: the default action kills the process by
  // the signal (a sanitizer build's handler reports it and exits non-zero instead).
  EXPECT_EXIT(
      {
        enable_with_base("5");
        const std::string file = "fine.h5";
        { const Hdf5Watch watch(file, 0); }
        fault();
        std::exit(0);
      },
      [](int status) {
        return WIFSIGNALED(status) ||
               (WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != kHdf5FaultExitStatus);
      },
      "");
}

TEST(Hdf5WatchdogDeathTest, ScopesWithoutTheWatchdogDoNothing) {
  // Library use and the tests: nothing enabled the watchdog, so a "read" far past the limit is not cut short.
  EXPECT_EXIT(
      {
        ::setenv("GLUTESCOPE_HDF5_TIMEOUT", "0.1", 1);
        const std::string file = "library.h5";
        {
          const Hdf5Watch watch(file, 0);
          std::this_thread::sleep_for(600ms);
        }
        std::exit(hdf5_watchdog_enabled() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace glutescope::store
