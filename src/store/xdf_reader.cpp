#include "store/xdf_reader.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <string_view>

#include <fmt/core.h>

#include "store/import.hpp"

namespace glutescope::store {
namespace {

static_assert(std::endian::native == std::endian::little, "XDF is little-endian; so is this reader's host");

// Reads little-endian values from [pos, end); `fail` throws the chunk's error.
struct Cursor {
  std::string_view bytes;
  std::size_t pos = 0;
  std::string where;  // "<file>: chunk N at byte B (tag T)"

  [[noreturn]] void fail(const std::string& what) const {
    throw ImportError(fmt::format("{}: {}", where, what));
  }
  [[nodiscard]] std::size_t left() const noexcept { return bytes.size() - pos; }
  void need(std::size_t n, const char* what) const {
    if (n > left()) fail(fmt::format("{} needs {} bytes, {} left in the chunk", what, n, left()));
  }
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v{};
    std::memcpy(&v, bytes.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  // NumLengthBytes (1, 4 or 8) then the length.
  std::uint64_t varlen(const char* what) {
    const auto n = get<std::uint8_t>(what);
    if (n == 1) return get<std::uint8_t>(what);
    if (n == 4) return get<std::uint32_t>(what);
    if (n == 8) return get<std::uint64_t>(what);
    fail(fmt::format("{}: length field of {} bytes (1, 4 or 8)", what, n));
  }
  std::string_view take(std::uint64_t n, const char* what) {
    if (n > left()) fail(fmt::format("{} of {} bytes, {} left in the chunk", what, n, left()));
    const std::string_view v = bytes.substr(pos, static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
    return v;
  }
};

// The text of the first <tag>...</tag> in `xml` (no entity decoding), empty when absent.
std::string_view xml_text(std::string_view xml, std::string_view tag) {
  const std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  const std::size_t a = xml.find(open);
  if (a == std::string_view::npos) return {};
  const std::size_t b = xml.find(close, a + open.size());
  if (b == std::string_view::npos) return {};
  return xml.substr(a + open.size(), b - a - open.size());
}

std::vector<std::string> channel_labels(std::string_view xml) {
  std::vector<std::string> out;
  std::string_view channels = xml_text(xml_text(xml, "desc"), "channels");
  constexpr std::string_view open = "<channel>", close = "</channel>";
  // Stops at a <channel> without its </channel>: searching the rest again for each of up to kMaxXdfChannels
  // unclosed tags made a large header quadratic.
  while (out.size() < kMaxXdfChannels) {
    const std::size_t a = channels.find(open);
    if (a == std::string_view::npos) break;
    const std::size_t b = channels.find(close, a + open.size());
    if (b == std::string_view::npos) break;
    out.emplace_back(xml_text(channels.substr(a + open.size(), b - a - open.size()), "label"));
    channels.remove_prefix(b + close.size());
  }
  return out;
}

std::size_t value_bytes(const std::string& format) {
  static const std::map<std::string, std::size_t, std::less<>> sizes{
      {"int8", 1}, {"int16", 2}, {"int32", 4}, {"int64", 8}, {"float32", 4}, {"double64", 8}, {"string", 0}};
  const auto it = sizes.find(format);
  return it == sizes.end() ? SIZE_MAX : it->second;
}

double number(const char* p, const std::string& format) {
  auto as = [p]<typename T>(T) {
    T v{};
    std::memcpy(&v, p, sizeof v);
    return static_cast<double>(v);
  };
  if (format == "int8") return as(std::int8_t{});
  if (format == "int16") return as(std::int16_t{});
  if (format == "int32") return as(std::int32_t{});
  if (format == "int64") return as(std::int64_t{});
  if (format == "float32") return as(float{});
  return as(double{});
}

XdfStream stream_header(Cursor& c) {
  XdfStream s;
  s.id = c.get<std::uint32_t>("stream id");
  const std::string_view xml = c.take(c.left(), "header");
  s.name = xml_text(xml, "name");
  s.type = xml_text(xml, "type");
  s.channel_format = xml_text(xml, "channel_format");
  const std::string count(xml_text(xml, "channel_count")), rate(xml_text(xml, "nominal_srate"));
  char* end = nullptr;
  const unsigned long n = std::strtoul(count.c_str(), &end, 10);
  if (count.empty() || *end != '\0' || n == 0 || n > kMaxXdfChannels)
    c.fail(fmt::format("stream {}: channel_count '{}' is not 1 to {}", s.id, count, kMaxXdfChannels));
  s.channel_count = static_cast<std::uint32_t>(n);
  s.nominal_srate = std::strtod(rate.c_str(), &end);
  if (rate.empty() || *end != '\0' || !std::isfinite(s.nominal_srate) || s.nominal_srate < 0.0)
    c.fail(fmt::format("stream {}: nominal_srate '{}' is not a number >= 0", s.id, rate));
  if (value_bytes(s.channel_format) == SIZE_MAX)
    c.fail(fmt::format("stream {}: unknown channel_format '{}'", s.id, s.channel_format));
  s.labels = channel_labels(xml);
  if (s.labels.size() != s.channel_count) {
    s.labels.clear();
    for (std::uint32_t k = 1; k <= s.channel_count; ++k) s.labels.push_back(std::to_string(k));
  }
  return s;
}

// False for NaN too.
bool within_time_bound(double t_s) noexcept { return std::fabs(t_s) <= kMaxXdfTimeS; }

void read_sample(Cursor& c, XdfStream& s) {
  const auto ts_bytes = c.get<std::uint8_t>("time stamp size");
  double t = 0.0;
  if (ts_bytes == 8) {
    t = c.get<double>("time stamp");
  } else if (ts_bytes == 0) {
    const double step = s.nominal_srate > 0.0 ? 1.0 / s.nominal_srate : 0.0;
    t = s.time_stamps.empty() ? 0.0 : s.time_stamps.back() + step;
  } else {
    c.fail(fmt::format("stream {}: time stamp of {} bytes (0 or 8)", s.id, ts_bytes));
  }
  if (!within_time_bound(t))  // a derived one too: a tiny nominal_srate makes a huge step
    c.fail(fmt::format("stream {}: {} time stamp {:g} s is not within ±{:g} s", s.id,
                       ts_bytes == 8 ? "recorded" : "derived", t, kMaxXdfTimeS));
  s.time_stamps.push_back(t);
  if (s.is_string()) {
    for (std::uint32_t k = 0; k < s.channel_count; ++k)
      s.strings.emplace_back(c.take(c.varlen("string length"), "string"));
    return;
  }
  const std::size_t size = value_bytes(s.channel_format);
  const std::string_view raw = c.take(std::uint64_t{size} * s.channel_count, "sample values");
  for (std::uint32_t k = 0; k < s.channel_count; ++k)
    s.values.push_back(number(raw.data() + k * size, s.channel_format));
}

void samples_chunk(Cursor& c, XdfStream& s) {
  const std::uint64_t n = c.varlen("sample count");
  // Smallest sample: a time stamp size byte and the values (a string: its 1-byte length field and length).
  const std::size_t size = value_bytes(s.channel_format);
  const std::uint64_t min_bytes = 1 + std::uint64_t{s.channel_count} * (s.is_string() ? 2 : size);
  if (n > c.left() / min_bytes)
    c.fail(fmt::format("stream {}: {} samples cannot fit in the chunk's {} bytes left", s.id, n, c.left()));
  s.time_stamps.reserve(s.time_stamps.size() + n);
  (s.is_string() ? s.strings.reserve(s.strings.size() + n * s.channel_count)
                 : s.values.reserve(s.values.size() + n * s.channel_count));
  for (std::uint64_t i = 0; i < n; ++i) read_sample(c, s);
  if (c.left() != 0) c.fail(fmt::format("stream {}: {} bytes after the {} samples", s.id, c.left(), n));
}

std::string read_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) throw ImportError(fmt::format("{}: cannot open: {}", path.string(), ec.message()));
  if (size > kMaxXdfFileBytes)
    throw ImportError(
        fmt::format("{}: {} bytes, more than the {} an import reads", path.string(), size, kMaxXdfFileBytes));
  std::string bytes(static_cast<std::size_t>(size), '\0');
  std::ifstream in(path, std::ios::binary);
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size)))
    throw ImportError(fmt::format("{}: cannot read", path.string()));
  return bytes;
}

