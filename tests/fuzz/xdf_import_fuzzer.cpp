// libFuzzer harness for the XDF reader (src/store/xdf_reader.cpp) on the input bytes, as read_xdf reads a
// file after loading it whole. An ImportError is a correct outcome; anything else must hold:
//   * every stream declares a known channel_format, 1 to kMaxXdfChannels channels, a finite rate >= 0, one
//     label per channel, and a stream id no other stream has;
//   * its data are samples × channels: values for a numeric stream, strings for a string stream, never both;
//   * every time stamp and clock offset is finite, and so is every time stamp corrected by the offsets;
//   * what it holds and what it reserved are bounded by the input: every sample takes at least one byte,
//     every value or string at least one, every string's characters are input bytes, and no vector's
//     capacity exceeds the input's size (the reader reserves only what the checked bytes can hold).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.hpp"
#include "store/import.hpp"
#include "store/xdf_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glutescope::store;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  XdfFile f;
  try {
    f = read_xdf(bytes, "fuzz.xdf");
  } catch (const ImportError&) {
    return 0;
  }
  FUZZ_REQUIRE(size >= 4);
  std::set<std::uint32_t> ids;
  std::size_t held = 0;  // samples, values and string characters of all streams
  for (const XdfStream& s : f.streams) {
    FUZZ_REQUIRE(ids.insert(s.id).second);
    FUZZ_REQUIRE(s.channel_count >= 1 && s.channel_count <= kMaxXdfChannels);
    FUZZ_REQUIRE(s.labels.size() == s.channel_count);
    FUZZ_REQUIRE(std::isfinite(s.nominal_srate) && s.nominal_srate >= 0.0);
    static const std::set<std::string, std::less<>> kFormats{"int8",    "int16",    "int32", "int64",
                                                             "float32", "double64", "string"};
    FUZZ_REQUIRE(kFormats.contains(s.channel_format));
    const std::size_t n = s.samples();
    FUZZ_REQUIRE(n <= size && n * s.channel_count <= size);
    if (s.is_string()) {
      FUZZ_REQUIRE(s.strings.size() == n * s.channel_count && s.values.empty());
      for (const std::string& text : s.strings) held += text.size();
    } else {
      FUZZ_REQUIRE(s.values.size() == n * s.channel_count && s.strings.empty());
    }
    held += n + n * s.channel_count;
    FUZZ_REQUIRE(s.time_stamps.capacity() <= size && s.values.capacity() <= size &&
                 s.strings.capacity() <= size);
    FUZZ_REQUIRE(
        std::all_of(s.time_stamps.begin(), s.time_stamps.end(), [](double t) { return std::isfinite(t); }));
    for (const auto& [when, offset] : s.clock_offsets)
      FUZZ_REQUIRE(std::isfinite(when) && std::isfinite(offset));
    const std::vector<double> corrected = corrected_time_stamps(s);
    FUZZ_REQUIRE(corrected.size() == n);
    FUZZ_REQUIRE(std::all_of(corrected.begin(), corrected.end(), [](double t) { return std::isfinite(t); }));
  }
  FUZZ_REQUIRE(held <= size);
  return 0;
}
