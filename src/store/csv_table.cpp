#include "store/csv_table.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include <fmt/core.h>

#include "store/import.hpp"

namespace glutescope::store {
namespace {

constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
constexpr int kMaxDigits = 18;  // significant digits an int64 holds for any value

constexpr std::int64_t pow10_int(int n) noexcept {  // 0 <= n <= 18
  std::int64_t p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// A cell as it may be quoted in a message: at most 40 characters, control characters shown as '?'.
std::string shown(std::string_view cell) {
  std::string s(cell.substr(0, 40));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return cell.size() > 40 ? s + "..." : s;
}

// Splits at `delim` (' ': runs of spaces and tabs); trims spaces and double quotes around each cell.
void split(std::string_view line, char delim, std::vector<std::string_view>& cells) {
  cells.clear();
  if (delim == ' ') {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      const std::size_t start = i;
      while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
      if (i > start) cells.push_back(line.substr(start, i - start));
    }
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == delim) {
      std::string_view c = line.substr(start, i - start);
      while (!c.empty() && (c.front() == ' ' || c.front() == '"')) c.remove_prefix(1);
      while (!c.empty() && (c.back() == ' ' || c.back() == '"')) c.remove_suffix(1);
      cells.push_back(c);
      start = i + 1;
    }
  }
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Rounds digits × 10^-shift to the nearest integer, halves away from zero (shift > 0).
std::int64_t scale_down(std::int64_t digits, int shift) noexcept {
  if (shift > kMaxDigits) return 0;  // |digits| < 10^18 ≤ 10^shift / 2
  const std::int64_t p = pow10_int(shift);
  const std::int64_t q = digits / p;
  const std::int64_t r = digits % p;
  if (2 * (r < 0 ? -r : r) >= p) return digits < 0 ? q - 1 : q + 1;
  return q;
}

// digits × 10^(exponent − resolution): the count, or nullopt if it does not fit int32.
std::optional<std::int64_t> count_at(const PrintedDecimal& d, int resolution) noexcept {
  const long shift = static_cast<long>(d.exponent) - resolution;
  std::int64_t c = 0;
  if (shift >= 0) {
    if (d.digits == 0) return 0;
    if (shift > 9) return std::nullopt;  // |digits| ≥ 1, so ≥ 10^10
    const std::int64_t p = pow10_int(static_cast<int>(shift));
    if ((d.digits < 0 ? -d.digits : d.digits) > kInt32Max / p) return std::nullopt;
    c = d.digits * p;
  } else {
    c = scale_down(d.digits, static_cast<int>(-shift));
  }
  if (c > kInt32Max || c < -kInt32Max) return std::nullopt;
  return c;
}

// True if d is an integer multiple of 10^resolution (and was read with all its digits).
bool represented_exactly(const PrintedDecimal& d, int resolution) noexcept {
  if (!d.exact) return false;
  if (d.digits == 0 || d.exponent >= resolution) return true;
  const long shift = static_cast<long>(resolution) - d.exponent;
  return shift <= kMaxDigits && d.digits % pow10_int(static_cast<int>(shift)) == 0;
}

double exact_power_of_ten(int exponent) {
  // from_chars rounds correctly; std::pow(10.0, e) need not.
  const std::string text = fmt::format("1e{}", exponent);
  double v = 0.0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace

std::optional<PrintedDecimal> parse_printed_decimal(std::string_view cell) noexcept {
  std::string_view s = cell;
  bool negative = false;
  if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  const std::string_view number = s;  // what from_chars reads (it takes no '+')
  PrintedDecimal d;
  int significant = 0;
  long fraction_digits = 0;  // digits after the point that are part of `digits`
  long dropped = 0;          // integer digits beyond kMaxDigits (each one a factor of 10)
  bool any_digit = false;
  bool in_fraction = false;
  std::size_t i = 0;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.' && !in_fraction) {
      in_fraction = true;
      continue;
    }
    if (c < '0' || c > '9') break;
    any_digit = true;
    const int digit = c - '0';
    if (significant == 0 && digit == 0) {
      if (in_fraction) ++fraction_digits;  // leading zeros of a fraction only place the first digit
    } else if (significant < kMaxDigits) {
      d.digits = d.digits * 10 + digit;
      ++significant;
      if (in_fraction) ++fraction_digits;
    } else {
      if (digit != 0) d.exact = false;
      if (!in_fraction) ++dropped;
    }
  }
  if (!any_digit) return std::nullopt;
  long exponent = 0;
  if (i < s.size()) {
    if (s[i] != 'e' && s[i] != 'E') return std::nullopt;
    std::string_view e = s.substr(i + 1);
    if (!e.empty() && e.front() == '+') e.remove_prefix(1);
    if (e.empty() || e.front() == '+' || (e.front() == '-' && e.size() == 1)) return std::nullopt;
    int value = 0;
    const auto r = std::from_chars(e.data(), e.data() + e.size(), value);
    if (r.ec != std::errc() || r.ptr != e.data() + e.size()) return std::nullopt;
    exponent = value;
  }
  // The value itself must be a finite double (1e400 is not); from_chars reads the whole rest.
  double value = 0.0;
  const auto r = std::from_chars(number.data(), number.data() + number.size(), value);
  if (r.ec != std::errc() || r.ptr != number.data() + number.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  const long total = exponent - fraction_digits + dropped;
  if (total < -100000 || total > 100000) return std::nullopt;
  // A zero's exponent only states a precision; "0e6703" would claim 10^6703 (and 0 × 10^6703 is NaN in
  // long double), so a zero is at most as coarse as 1 (fuzzer finding, tests/fuzz/corpus/csv_import).
  d.exponent = d.digits == 0 ? static_cast<int>(std::min(total, 0L)) : static_cast<int>(total);
  if (negative) d.digits = -d.digits;
  return d;
}

double to_double(const PrintedDecimal& d) noexcept {
  return static_cast<double>(static_cast<long double>(d.digits) * powl(10.0L, d.exponent));
}

namespace {

// Builds a CsvTable line by line: the first line sets delimiter, header and the columns asked for; every
// later one is a data row. Each method throws ImportError naming the file and line.
class TableBuilder {
 public:
  explicit TableBuilder(const CsvRequest& request) : request_(request) {
    table_.values.resize(request.value_columns.size());
  }