class Parser {
 public:
  Parser(std::string src, std::string_view bytes) : src_(std::move(src)), bytes_(bytes) {}
  XdfFile run();

 private:
  void chunk(std::uint16_t tag, Cursor& c);
  XdfStream& stream(Cursor& c) {
    const auto id = c.get<std::uint32_t>("stream id");
    const auto it = index_.find(id);
    if (it == index_.end()) c.fail(fmt::format("stream {} has no stream header before it", id));
    return file_.streams[it->second];
  }
  std::string src_;
  std::string_view bytes_;
  XdfFile file_;
  std::map<std::uint32_t, std::size_t> index_;
};

void Parser::chunk(std::uint16_t tag, Cursor& c) {
  switch (tag) {
    case 1:  // FileHeader
    case 5:  // Boundary
      return;
    case 2: {
      XdfStream s = stream_header(c);
      if (!index_.emplace(s.id, file_.streams.size()).second)
        c.fail(fmt::format("stream {} declared twice", s.id));
      file_.streams.push_back(std::move(s));
      return;
    }
    case 3:
      samples_chunk(c, stream(c));
      return;
    case 4: {
      XdfStream& s = stream(c);
      const auto when = c.get<double>("collection time");
      const auto offset = c.get<double>("offset value");
      if (!within_time_bound(when) || !within_time_bound(offset))
        c.fail(fmt::format("stream {}: clock offset ({:g} s, {:g} s) is not within ±{:g} s", s.id, when,
                           offset, kMaxXdfTimeS));
      s.clock_offsets.emplace_back(when, offset);
      return;
    }
    case 6:
      (void)stream(c);
      return;
    default:
      c.fail("unknown tag (XDF 1.0 has tags 1 to 6)");
  }
}

