// XDF (Extensible Data Format, LabRecorder / Lab Streaming Layer) reader, written from the XDF 1.0
// specification (https://github.com/sccn/xdf/wiki/Specifications; docs/IMPORT.md "XDF" says why not libxdf).
//
// File: the magic "XDF:", then chunks. Chunk: NumLengthBytes (uint8: 1, 4 or 8), Length (that many bytes,
// little-endian: the bytes of the tag and the content), Tag (uint16), content. Tags: 1 FileHeader (XML),
// 2 StreamHeader (uint32 stream id, XML), 3 Samples (uint32 stream id, NumSampleBytes + NumSamples, then each
// sample: TimeStampBytes (0 or 8), an optional double time stamp, the channel values: numbers of the
// stream's channel_format, or per channel a NumLengthBytes + Length + bytes string), 4 ClockOffset (uint32
// stream id, double collection time, double offset value), 5 Boundary (16-byte UUID), 6 StreamFooter (uint32
// stream id, XML). A sample without a time stamp is the previous one's + 1 / nominal_srate.
//
// Every length, count and stream id is checked against the chunk's bytes and the stream headers before it is
// used; nothing is allocated beyond what the checked bytes can hold; every time is within kMaxXdfTimeS. A
// violation is an ImportError naming the file and the chunk: "<file>: chunk N at byte B (tag T): ...".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glutescope::store {

inline constexpr std::uint64_t kMaxXdfFileBytes = 8ULL << 30;  // read whole; larger files are refused
inline constexpr std::uint32_t kMaxXdfChannels = 4096;
// Time stamps (recorded, or derived as the previous + 1 / nominal_srate) and both fields of a clock offset
// are within ±kMaxXdfTimeS: LSL's local_clock counts seconds from boot or from 1970, and 1e12 s is 31,700
// years. The bound keeps the clock fit finite (its sums of squares overflowed from 1e155 s).
inline constexpr double kMaxXdfTimeS = 1e12;

struct XdfStream {
  std::uint32_t id = 0;
  std::string name, type, channel_format;  // channel_format: int8 ... double64, string
  std::uint32_t channel_count = 0;
  double nominal_srate = 0.0;                            // 0: irregular (markers)
  std::vector<std::string> labels;                       // desc/channels/channel/label, else "1", "2", ...
  std::vector<double> values;                            // numeric streams: [samples x channel_count]
  std::vector<std::string> strings;                      // string streams: [samples x channel_count]
  std::vector<double> time_stamps;                       // as recorded, on the stream's own clock (s)
  std::vector<std::pair<double, double>> clock_offsets;  // (collection time, offset value), in file order
  [[nodiscard]] bool is_string() const noexcept { return channel_format == "string"; }
  [[nodiscard]] std::size_t samples() const noexcept { return time_stamps.size(); }
};

struct XdfFile {
  std::vector<XdfStream> streams;  // header order
};

// Throws ImportError as described above.
XdfFile read_xdf(const std::filesystem::path& path);
// The same on the file's bytes; `source` names the file in errors (the fuzz harness reads its input so).
XdfFile read_xdf(std::string_view bytes, const std::string& source);

// The stream's time stamps on the recorder's clock: t + a + b t, (a, b) the least-squares line through the
// clock offsets (one offset: constant; none: unchanged), as pyxdf's synchronize_clocks without its robust
// fit.
std::vector<double> corrected_time_stamps(const XdfStream& stream);

}  // namespace glutescope::store