  void add_line(std::string_view line, std::size_t number) {
    if (line.size() > kMaxCsvLineBytes)
      fail(number, fmt::format("line longer than {} bytes", kMaxCsvLineBytes));
    if (!line.empty() && line.front() == '#') return;  // comment (BioSPPy "Simple Text Format")
    if (is_blank(line)) {
      if (header_line_ != 0 && blank_line_ == 0) blank_line_ = number;
      return;
    }
    if (header_line_ == 0) {
      start(line, number);
    } else {
      split(line, delim_, cells_);
      add_row(number);
    }
  }

  CsvTable finish() {
    if (header_line_ == 0)
      throw ImportError(fmt::format("{}: empty (no header, no data rows)", request_.source));
    if (table_.rows() == 0) fail(header_line_, "a header and no data rows");
    return std::move(table_);
  }

 private:
  [[noreturn]] void fail(std::size_t line, const std::string& problem) const {
    throw ImportError(fmt::format("{}:{}: {}", request_.source, line, problem));
  }

  // Delimiter (the first of , ; tab in the line, else whitespace), header (or none: columns "1", "2", ...
  // when every cell is a number, and the line is data), and the columns asked for.
  void start(std::string_view line, std::size_t number) {
    header_line_ = number;
    for (char d : {',', ';', '\t'}) {
      if (line.find(d) != std::string_view::npos) {
        delim_ = d;
        break;
      }
    }
    split(line, delim_, cells_);
    if (cells_.size() > kMaxCsvColumns) {
      fail(number, fmt::format("{} columns, more than {}", cells_.size(), kMaxCsvColumns));
    }
    const bool numeric = std::all_of(cells_.begin(), cells_.end(),
                                     [](std::string_view c) { return parse_printed_decimal(c).has_value(); });
    for (std::size_t i = 0; i < cells_.size(); ++i) {
      table_.header.push_back(numeric ? std::to_string(i + 1) : std::string(cells_[i]));
    }
    for (const std::string& name : request_.value_columns) value_index_.push_back(find_column(name));
    if (request_.time_column) time_index_ = find_column(*request_.time_column);
    for (const std::string& name : request_.motion_columns) motion_index_.push_back(find_column(name));
    table_.motion.resize(motion_index_.size());
    if (numeric) add_row(number);
  }

  std::size_t find_column(const std::string& name) const {
    const auto it = std::find(table_.header.begin(), table_.header.end(), name);
    if (it != table_.header.end()) return static_cast<std::size_t>(it - table_.header.begin());
    std::string names;
    for (const auto& h : table_.header) {
      if (names.size() > 80) {
        names += ", ...";
        break;
      }
      names += (names.empty() ? "" : ", ") + h;
    }
    throw ImportError(fmt::format("{}: montage column '{}' does not exist in {} (columns: {})",
                                  request_.montage, shown(name), request_.source, names));
  }