XdfFile Parser::run() {
  if (bytes_.substr(0, 4) != "XDF:")
    throw ImportError(fmt::format("{}: not an XDF file (no \"XDF:\" magic)", src_));
  std::size_t pos = 4;
  for (std::size_t n = 1; pos < bytes_.size(); ++n) {
    Cursor head{bytes_.substr(0, bytes_.size()), pos, fmt::format("{}: chunk {} at byte {}", src_, n, pos)};
    const std::uint64_t length = head.varlen("chunk length");
    if (length < 2 || length > head.left())
      head.fail(fmt::format("length {} does not fit the {} bytes left in the file", length, head.left()));
    const auto tag = head.get<std::uint16_t>("tag");
    if (n == 1 && tag != 1) head.fail(fmt::format("the first chunk has tag {}, not 1 (FileHeader)", tag));
    Cursor c{bytes_.substr(head.pos, static_cast<std::size_t>(length - 2)), 0,
             fmt::format("{}: chunk {} at byte {} (tag {})", src_, n, pos, tag)};
    chunk(tag, c);
    pos = head.pos + static_cast<std::size_t>(length - 2);
  }
  return std::move(file_);
}

}  // namespace

XdfFile read_xdf(const std::filesystem::path& path) {
  const std::string bytes = read_bytes(path);
  return read_xdf(bytes, path.string());
}

XdfFile read_xdf(std::string_view bytes, const std::string& source) { return Parser(source, bytes).run(); }

std::vector<double> corrected_time_stamps(const XdfStream& stream) {
  const auto& o = stream.clock_offsets;
  double a = 0.0, b = 0.0;
  if (!o.empty()) {
    double mt = 0.0, mv = 0.0;
    for (const auto& [t, v] : o) mt += t, mv += v;
    mt /= static_cast<double>(o.size());
    mv /= static_cast<double>(o.size());
    double stt = 0.0, stv = 0.0;
    for (const auto& [t, v] : o) stt += (t - mt) * (t - mt), stv += (t - mt) * (v - mv);
    b = stt > 0.0 ? stv / stt : 0.0;
    a = mv - b * mt;
  }
  std::vector<double> out(stream.time_stamps);
  for (double& t : out) t += a + b * t;
  return out;
}

}  // namespace glutescope::store
