// libFuzzer harness for EDF/BDF import: the field-by-field header check (src/store/edf_header.cpp) on
// the input bytes, then, if it passes, EDFlib opening and reading the same bytes from a file in
// GLUTESCOPE_FUZZ_TMP (tmpfs; EDFlib reads only files), as import_edf does. Invariants:
//   * the check either names a problem (ImportError) or returns a layout that fits the file;
//   * when EDFlib also accepts the file it agrees on the number of data records, and has no more
//     ordinary signals than the header declares; every signal's samples are read in full.
#include <edflib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "store/edf_header.hpp"
#include "store/import.hpp"

namespace {

std::string scratch_path() {
  const char* dir = std::getenv("GLUTESCOPE_FUZZ_TMP");
  return std::string(dir != nullptr ? dir : "/tmp") + "/edf_fuzz_" + std::to_string(::getpid()) + ".bdf";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glutescope::store;
  EdfHeaderSummary s;
  try {
    s = check_edf_header({data, size}, size, "fuzz.bdf");
  } catch (const ImportError&) {
    return 0;
  }
  FUZZ_REQUIRE(s.signals >= 1 && s.data_records >= 1 && s.record_bytes > 0);
  FUZZ_REQUIRE(s.header_bytes + static_cast<std::uint64_t>(s.data_records) * s.record_bytes <= size);

  static const std::string path = scratch_path();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FUZZ_REQUIRE(f != nullptr);
  FUZZ_REQUIRE(std::fwrite(data, 1, size, f) == size);
  std::fclose(f);
  edf_hdr_struct hdr{};
  if (edfopen_file_readonly(path.c_str(), &hdr, EDFLIB_READ_ANNOTATIONS) == 0) {
    FUZZ_REQUIRE(hdr.datarecords_in_file == s.data_records);
    FUZZ_REQUIRE(hdr.edfsignals >= 0 && hdr.edfsignals <= s.signals);
    std::vector<int> buf;
    for (int sig = 0; sig < hdr.edfsignals; ++sig) {
      const long long n = hdr.signalparam[sig].smp_in_file;
      FUZZ_REQUIRE(n >= 0 && static_cast<std::uint64_t>(n) <= size);
      buf.resize(static_cast<std::size_t>(n));
      edfseek(hdr.handle, sig, 0, EDFSEEK_SET);
      FUZZ_REQUIRE(edfread_digital_samples(hdr.handle, sig, static_cast<int>(n), buf.data()) == n);
    }
    for (long long a = 0; a < hdr.annotations_in_file && a < 10000; ++a) {
      edf_annotation_struct annotation{};
      (void)edf_get_annotation(hdr.handle, static_cast<int>(a), &annotation);
    }
    edfclose_file(hdr.handle);
  }
  std::remove(path.c_str());
  return 0;
}
