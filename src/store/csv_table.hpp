// CSV text → exact decimal values → int32 counts at a per-channel resolution, with no file or HDF5 access
// (import.cpp writes the session; tests/fuzz/csv_import_fuzzer.cpp fuzzes this part alone).
//
// Every cell is read as the decimal it prints: digits × 10^exponent ("1.234e-05" = 1234 × 10^-8, "0.50" =
// 50 × 10^-2), the grammar checked over the whole cell and the value by std::from_chars. A channel's
// resolution is 10^e with e the finest printed digit of any of its cells, so that every value is an exact
// integer count; only when the column's range does not fit int32 at that resolution is e raised to the
// finest that fits, and the values that are then rounded are counted with their largest error
// (docs/ANALYSIS.md "CSV precision").
//
// Rejected with one line naming the file and line (ImportError): a header without data rows, a row whose
// cell count differs from the header's, a blank line between data rows, a line over kMaxCsvLineBytes or a
// header over kMaxCsvColumns, a cell that is not a finite decimal number in full ("0.001xyz", "nan",
// ""), a time cell likewise, a non-integer value in a "counts" column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace glutescope::store {

inline constexpr std::size_t kMaxCsvColumns = 4096;           // far above any EMG system's channel count
inline constexpr std::size_t kMaxCsvLineBytes = 1024 * 1024;  // 4096 columns × 256 characters

// value = digits × 10^exponent, as printed (trailing zeros kept: they state the writer's precision).
// At most 18 significant digits are kept (int64); `exact` is false if more were printed.
struct PrintedDecimal {
  std::int64_t digits = 0;
  int exponent = 0;
  bool exact = true;
};

// The whole cell as a finite decimal number ([+-]d[.d][e[+-]d], at least one digit), else nullopt.
std::optional<PrintedDecimal> parse_printed_decimal(std::string_view cell) noexcept;
double to_double(const PrintedDecimal& d) noexcept;

struct CsvRequest {
  std::string source;                      // file name for messages
  std::string montage;                     // montage file name, for "column does not exist" messages
  std::vector<std::string> value_columns;  // columns to import, in channel order
  std::optional<std::string> time_column;  // seconds
  // Motion and event columns (angle, accelerometer, gyroscope, marker codes): read as numbers where an empty
  // cell is "no new value" (NaN), so columns sampled slower than the EMG can share the file. Comma,
  // semicolon or tab separated files only (whitespace cannot mark an empty cell).
  std::vector<std::string> motion_columns;
};

struct CsvTable {
  std::vector<std::string> header;                  // names ("1", "2", ... when the file has none)
  std::vector<std::vector<PrintedDecimal>> values;  // [value column][row]
  std::vector<double> times_s;                      // [row], with a time column
  std::vector<std::vector<double>> motion;          // [motion column][row], NaN for an empty cell
  std::vector<std::size_t> lines;                   // [row]: 1-based line number in the file
  [[nodiscard]] std::size_t rows() const noexcept { return lines.size(); }
};

// Throws ImportError (one line, "<source>:<line>: ...").
CsvTable parse_csv_table(std::string_view text, const CsvRequest& request);

struct ChannelCounts {
  std::vector<std::int32_t> counts;
  int resolution_exponent = 0;  // count × 10^resolution_exponent = the value, in the column's unit
  double resolution = 1.0;      // 10^resolution_exponent, correctly rounded
  std::uint64_t rounded = 0;    // values not represented exactly (0: the channel is lossless)
  double max_abs_error = 0.0;   // largest |count × resolution − value|, in the column's unit
};

// Counts for value column `column` of `table` (see the file comment). `integers`: unit "counts",
// resolution 1, and a value with a fraction is an ImportError naming its line. `finest_exponent`: the
// resolution is never finer than 10^finest_exponent (import: 1 pV, DeviceInfoLimits). Throws ImportError
// if a value does not fit int32 at any resolution.
ChannelCounts to_counts(const CsvTable& table, const CsvRequest& request, std::size_t column, bool integers,
                        int finest_exponent);

}  // namespace glutescope::store
