// libFuzzer harness for the CSV import's parser and count representation (src/store/csv_table.cpp; the
// HDF5 writing that follows is the session writer's, not fuzzed here). Byte 0 picks the request (columns
// by header name or by number, a time column, unit "counts"); the rest is the CSV text. An ImportError is
// a correct outcome; anything else must hold:
//   * every cell of an imported column is a finite decimal whose digits agree with std::from_chars;
//   * count × 10^resolution is within half a count of the printed value, and equal to it when the column
//     reports no rounding;
//   * a finite time per row, and one line number per row, increasing.
#include <cmath>
#include "fuzz/fuzz_check.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/csv_table.hpp"
#include "store/import.hpp"

namespace {

long double value_of(const glutescope::store::PrintedDecimal& d) {
  return static_cast<long double>(d.digits) * powl(10.0L, d.exponent);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace glutescope::store;
  if (size < 1) return 0;
  const std::uint8_t config = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  CsvRequest request;
  request.source = "fuzz.csv";
  request.montage = "fuzz.toml";
  if ((config & 1) != 0) {
    request.value_columns = {"1", "2"};  // a file without a header row
  } else {
    request.value_columns = {"VL", "RF"};
  }
  if ((config & 2) != 0) request.time_column = (config & 1) != 0 ? "3" : "t";
  const bool integers = (config & 4) != 0;
  const int finest = (config & 8) != 0 ? -12 : -6;  // V or µV (import: 1 pV)
  try {
    const CsvTable table = parse_csv_table(text, request);
    FUZZ_REQUIRE(table.rows() > 0 && table.values.size() == request.value_columns.size());
    for (std::size_t r = 0; r < table.rows(); ++r) {
      FUZZ_REQUIRE(r == 0 || table.lines[r] > table.lines[r - 1]);
      if (request.time_column) FUZZ_REQUIRE(std::isfinite(table.times_s.at(r)));
    }
    for (std::size_t c = 0; c < table.values.size(); ++c) {
      FUZZ_REQUIRE(table.values[c].size() == table.rows());
      for (const PrintedDecimal& d : table.values[c]) {
        const double v = to_double(d);
        FUZZ_REQUIRE(std::isfinite(v));
      }
      try {
        const ChannelCounts cc = to_counts(table, request, c, integers, finest);
        FUZZ_REQUIRE(cc.counts.size() == table.rows());
        FUZZ_REQUIRE(integers ? cc.resolution_exponent == 0 : cc.resolution_exponent >= finest);
        const long double step = powl(10.0L, cc.resolution_exponent);
        for (std::size_t r = 0; r < table.rows(); ++r) {
          const long double value = value_of(table.values[c][r]);
          const long double stored = static_cast<long double>(cc.counts[r]) * step;
          const long double error = fabsl(stored - value);
          FUZZ_REQUIRE(error <= 0.5L * step + fabsl(value) * 1e-17L);  // long double rounding
          if (cc.rounded == 0) FUZZ_REQUIRE(error <= fabsl(value) * 1e-15L + step * 1e-15L);
        }
      } catch (const ImportError&) {
        // a column that fits int32 at no resolution, or a fraction in a counts column
      }
    }
  } catch (const ImportError&) {
  }
  return 0;
}
