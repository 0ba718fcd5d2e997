#include "store/session_writer_streams.hpp"

#include <zlib.h>

#include <algorithm>

namespace glutescope::store {

void ExtendibleDataset::create(hid_t group, const std::string& group_path, const std::string& name,
                               hid_t file_type, hid_t mem_type, std::size_t bytes, std::size_t cols,
                               std::size_t chunk_rows, int deflate_level, const std::string& file_path) {
  memtype = mem_type;
  element_bytes = bytes;
  width = cols;
  where = Hdf5Where{file_path, group_path + "/" + name};
  const int rank = cols == 0 ? 1 : 2;
  const hsize_t dims[2] = {0, cols};
  const hsize_t maxdims[2] = {H5S_UNLIMITED, cols};
  const hsize_t chunk[2] = {std::max<hsize_t>(chunk_rows, 1), std::max<hsize_t>(cols, 1)};
  DataspaceHandle space(checked(H5Screate_simple(rank, dims, maxdims), "create dataspace for", where));
  PropListHandle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), "create property list for", where));
  check_status(H5Pset_chunk(dcpl.get(), rank, chunk), "set chunking of", where);
  check_status(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_NEVER), "set fill time of", where);
  if (deflate_level > 0) {
    check_status(H5Pset_shuffle(dcpl.get()), "set shuffle filter on", where);
    check_status(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(deflate_level)), "set deflate filter on",
                 where);
  }
  dataset = DatasetHandle(
      checked(H5Dcreate2(group, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
              "create dataset", where));
}

void ExtendibleDataset::append(const void* data, std::size_t n) {
  if (n == 0) return;
  const int rank = width == 0 ? 1 : 2;
  const hsize_t new_dims[2] = {rows + n, width};
  check_status(H5Dset_extent(dataset.get(), new_dims), "extend dataset", where);
  DataspaceHandle file_space(checked(H5Dget_space(dataset.get()), "get dataspace of", where));
  const hsize_t start[2] = {rows, 0};
  const hsize_t count[2] = {n, width};
  check_status(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
               "select rows of", where);
  DataspaceHandle mem_space(checked(H5Screate_simple(rank, count, nullptr), "create dataspace for", where));
  check_status(H5Dwrite(dataset.get(), memtype, mem_space.get(), file_space.get(), H5P_DEFAULT, data),
               "write rows to", where);
  rows += n;
  crc32 = static_cast<std::uint32_t>(
      ::crc32(crc32, static_cast<const Bytef*>(data),
              static_cast<uInt>(n * element_bytes * std::max<std::size_t>(width, 1))));
}

void Stream::write_rows(std::size_t n) {
  if (n == 0) return;
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i].append(pending[i].data(), n);
    const std::size_t bytes = n * data[i].element_bytes * data[i].width;
    pending[i].erase(pending[i].begin(), pending[i].begin() + static_cast<std::ptrdiff_t>(bytes));
  }
  sample_index.append(pending_samples.data(), n);
  pending_samples.erase(pending_samples.begin(), pending_samples.begin() + static_cast<std::ptrdiff_t>(n));
  rows_in_file += n;
  std::size_t blocks = 0;
  while (blocks < pending_blocks.size() && pending_blocks[blocks].first_row < rows_in_file) ++blocks;
  if (blocks > 0) {
    std::vector<std::uint64_t> rows(blocks), device(blocks);
    std::vector<double> host(blocks);
    for (std::size_t b = 0; b < blocks; ++b) {
      rows[b] = pending_blocks[b].first_row;
      host[b] = pending_blocks[b].host_time_s;
      device[b] = pending_blocks[b].device_time_us;
    }
    block_first_row.append(rows.data(), blocks);
    block_host_time.append(host.data(), blocks);
    block_device_time_us.append(device.data(), blocks);
    pending_blocks.erase(pending_blocks.begin(),
                         pending_blocks.begin() + static_cast<std::ptrdiff_t>(blocks));
  }
  for (auto& d : data) d.flush();
  sample_index.flush();
  block_first_row.flush();
  block_host_time.flush();
  block_device_time_us.flush();
}

StreamCheckpoint Stream::checkpoint() const {
  StreamCheckpoint c;
  c.rows = rows_in_file;
  c.blocks = block_first_row.rows;
  for (const auto& d : data) c.dataset_crc32.push_back(d.crc32);
  for (const auto* d : {&sample_index, &block_first_row, &block_host_time, &block_device_time_us}) {
    c.dataset_crc32.push_back(d->crc32);
  }
  return c;
}

void Stream::write_full_chunks() {
  const std::size_t n = pending_rows() / chunk_rows * chunk_rows;
  write_rows(n);
}

void Stream::close() {
  for (auto& d : data) d.dataset.reset();
  sample_index.dataset.reset();
  block_first_row.dataset.reset();
  block_host_time.dataset.reset();
  block_device_time_us.dataset.reset();
}

}  // namespace glutescope::store
