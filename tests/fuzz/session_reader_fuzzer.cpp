// libFuzzer harness for the session reader on mutated HDF5 session files. HDF5 reads files, so each input
// is written to GLUTESCOPE_FUZZ_TMP (tmpfs) and opened with store::SessionReader, then every accessor is
// called, sample data in windows of at most kRows rows (the reader's own allocation bounds are the
// corpus test's concern, rel-files). Any exception is a correct outcome; a sanitizer report, a crash or a
// hang (libFuzzer's -timeout) is a finding.
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

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

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // no HDF5 error stack printed per input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = scratch_path();
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
