// Checks and row reads of a session file's datasets (store-internal, SessionReader's): rank, shape and type
// before anything is read, table columns, rates, and one-line messages that name the file and the object
// (docs/RELIABILITY.md "A reader that trusts nothing").
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/hdf5_handle.hpp"
#include "store/session_reader.hpp"

namespace glutescope::store::session_checks {

// Rows of a row dataset whose rank was checked at open (check_row_dataset); the rank is checked again
// because a SWMR refresh re-reads the dataspace.
std::uint64_t dataset_rows(hid_t dataset, const Hdf5Where& where);

// SessionFormatError "<file>: <object> <problem>".
[[noreturn]] void throw_format(const Hdf5Where& where, const std::string& problem);

// A dataset of rows: rank 1 (width 0) or rank 2 with exactly `width` columns, numbers of `type_class` of at
// most `max_bytes` bytes, and no more rows than the file can hold.
void check_row_dataset(hid_t dataset, std::size_t width, H5T_class_t type_class, std::size_t max_bytes,
                       const Hdf5Where& where);

// A column of a table (channels, IMU sensors, events, gaps): one value per row, rank 1.
void check_table_rank(hid_t group, const std::string& name, const Hdf5Where& where);

template <typename T>
std::vector<T> table_column(hid_t group, const std::string& name, const Hdf5Where& where) {
  check_table_rank(group, name, where);
  return read_column<T>(group, name, where);
}

std::vector<std::string> table_strings(hid_t group, const std::string& name, const Hdf5Where& where);

bool finite_positive(double v);

// A number for a message: 6 significant digits ("1e+308", "nan"), never 300 of them.
std::string num(double v);

// A stream's rate within kMinSampleRateHz..kMaxSampleRateHz.
void check_rate(double rate_hz, const Hdf5Where& where);

template <typename T>
void check_length(const std::vector<T>& column, std::size_t expected, const Hdf5Where& where,
                  const std::string& name) {
  if (column.size() != expected) {
    throw_format(where, "/" + name + " has " + std::to_string(column.size()) + " rows, expected " +
                            std::to_string(expected) + " (one per entry of the table)");
  }
}

void check_positive_column(const std::vector<double>& column, const Hdf5Where& where,
                           const std::string& name);

// Rows [first, first + rows) of a [rows] (width 0) or [rows x width] dataset into out, which holds
// rows x max(width, 1) elements.
template <typename T>
void read_rows_into(hid_t dataset, std::uint64_t first, std::uint64_t rows, std::size_t width,
                    const Hdf5Where& where, T* out) {
  if (rows == 0) return;
  DataspaceHandle file_space(checked(H5Dget_space(dataset), "get dataspace of", where));
  const int rank = width == 0 ? 1 : 2;
  const hsize_t start[2] = {first, 0};
  const hsize_t count[2] = {rows, width};
  check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
               "select rows of", where);
  DataspaceHandle mem_space(checked(H5Screate_simple(rank, count, nullptr), "create dataspace for", where));
  check_status(H5Dread(dataset, native_type<T>(), mem_space.get(), file_space.get(), H5P_DEFAULT, out),
               "read rows of", where);
}

// The same rows as a vector.
template <typename T>
std::vector<T> read_rows(hid_t dataset, std::uint64_t first, std::uint64_t rows, std::size_t width,
                         const Hdf5Where& where) {
  std::vector<T> out(rows * std::max<std::size_t>(width, 1));
  read_rows_into(dataset, first, rows, width, where, out.data());
  return out;
}

}  // namespace glutescope::store::session_checks
