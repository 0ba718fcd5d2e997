// A watchdog over the reads of untrusted HDF5 files (docs/RELIABILITY.md "Inside HDF5").
//
// HDF5 1.10.8 (Debian 12) can loop forever or fault on a damaged file before glutescope sees a byte: a
// global-heap entry of a variable-length string read into H5HG_read with a length from the file
// (memcpy-param-overlap, SIGSEGV), or endless CPU loops in H5C_protect ← H5HG__protect (the fuzz findings in
// tests/fuzz/known_hdf5/). No check in glutescope's reader can come before them. The watchdog contains them
// in the one-shot commands (info, report, recover, export, analyze's per-file child, cohort):
//
//   * every read operation of store::SessionReader and store::SidecarReader runs inside an Hdf5Watch scope;
//   * a thread started by enable_hdf5_watchdog checks every 100 ms that no scope has been open longer than
//     its limit (base + the file's size at a slow disk's rate): a scope open longer is a read that HDF5 will
//     not finish. It then prints one line naming the file and exits with kHdf5StallExitStatus;
//   * a fault (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) while a scope is open prints one line and exits with
//     kHdf5FaultExitStatus; nothing else runs in the damaged process. Outside a scope the previous handler
//     (the default, or a sanitizer's) takes the signal as before.
//
// Without enable_hdf5_watchdog (library use, the tests, the fuzz harnesses, `view`'s long-running server)
// the scopes cost two atomic stores and nothing watches them.
//
// Threading: Hdf5Watch scopes may nest (one thread reads a file at a time, as HDF5 itself requires of a
// serial build); when an inner scope closes, the outer one's clock starts again, so the limit bounds the time
// between two returns from the reader, never the length of a whole command.
#pragma once

#include <cstdint>
#include <string>

namespace glutescope::store {

inline constexpr int kHdf5StallExitStatus = 3;
inline constexpr int kHdf5FaultExitStatus = 4;

// The limit of one read operation: base_s + file bytes / bytes_per_s (a 240 MB hour of recording gets 29 s
// at the defaults, a damaged 34 kB file 5 s). GLUTESCOPE_HDF5_TIMEOUT (seconds, > 0) overrides base_s.
struct Hdf5WatchdogSettings {
  double base_s = 5.0;
  double bytes_per_s = 10e6;
};

// Starts the watchdog thread and installs the fault handlers (idempotent; the first call's settings stay).
void enable_hdf5_watchdog(const Hdf5WatchdogSettings& settings = {});
[[nodiscard]] bool hdf5_watchdog_enabled() noexcept;

// One read operation on `file` (its text must outlive the scope; it is printed if the read never returns).
// `file_bytes` sizes the limit.
class Hdf5Watch {
 public:
  Hdf5Watch(const std::string& file, std::uint64_t file_bytes) noexcept;
  ~Hdf5Watch();
  Hdf5Watch(const Hdf5Watch&) = delete;
  Hdf5Watch& operator=(const Hdf5Watch&) = delete;

 private:
  const std::string* previous_file_;
  std::int64_t previous_limit_ns_;
};

}  // namespace glutescope::store
