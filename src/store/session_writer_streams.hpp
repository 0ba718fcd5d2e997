// The session writer's streams (SessionWriter::Impl, src/store/session_writer.cpp): each stream's extendible
// HDF5 datasets and the rows not yet handed to HDF5, with a running CRC-32 per dataset for recovery. Moved
// out of session_writer.cpp, which keeps the file layout, journal and durability logic. Internal to the
// writer; threading: as the writer's (one thread at a time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "store/hdf5_handle.hpp"
#include "store/journal.hpp"

namespace glutescope::store {

// One extendible dataset [rows, width] (width 0 → 1-D [rows]) appended at the end along the first axis.
struct ExtendibleDataset {
  DatasetHandle dataset;
  hid_t memtype = H5I_INVALID_HID;
  std::size_t element_bytes = 0;
  std::size_t width = 0;  // 0 = 1-D
  std::uint64_t rows = 0;
  std::uint32_t crc32 =
      0;  // zlib CRC-32 of every byte handed to HDF5 (recovery verifies durable rows with it)
  Hdf5Where where;

  void create(hid_t group, const std::string& group_path, const std::string& name, hid_t file_type,
              hid_t mem_type, std::size_t bytes, std::size_t cols, std::size_t chunk_rows, int deflate_level,
              const std::string& file_path);

  void append(const void* data, std::size_t n);

  void flush() { check_status(H5Dflush(dataset.get()), "flush dataset", where); }
};

struct BlockEntry {
  std::uint64_t first_row = 0;  // row index in the stream (in file + pending)
  double host_time_s = 0.0;
  std::uint64_t device_time_us = 0;
};

// One stream (EMG, or one IMU sensor): its datasets and the rows not yet handed to HDF5.
struct Stream {
  std::vector<ExtendibleDataset> data;  // EMG: {data}; IMU: {accelerometer, gyroscope[, magnetometer]}
  ExtendibleDataset sample_index, block_first_row, block_host_time, block_device_time_us;
  std::size_t chunk_rows = 1;
  std::vector<std::vector<std::uint8_t>> pending;  // per data dataset, row-major bytes
  std::vector<std::uint64_t> pending_samples;
  std::vector<BlockEntry> pending_blocks;  // entries whose first row is not yet in the file
  std::uint64_t rows_total = 0;            // appended
  std::uint64_t rows_in_file = 0;          // handed to HDF5
  bool has_samples = false;
  std::uint64_t last_sample = 0;

  [[nodiscard]] std::size_t pending_rows() const noexcept { return pending_samples.size(); }

  // Hand the first n pending rows (and the block entries starting in them) to HDF5, then H5Dflush so that a
  // SWMR reader sees them.
  void write_rows(std::size_t n);

  // What HDF5 holds of this stream (durable once the file is flushed and fsync'ed).
  [[nodiscard]] StreamCheckpoint checkpoint() const;

  void write_full_chunks();

  void close();
};

}  // namespace glutescope::store
