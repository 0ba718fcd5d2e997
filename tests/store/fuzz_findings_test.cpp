// Files the store's fuzzers made (tests/fuzz/corpus/session_reader/finding_*, corpus/xdf_import/finding_*):
// each is a clear error of its reader, never an allocation of what the file claims; the seeds themselves
// read.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "store/import.hpp"
#include "store/session_reader.hpp"
#include "store/xdf_reader.hpp"

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

// A file whose root attribute `status` (a scalar variable-length string: one 16-byte heap reference) stores
// 7 bytes: HDF5 1.10.8's H5Aread copied 16 out of its 7-byte buffer (ASan heap-buffer-overflow inside
// H5A__read, found by the fork-mode run of the session_reader fuzzer). Now an attribute storing fewer bytes
// than its elements' heap references is refused before H5Aread, naming the attribute.
TEST(SessionReaderFuzzFindings, AStringAttributeStoringLessThanItsHeapReferencesIsAnError) {
  try {
    SessionReader reader(kCorpus / "finding_attribute_short_storage");
    FAIL() << "the reader accepted the damaged attribute";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("status"), std::string::npos) << what;
    EXPECT_NE(what.find("claims 1 strings but stores 7 bytes (damaged file)"), std::string::npos) << what;
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

const std::filesystem::path kXdfCorpus =
    std::filesystem::path(GLUTESCOPE_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / "xdf_import";

// A session seed whose first EMG clock offset became (1.3e170 s, 3.8e180 s): finite, so it was read, and
// the clock fit's sums of squares overflowed, giving NaN for every corrected time stamp. Now a time or clock
// offset beyond ±kMaxXdfTimeS is an error naming the chunk.
TEST(XdfFuzzFindings, AClockOffsetBeyondTheTimeBoundIsAnError) {
  try {
    (void)read_xdf(kXdfCorpus / "finding_clock_offset_1e180");
    FAIL() << "read_xdf accepted the clock offset";
  } catch (const ImportError& e) {
    const std::string what = e.what();
    EXPECT_NE(
        what.find("(tag 4): stream 1: clock offset (1.30154e+170 s, 3.81695e+180 s) is not within ±1e+12 s"),
        std::string::npos)
        << what;
  }
}

// The same bound on a time stamp the reader derives (previous + 1 / nominal_srate): a stream at 1e-300 Hz
// made its second sample 1e300 s after the first. A file header, that stream's header, and one samples chunk
// of two int8 samples, the first stamped 0 s and the second unstamped.
TEST(XdfFuzzFindings, ADerivedTimeStampBeyondTheTimeBoundIsAnError) {
  std::string xdf = "XDF:";
  const auto chunk = [&xdf](char tag, const std::string& content) {
    xdf += '\x01';
    xdf += static_cast<char>(content.size() + 2);  // 1-byte length: tag and content
    xdf += tag;
    xdf += '\0';
    xdf += content;
  };
  const std::string stream_id("\x01\0\0\0", 4);
  chunk(1, "<info/>");
  std::string header = stream_id;  // appended, not `+`: GCC 12's -Wrestrict misfires on the temporaries
  header.append(
      "<info><channel_count>1</channel_count><nominal_srate>1e-300</nominal_srate>"
      "<channel_format>int8</channel_format></info>");
  chunk(2, header);
  std::string samples = stream_id;
  samples.append(
      "\x01\x02"
      "\x08\0\0\0\0\0\0\0\0"
      "\x05"
      "\0"
      "\x06",
      14);
  chunk(3, samples);
  try {
    (void)read_xdf(xdf, "tiny_rate.xdf");
    FAIL() << "read_xdf accepted the derived time stamp";
  } catch (const ImportError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("tiny_rate.xdf: chunk 3 at byte "), std::string::npos) << what;
    EXPECT_NE(what.find("(tag 3): stream 1: derived time stamp 1e+300 s is not within ±1e+12 s"),
              std::string::npos)
        << what;
  }
}

// The XDF seeds (tests/fuzz/make_xdf_seeds.py) read in full: the reader rejects only damage.
TEST(XdfFuzzFindings, TheSeedsRead) {
  EXPECT_TRUE(read_xdf(kXdfCorpus / "file_header_only").streams.empty());
  for (const char* name : {"session_3_streams", "session_4_byte_lengths", "session_8_byte_lengths"}) {
    const XdfFile f = read_xdf(kXdfCorpus / name);
    ASSERT_EQ(f.streams.size(), 3u) << name;
    EXPECT_EQ(f.streams[0].samples(), 20u) << name;
    EXPECT_EQ(f.streams[0].values.size(), 80u) << name;
    EXPECT_EQ(f.streams[1].labels, (std::vector<std::string>{"ax", "ay", "az"})) << name;
    EXPECT_EQ(f.streams[2].strings, (std::vector<std::string>{"squat start", "squat end"})) << name;
    EXPECT_EQ(f.streams[2].clock_offsets.size(), 2u) << name;
  }
  const XdfFile formats = read_xdf(kXdfCorpus / "every_format");
  ASSERT_EQ(formats.streams.size(), 6u);
  for (const XdfStream& s : formats.streams) {
    EXPECT_EQ(s.values, (std::vector<double>{-1, 2, 3, -4, 5, 6})) << s.channel_format;
    EXPECT_DOUBLE_EQ(s.time_stamps[1], 10.02) << s.channel_format;  // the previous + 1 / 50 Hz
  }
  const XdfFile edge = read_xdf(kXdfCorpus / "edge_cases");
  ASSERT_EQ(edge.streams.size(), 2u);
  EXPECT_EQ(edge.streams[0].labels, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(edge.streams[0].samples(), 2u);
  EXPECT_EQ(edge.streams[1].strings, (std::vector<std::string>{"", "start", "operator", "stop"}));
}

}  // namespace
}  // namespace glutescope::store
