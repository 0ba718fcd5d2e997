#include "store/session_checks.hpp"

#include <cmath>
#include <cstdio>

#include "store/session_format.hpp"

namespace glutescope::store::session_checks {

std::uint64_t dataset_rows(hid_t dataset, const Hdf5Where& where) {
  const std::vector<hsize_t> dims = dataset_dims(dataset, where);
  if (dims.empty())
    throw SessionFormatError(where.file + ": " + where.object + " is a scalar, expected rows");
  return dims[0];
}

[[noreturn]] void throw_format(const Hdf5Where& where, const std::string& problem) {
  throw SessionFormatError(where.file + ": " + where.object + " " + problem);
}

void check_row_dataset(hid_t dataset, std::size_t width, H5T_class_t type_class, std::size_t max_bytes,
                       const Hdf5Where& where) {
  const std::vector<hsize_t> dims = dataset_dims(dataset, where);
  const std::size_t rank = width == 0 ? 1 : 2;
  if (dims.size() != rank) {
    throw_format(where, "has rank " + std::to_string(dims.size()) + ", expected " + std::to_string(rank) +
                            (rank == 1 ? " (one value per row)" : " (rows x " + std::to_string(width) + ")"));
  }
  if (rank == 2 && dims[1] != width) {
    throw_format(where, "has " + std::to_string(dims[1]) + " columns, expected " + std::to_string(width));
  }
  check_type_class(dataset, type_class, max_bytes, where);
  check_logical_size(dataset, dims[0], std::max<std::size_t>(width, 1) * max_bytes, where);
}

void check_table_rank(hid_t group, const std::string& name, const Hdf5Where& where) {
  if (!has_link(group, name)) return;  // read_column names the missing dataset
  DatasetHandle d(checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open dataset", where));
  const auto dims = dataset_dims(d.get(), where);
  if (dims.size() != 1) {
    throw SessionFormatError(where.file + ": " + where.object + "/" + name + " has rank " +
                             std::to_string(dims.size()) + ", expected 1 (one value per row)");
  }
}

std::vector<std::string> table_strings(hid_t group, const std::string& name, const Hdf5Where& where) {
  check_table_rank(group, name, where);
  return read_string_column(group, name, where);
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0.0; }

std::string num(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

void check_rate(double rate_hz, const Hdf5Where& where) {
  if (!std::isfinite(rate_hz) || rate_hz < kMinSampleRateHz || rate_hz > kMaxSampleRateHz) {
    throw_format(where, "is " + num(rate_hz) + " Hz, outside the " +
                            std::to_string(static_cast<int>(kMinSampleRateHz)) + "-" +
                            std::to_string(static_cast<int>(kMaxSampleRateHz)) + " Hz a session may use");
  }
}

void check_positive_column(const std::vector<double>& column, const Hdf5Where& where,
                           const std::string& name) {
  for (std::size_t i = 0; i < column.size(); ++i) {
    if (!finite_positive(column[i])) {
      throw_format(where, "/" + name + " is " + num(column[i]) + " at row " + std::to_string(i) +
                              " (expected a finite positive number)");
    }
  }
}

}  // namespace glutescope::store::session_checks
