// Session files the session_reader fuzzer made (tests/fuzz/corpus/session_reader/finding_*): each is a
// clear error of the reader, never an allocation of what the file claims.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store/session_reader.hpp"

namespace glutescope::store {
namespace {

const std::filesystem::path kCorpus =
    std::filesystem::path(GLUTESCOPE_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "session_reader";

// A 33 KB file whose /montage label column claims 6.6e12 strings: the reader asked for 211 TB (ASan
// allocation-size-too-big; std::bad_alloc in a release build). Now the claim is checked against the bytes
// stored and named.
TEST(SessionReaderFuzzFindings, AStringColumnClaimingMoreElementsThanStoredBytesIsAnError) {
  SessionReader reader(kCorpus / "finding_vlen_strings_claim");
  try {
    (void)reader.montage();
    FAIL() << "montage() accepted the damaged column";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(" claims "), std::string::npos) << what;  // names the object and its claim
    EXPECT_NE(what.find("-byte file can hold"), std::string::npos) << what;
  }
}

// A file whose /device column of doubles claims 2^33 values (64 GB) in a 33 KB file: the reader allocated
// it. Now the claim is checked against the stored bytes (× deflate's 1032:1 for filtered datasets).
TEST(SessionReaderFuzzFindings, AColumnClaimingMoreThanItStoresIsAnError) {
  try {
    SessionReader reader(kCorpus / "finding_column_claim");
    (void)reader.device();
    FAIL() << "device() accepted the damaged column";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find(" claims "), std::string::npos) << what;  // names the object and its claim
    EXPECT_NE(what.find("-byte file can hold"), std::string::npos) << what;
  }
}

// The seed itself (an imported 3-sample session) reads in full: the check rejects only damage.
TEST(SessionReaderFuzzFindings, TheUndamagedSeedReads) {
  SessionReader reader(kCorpus / "imported_3_samples");
  EXPECT_EQ(reader.montage().emg.size(), 2u);
  EXPECT_EQ(reader.emg_rows(), 3u);
  EXPECT_EQ(reader.emg_counts(),
            (std::vector<std::int32_t>{1, 2, 3, 4, 5, 6}));  // tiny.csv's cells, RF in uV
}

}  // namespace
}  // namespace glutescope::store
