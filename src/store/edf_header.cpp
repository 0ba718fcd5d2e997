#include "store/edf_header.hpp"

#include <edflib.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string_view>

#include <fmt/core.h>

#include "store/import.hpp"

namespace glutescope::store {
namespace {

constexpr std::size_t kMainHeaderBytes = 256;
constexpr int kMaxSignals = EDFLIB_MAXSIGNALS;
constexpr long long kMaxSamplesPerRecord = 10'000'000;

// A field shown in a message: printable ASCII, trailing spaces dropped, at most 24 characters.
std::string shown(std::string_view field) {
  while (!field.empty() && field.back() == ' ') field.remove_suffix(1);
  std::string s;
  for (char c : field.substr(0, 24)) s += (c >= 0x20 && c < 0x7f) ? c : '?';
  return s;
}

class HeaderReader {
 public:
  HeaderReader(std::span<const std::uint8_t> head, std::string source)
      : head_(head), source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& field, std::string_view value, const std::string& problem) const {
    throw ImportError(fmt::format("{}: header field '{}' '{}' {}", source_, field, shown(value), problem));
  }
  [[noreturn]] void fail(const std::string& problem) const {
    throw ImportError(fmt::format("{}: {}", source_, problem));
  }

  // The `size`-byte field at `offset`; every byte printable US-ASCII (EDF+ §2.1.3; BDF's version byte
  // 255 is the one exception, checked by the caller).
  std::string_view text(std::size_t offset, std::size_t size, const std::string& name) const {
    if (offset + size > head_.size()) fail(fmt::format("header ends inside field '{}'", name));
    const std::string_view v(reinterpret_cast<const char*>(head_.data()) + offset, size);
    for (char c : v) {
      if (c < 0x20 || c > 0x7e) fail(name, v, "has a byte that is not printable ASCII");
    }
    return v;
  }

  static std::string_view trimmed(std::string_view v) {
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return v;
  }

  long long integer(std::size_t offset, std::size_t size, const std::string& name) const {
    const std::string_view raw = text(offset, size, name);
    std::string_view v = trimmed(raw);
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    long long value = 0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), value);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size())
      fail(name, raw, "is not an integer");
    return value;
  }

  double number(std::size_t offset, std::size_t size, const std::string& name) const {
    const std::string_view raw = text(offset, size, name);
    std::string_view v = trimmed(raw);
    if (!v.empty() && v.front() == '+') v.remove_prefix(1);
    double value = 0.0;
    const auto r = std::from_chars(v.data(), v.data() + v.size(), value);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size() || !std::isfinite(value)) {
      fail(name, raw, "is not a finite number");
    }
    return value;
  }

  // "dd.mm.yy" / "hh.mm.ss": digits and dots in place, each pair at most `max`.
  void clock_field(std::size_t offset, const std::string& name, int max0, int max1, int max2,
                   int min01) const {
    const std::string_view v = text(offset, 8, name);
    const int limits[3] = {max0, max1, max2};
    for (int i = 0; i < 3; ++i) {
      const char a = v[static_cast<std::size_t>(3 * i)], b = v[static_cast<std::size_t>(3 * i + 1)];
      if (a < '0' || a > '9' || b < '0' || b > '9' ||
          (i < 2 && v[static_cast<std::size_t>(3 * i + 2)] != '.')) {
        fail(name, v, name == "startdate" ? "is not dd.mm.yy" : "is not hh.mm.ss");
      }
      const int value = (a - '0') * 10 + (b - '0');
      if (value > limits[i] || (i < 2 && value < min01)) fail(name, v, "is out of range");
    }
  }

  [[nodiscard]] const std::span<const std::uint8_t>& bytes() const { return head_; }

 private:
  std::span<const std::uint8_t> head_;
  std::string source_;
};

// The signal fields, each ns consecutive entries (widths from the EDF specification); returns the bytes
// of one data record.
std::uint64_t check_signal_fields(const HeaderReader& h, std::size_t n, bool bdf) {
  std::size_t at = kMainHeaderBytes;
  auto field = [&](std::size_t width) {
    const std::size_t start = at;
    at += width * n;
    return [start, width](std::size_t i) { return start + i * width; };
  };
  const auto label = field(16), transducer = field(80), dimension = field(8), phys_min = field(8),
             phys_max = field(8), dig_min = field(8), dig_max = field(8), prefilter = field(80),
             samples = field(8), reserved = field(32);
  const long long format_min = bdf ? -8388608 : -32768;
  const long long format_max = bdf ? 8388607 : 32767;
  const std::string format_range =
      fmt::format("is outside {} to {} ({})", format_min, format_max, bdf ? "BDF" : "EDF");
  std::uint64_t record_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string name = fmt::format("signal {} '{}'", i + 1,
                                         shown(h.text(label(i), 16, fmt::format("signal {} label", i + 1))));
    h.text(transducer(i), 80, name + " transducer type");
    h.text(dimension(i), 8, name + " physical dimension");
    const double pmin = h.number(phys_min(i), 8, name + " physical minimum");
    const double pmax = h.number(phys_max(i), 8, name + " physical maximum");
    if (pmin == pmax)
      h.fail(name + " physical maximum", h.text(phys_max(i), 8, ""), "equals the physical minimum");
    const long long dmin = h.integer(dig_min(i), 8, name + " digital minimum");
    const long long dmax = h.integer(dig_max(i), 8, name + " digital maximum");
    if (dmin < format_min || dmin > format_max)
      h.fail(name + " digital minimum", h.text(dig_min(i), 8, ""), format_range);
    if (dmax < format_min || dmax > format_max)
      h.fail(name + " digital maximum", h.text(dig_max(i), 8, ""), format_range);
    if (dmax <= dmin)
      h.fail(name + " digital maximum", h.text(dig_max(i), 8, ""), "is not above the digital minimum");
    h.text(prefilter(i), 80, name + " prefiltering");
    const long long per_record = h.integer(samples(i), 8, name + " number of samples in each data record");
    if (per_record < 1 || per_record > kMaxSamplesPerRecord) {
      h.fail(name + " number of samples in each data record", h.text(samples(i), 8, ""),
             fmt::format("is outside 1 to {}", kMaxSamplesPerRecord));
    }
    h.text(reserved(i), 32, name + " reserved");
    record_bytes += static_cast<std::uint64_t>(per_record) * (bdf ? 3u : 2u);
  }
  return record_bytes;
}

}  // namespace