  void add_row(std::size_t line) {
    if (cells_.size() != table_.header.size()) {
      fail(line, fmt::format("row has {} cells, the header {}", cells_.size(), table_.header.size()));
    }
    if (blank_line_ != 0) fail(blank_line_, "blank line between data rows (a damaged or joined file?)");
    for (std::size_t c = 0; c < value_index_.size(); ++c) {
      const std::string_view cell = cells_[value_index_[c]];
      const auto d = parse_printed_decimal(cell);
      if (!d) {
        fail(line,
             fmt::format("column '{}': '{}' is not a finite number", request_.value_columns[c], shown(cell)));
      }
      table_.values[c].push_back(*d);
    }
    for (std::size_t c = 0; c < motion_index_.size(); ++c) {
      const std::string_view cell = cells_[motion_index_[c]];
      const auto d = parse_printed_decimal(cell);
      if (!d && !cell.empty()) {
        fail(line, fmt::format("column '{}': '{}' is neither a finite number nor empty",
                               request_.motion_columns[c], shown(cell)));
      }
      table_.motion[c].push_back(d ? to_double(*d) : std::numeric_limits<double>::quiet_NaN());
    }
    if (time_index_) {
      const std::string_view cell = cells_[*time_index_];
      const auto t = parse_printed_decimal(cell);
      if (!t) fail(line, fmt::format("time '{}' is not a finite number", shown(cell)));
      table_.times_s.push_back(to_double(*t));
    }
    table_.lines.push_back(line);
  }

  const CsvRequest& request_;
  CsvTable table_;
  std::vector<std::string_view> cells_;
  std::vector<std::size_t> value_index_;
  std::optional<std::size_t> time_index_;
  std::vector<std::size_t> motion_index_;
  char delim_ = ' ';
  std::size_t header_line_ = 0;
  std::size_t blank_line_ = 0;  // first blank line after the header, if any
};

}  // namespace

CsvTable parse_csv_table(std::string_view text, const CsvRequest& request) {
  TableBuilder builder(request);
  std::size_t number = 0;
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    builder.add_line(line, ++number);
  }
  return builder.finish();
}

ChannelCounts to_counts(const CsvTable& table, const CsvRequest& request, std::size_t column, bool integers,
                        int finest_exponent) {
  const std::vector<PrintedDecimal>& values = table.values.at(column);
  const std::string& name = request.value_columns.at(column);
  ChannelCounts out;
  int resolution = std::numeric_limits<int>::max();
  long double max_abs = 0.0L;
  for (const PrintedDecimal& d : values) {
    resolution = std::min(resolution, d.exponent);
    max_abs = std::max(max_abs, fabsl(static_cast<long double>(d.digits) * powl(10.0L, d.exponent)));
  }
  if (integers) {
    for (std::size_t r = 0; r < values.size(); ++r) {
      if (!represented_exactly(values[r], 0) || !count_at(values[r], 0)) {
        throw ImportError(fmt::format("{}:{}: column '{}' (unit counts): {:g} is not an int32 count",
                                      request.source, table.lines.at(r), name, to_double(values[r])));
      }
    }
    resolution = 0;
  } else {
    resolution = std::max(resolution, finest_exponent);
    if (max_abs > 0.0L) {  // the finest resolution at which the largest value fits int32 (~9.3 digits)
      // In long double and compared before the cast: for a subnormal maximum (4.21e-318) the quotient
      // underflows to 0 in double, log10 gives -inf, and casting -inf to int is undefined (fuzzer finding,
      // tests/fuzz/corpus/csv_import). A fit finer than `resolution` changes nothing, so it is never cast.
      const long double fit = ceill(log10l(max_abs) - log10l(static_cast<long double>(kInt32Max)));
      if (fit > static_cast<long double>(resolution)) resolution = static_cast<int>(fit);
    }
  }
  out.counts.assign(values.size(), 0);
  for (bool fits = false; !fits;) {
    fits = true;
    for (std::size_t r = 0; r < values.size() && fits; ++r) {
      const auto c = count_at(values[r], resolution);
      fits = c.has_value();
      if (fits) out.counts[r] = static_cast<std::int32_t>(*c);
    }
    if (!fits && (integers || resolution > 100000)) {
      throw ImportError(
          fmt::format("{}: column '{}' has values that do not fit int32 counts", request.source, name));
    }
    if (!fits) ++resolution;  // the estimate was a decade short (rounding at the int32 edge)
  }
  out.resolution_exponent = resolution;
  out.resolution = exact_power_of_ten(resolution);
  for (std::size_t r = 0; r < values.size(); ++r) {
    if (represented_exactly(values[r], resolution)) continue;
    ++out.rounded;
    const long double stored = static_cast<long double>(out.counts[r]) * powl(10.0L, resolution);
    const long double value = static_cast<long double>(values[r].digits) * powl(10.0L, values[r].exponent);
    out.max_abs_error = std::max(out.max_abs_error, static_cast<double>(fabsl(stored - value)));
  }
  return out;
}

}  // namespace glutescope::store