EdfHeaderSummary check_edf_header(std::span<const std::uint8_t> head, std::uint64_t file_size,
                                  const std::string& source) {
  const HeaderReader h(head, source);
  if (head.size() < kMainHeaderBytes || file_size < kMainHeaderBytes) {
    h.fail(fmt::format("{} bytes: shorter than the 256-byte EDF/BDF header", file_size));
  }
  EdfHeaderSummary s;
  // Version: "0" and spaces (EDF), or byte 255 + "BIOSEMI" (BDF).
  const std::string_view biosemi(
      "\xff"
      "BIOSEMI",
      8);
  if (std::string_view(reinterpret_cast<const char*>(head.data()), 8) == biosemi) {
    s.bdf = true;
  } else if (HeaderReader::trimmed(h.text(0, 8, "version")) != "0") {
    h.fail("version", h.text(0, 8, "version"), "is neither EDF's '0' nor BDF's 255+'BIOSEMI'");
  }
  h.text(8, 80, "local patient identification");
  h.text(88, 80, "local recording identification");
  h.clock_field(168, "startdate", 31, 12, 99, 1);
  h.clock_field(176, "starttime", 23, 59, 59, 0);
  const long long header_bytes = h.integer(184, 8, "number of bytes in header record");
  const std::string_view reserved = h.text(192, 44, "reserved");
  if (reserved.substr(0, 5) == "EDF+D" || reserved.substr(0, 5) == "BDF+D") {
    h.fail("reserved", reserved, "marks a discontinuous EDF+D/BDF+D recording (not supported)");
  }
  s.data_records = h.integer(236, 8, "number of data records");
  if (s.data_records < 1) h.fail("number of data records", h.text(236, 8, ""), "must be >= 1");
  const double duration_s = h.number(244, 8, "duration of a data record");
  if (!(duration_s > 0.0)) h.fail("duration of a data record", h.text(244, 8, ""), "must be > 0 s");
  const long long ns = h.integer(252, 4, "number of signals");
  if (ns < 1 || ns > kMaxSignals) {
    h.fail("number of signals", h.text(252, 4, ""), fmt::format("is outside 1 to {}", kMaxSignals));
  }
  s.signals = static_cast<int>(ns);
  s.header_bytes = kMainHeaderBytes * static_cast<std::uint64_t>(ns + 1);
  if (header_bytes < 0 || static_cast<std::uint64_t>(header_bytes) != s.header_bytes) {
    h.fail("number of bytes in header record", h.text(184, 8, ""),
           fmt::format("should be 256 x ({} signals + 1) = {}", ns, s.header_bytes));
  }
  if (head.size() < s.header_bytes || file_size < s.header_bytes) {
    h.fail(fmt::format("{} bytes: shorter than its {}-byte header", file_size, s.header_bytes));
  }
  s.record_bytes = check_signal_fields(h, static_cast<std::size_t>(ns), s.bdf);
  // Bounded products: ns ≤ 640, per-record ≤ 10^7, so record_bytes < 2^35; records × that is checked.
  const std::uint64_t data_bytes = file_size - s.header_bytes;
  if (static_cast<std::uint64_t>(s.data_records) > data_bytes / s.record_bytes) {
    h.fail("number of data records", h.text(236, 8, ""),
           fmt::format("needs {} bytes per record but the file holds {} data bytes (truncated?)",
                       s.record_bytes, data_bytes));
  }
  return s;
}

const char* edflib_error_text(int code) noexcept {
  switch (code) {
    case EDFLIB_MALLOC_ERROR:
      return "out of memory";
    case EDFLIB_NO_SUCH_FILE_OR_DIRECTORY:
      return "no such file";
    case EDFLIB_FILE_CONTAINS_FORMAT_ERRORS:
      return "EDFlib found a format error the header check does not cover (EDF+ annotation signal or "
             "date/identification syntax)";
    case EDFLIB_MAXFILES_REACHED:
      return "too many files open";
    case EDFLIB_FILE_READ_ERROR:
      return "read error";
    case EDFLIB_FILE_ALREADY_OPENED:
      return "already open";
    case EDFLIB_FILETYPE_ERROR:
      return "not an EDF or BDF file";
    case EDFLIB_FILE_IS_DISCONTINUOUS:
      return "a discontinuous EDF+D/BDF+D recording (not supported)";
    case EDFLIB_NUMBER_OF_SIGNALS_INVALID:
      return "invalid number of signals";
    case EDFLIB_ARCH_ERROR:
      return "unsupported architecture";
    default:
      return "unknown EDFlib error";
  }
}

}  // namespace glutescope::store
