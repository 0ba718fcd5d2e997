#include "store/recovery.hpp"

#include <algorithm>
#include <functional>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <zlib.h>

#include "store/journal.hpp"
#include "store/session_reader.hpp"
#include "store/session_writer.hpp"

namespace glutescope::store {
namespace {

// Values of one stream's rows as int32 [rows x width]; for IMU width = 6 or 9 (accel, gyro[, mag]).
struct OpenBlock {
  bool valid = false;
  std::uint64_t first_sample = 0;
  std::uint64_t device_time_us = 0;
  double host_time_s = 0.0;
  std::vector<std::int32_t> values;
  std::size_t rows = 0;
};

// Merges the rows of one stream from the crashed file and from the journal into whole blocks, deduplicating
// by sample index (a stream's samples strictly increase), and hands each finished block to `emit`.
class StreamMerger {
 public:
  StreamMerger(std::size_t width, std::function<void(const OpenBlock&)> emit)
      : width_(width), emit_(std::move(emit)) {}

  // A block from the file (rows contiguous in sample index).
  void file_block(std::uint64_t first_sample, std::uint64_t device_us, double host_s,
                  const std::int32_t* values, std::size_t rows) {
    finish();
    start(first_sample, device_us, host_s);
    add_rows(first_sample, values, rows);
  }

  // A journal record; returns the number of rows it contributed.
  std::size_t journal_block(std::uint64_t first_sample, std::uint64_t device_us, double host_s,
                            bool continuation, const std::int32_t* values, std::size_t rows) {
    if (!continuation && open_.valid && first_sample > open_.first_sample &&
        first_sample < open_.first_sample + open_.rows) {
      // The file holds the start of this block but not its block-table entry (crash between the flushes of
      // the row and block datasets): cut the open block where this one starts; the journal has all its rows.
      open_.rows = static_cast<std::size_t>(first_sample - open_.first_sample);
      open_.values.resize(open_.rows * width_);
      last_sample_ = first_sample - 1;
    }
    std::size_t skip = 0;
    if (has_last_) {
      while (skip < rows && first_sample + skip <= last_sample_) ++skip;
    }
    if (skip == rows) return 0;
    // Rows continuing the open block: a continuation record, or the tail of a block the file has only in
    // part.
    const bool extends_open =
        open_.valid && (continuation || skip > 0) && first_sample + skip == open_.first_sample + open_.rows;
    if (!extends_open) {
      finish();
      if (skip > 0 || continuation) {
        // Not contiguous with anything we hold: start a block at the first new row (its own entry).
        start(first_sample + skip, device_us, host_s);
      } else {
        start(first_sample, device_us, host_s);
      }
    }
    add_rows(first_sample + skip, values + skip * width_, rows - skip);
    return rows - skip;
  }

  void finish() {
    if (open_.valid && open_.rows > 0) emit_(open_);
    open_.valid = false;
    open_.values.clear();
    open_.rows = 0;
  }

 private:
  void start(std::uint64_t first_sample, std::uint64_t device_us, double host_s) {
    open_.valid = true;
    open_.first_sample = first_sample;
    open_.device_time_us = device_us;
    open_.host_time_s = host_s;
    open_.values.clear();
    open_.rows = 0;
  }
  void add_rows(std::uint64_t first_sample, const std::int32_t* values, std::size_t rows) {
    open_.values.insert(open_.values.end(), values, values + rows * width_);
    open_.rows += rows;
    last_sample_ = first_sample + rows - 1;
    has_last_ = true;
  }

  std::size_t width_;
  std::function<void(const OpenBlock&)> emit_;
  OpenBlock open_;
  bool has_last_ = false;
  std::uint64_t last_sample_ = 0;
};

constexpr std::uint64_t kBatchRows = 65536;

// How much of one stream recovery takes from the crashed file: the rows [0, rows) and block entries
// [0, blocks). Everything after comes from the journal.
struct FileExtent {
  std::uint64_t rows = 0;
  std::uint64_t blocks = 0;
};

template <typename T>
std::uint32_t crc_of(std::uint32_t crc, const std::vector<T>& values, std::size_t count) {
  return static_cast<std::uint32_t>(
      ::crc32(crc, reinterpret_cast<const Bytef*>(values.data()), static_cast<uInt>(count * sizeof(T))));
}

[[noreturn]] void throw_damaged(const std::string& path, const std::string& stream, const std::string& what,
                                const StreamCheckpoint& c) {
  throw std::runtime_error("cannot recover " + path + ": " + what + " of " + stream + " (" +
                           std::to_string(c.rows) + " rows the journal's checkpoint vouched for) read back " +
                           "differently; damaged beyond repair, original and journal left untouched");
}

// Checks that the crashed file still holds, bit for bit, what it held at the journal's checkpoint (CRC-32 of
// the native bytes of every dataset of the stream, as the writer computed them when it wrote them). Rows of a
// file that hit a full disk can read back as zeros; this is what keeps recovery from copying them.
// `read_rows(first, n, crcs)` folds rows [first, first + n) of the data datasets and sample_index into crcs.
template <typename ReadRows>
void verify_stream(const std::string& path, const std::string& stream, const StreamCheckpoint& c,
                   std::uint64_t file_rows, const BlockTable& blocks, std::size_t data_datasets,
                   ReadRows&& read_rows) {
  if (c.dataset_crc32.size() != data_datasets + 4) {
    throw std::runtime_error("cannot recover " + path + ": the crash journal's checkpoint describes " +
                             stream + " with " + std::to_string(c.dataset_crc32.size()) +
                             " datasets, the file has " + std::to_string(data_datasets + 4) +
                             " (journal of another session?)");
  }
  if (file_rows < c.rows || blocks.first_row.size() < c.blocks) throw_damaged(path, stream, "rows", c);
  std::vector<std::uint32_t> crc(data_datasets + 1, 0U);  // data datasets, sample_index
  for (std::uint64_t first = 0; first < c.rows; first += kBatchRows) {
    read_rows(first, std::min<std::uint64_t>(kBatchRows, c.rows - first), crc);
  }
  for (std::size_t k = 0; k <= data_datasets; ++k) {
    if (crc[k] != c.dataset_crc32[k]) {
      throw_damaged(path, stream, k < data_datasets ? "the data" : "the sample indices", c);
    }
  }
  const auto n = static_cast<std::size_t>(c.blocks);
  if (crc_of(0, blocks.first_row, n) != c.dataset_crc32[data_datasets + 1] ||
      crc_of(0, blocks.host_time_s, n) != c.dataset_crc32[data_datasets + 2] ||
      crc_of(0, blocks.device_time_us, n) != c.dataset_crc32[data_datasets + 3]) {
    throw_damaged(path, stream, "the block table", c);
  }
}

// With a checkpoint and a damaged journal: extends what is taken from the file past the checkpoint, over the
// rows whose sample index keeps strictly increasing (a chunk a full disk left as zeros stops it) and the
// block entries whose first row keeps increasing within them. The journal no longer vouches for every row
// after the checkpoint, so the file's rows there are the best evidence left (the "best of both").
FileExtent extend_past_checkpoint(const FileExtent& checkpoint, const std::vector<std::uint64_t>& index,
                                  const BlockTable& blocks) {
  FileExtent out = checkpoint;
  while (out.rows < index.size() && (out.rows == 0 || index[out.rows] > index[out.rows - 1])) ++out.rows;
  while (out.blocks < blocks.first_row.size() && blocks.first_row[out.blocks] < out.rows &&
         (out.blocks == 0 || blocks.first_row[out.blocks] > blocks.first_row[out.blocks - 1])) {
    ++out.blocks;
  }
  return out;
}

}  // namespace

RecoveryReport recover(const std::filesystem::path& path) {
  RecoveryReport report;
  const std::string path_text = path.string();
  std::filesystem::path backup = path;
  backup += ".orig";
  std::filesystem::path rebuilt = path;
  rebuilt += ".recovering";
  const auto journal_file = journal_path_for(path);
  std::error_code ec;
  if (std::filesystem::exists(backup, ec)) {
    throw std::runtime_error("cannot recover " + path_text + ": " + backup.string() +
                             " already exists (an earlier recovery?); move it away first");
  }

  {
    JournalContents journal;
    if (std::filesystem::exists(journal_file, ec)) {
      journal = read_journal(journal_file);
      report.journal_found = true;
      report.journal_torn_tail = journal.torn_tail;
      report.journal_records = journal.records.size();
      report.journal_damaged_records = journal.damaged.size();
      for (const JournalDamage& d : journal.damaged) report.journal_damaged_bytes += d.bytes;
      if (!journal.damaged.empty()) report.journal_first_damaged_offset = journal.damaged.front().offset;
    }
    // The journal starts with what the file held durably when the journal was started (a checkpoint) and
    // holds every row after it. With a checkpoint, the file is trusted only up to it (CRC-checked): rows past
    // it may have been cut off by a full disk or a power loss. Without a journal, the file is all there is.
    std::optional<JournalCheckpoint> checkpoint;
    for (const auto& record : journal.records) {
      if (const auto* c = std::get_if<JournalCheckpoint>(&record)) {
        checkpoint = *c;
        break;
      }
    }
    SessionReaderOpenOptions open_options;
    open_options.allow_truncated = checkpoint.has_value();
    SessionReader source(path, open_options);
    if (source.info().status != kStatusRecording) {
      throw std::runtime_error("nothing to recover in " + path_text + ": its status is \"" +
                               source.info().status + "\" (only \"recording\" sessions are recovered)");
    }
    report.file_was_truncated = source.opened_truncated();

    const DeviceInfo device = source.device();
    const bool emg_int16 = device.emg_format == SampleFormat::int16;
    std::vector<FileExtent> extents;  // EMG, then IMU sensors
    if (checkpoint) {
      if (checkpoint->streams.size() != 1 + device.imu.size()) {
        throw std::runtime_error("cannot recover " + path_text + ": its crash journal describes " +
                                 std::to_string(checkpoint->streams.size()) + " streams, the file has " +
                                 std::to_string(1 + device.imu.size()) + " (journal of another session?)");
      }
      verify_stream(path_text, "/acquisition/emg", checkpoint->streams[0], source.emg_rows(),
                    source.emg_blocks(checkpoint->streams[0].blocks), 1,
                    [&](std::uint64_t first, std::uint64_t n, std::vector<std::uint32_t>& crc) {
                      const auto counts = source.emg_counts(first, n);
                      if (emg_int16) {
                        std::vector<std::int16_t> narrow(counts.begin(), counts.end());
                        crc[0] = crc_of(crc[0], narrow, narrow.size());
                      } else {
                        crc[0] = crc_of(crc[0], counts, counts.size());
                      }
                      const auto index = source.emg_sample_index(first, n);
                      crc[1] = crc_of(crc[1], index, index.size());
                    });
      for (std::size_t sensor = 0; sensor < device.imu.size(); ++sensor) {
        const std::size_t datasets = device.imu[sensor].has_magnetometer ? 3 : 2;
        verify_stream(path_text, "/acquisition/imu sensor " + std::to_string(sensor),
                      checkpoint->streams[1 + sensor], source.imu_rows(sensor),
                      source.imu_blocks(sensor, checkpoint->streams[1 + sensor].blocks), datasets,
                      [&](std::uint64_t first, std::uint64_t n, std::vector<std::uint32_t>& crc) {
                        const auto counts = source.imu_counts(sensor, first, n);
                        crc[0] = crc_of(crc[0], counts.accel, counts.accel.size());
                        crc[1] = crc_of(crc[1], counts.gyro, counts.gyro.size());
                        if (datasets == 3) crc[2] = crc_of(crc[2], counts.mag, counts.mag.size());
                        const auto index = source.imu_sample_index(sensor, first, n);
                        crc[datasets] = crc_of(crc[datasets], index, index.size());
                      });
      }
      for (const auto& c : checkpoint->streams) extents.push_back({c.rows, c.blocks});
      if (!journal.damaged.empty()) {
        const FileExtent emg =
            extend_past_checkpoint(extents[0], source.emg_sample_index(), source.emg_blocks());
        report.emg_rows_unverified_from_file = emg.rows - extents[0].rows;
        extents[0] = emg;
        for (std::size_t sensor = 0; sensor < device.imu.size(); ++sensor) {
          const FileExtent imu = extend_past_checkpoint(extents[1 + sensor], source.imu_sample_index(sensor),
                                                        source.imu_blocks(sensor));
          report.imu_rows_unverified_from_file += imu.rows - extents[1 + sensor].rows;
          extents[1 + sensor] = imu;
        }
      }
    } else {
      extents.push_back({source.emg_rows(), source.emg_blocks().first_row.size()});
      for (std::size_t sensor = 0; sensor < device.imu.size(); ++sensor) {
        extents.push_back({source.imu_rows(sensor), source.imu_blocks(sensor).first_row.size()});
      }
    }
    SessionWriterOptions options;
    options.force = true;
    options.journal = false;
    options.session_start_time = source.info().session_start_time;
    options.host_clock_at_start_s = source.info().host_clock_at_start_s;
    options.session_description = source.info().session_description;
    const std::string prefix = "glutescope ";
    options.software_version = source.info().software_version.rfind(prefix, 0) == 0
                                   ? source.info().software_version.substr(prefix.size())
                                   : source.info().software_version;
    SessionWriter writer(rebuilt, device, source.montage(), source.info().subject_id, options);

    // --- EMG ---
    const std::size_t channels = device.emg.size();
    {
      StreamMerger merger(channels, [&](const OpenBlock& b) {
        EmgBlock block;
        block.first_sample = b.first_sample;
        block.channels = static_cast<std::uint32_t>(channels);
        block.counts = b.values;
        block.device_time_us = b.device_time_us;
        block.host_time_s = b.host_time_s;
        writer.append(block);
      });
      const BlockTable blocks = source.emg_blocks(extents[0].blocks);
      const std::uint64_t rows = extents[0].rows;
      const auto block_count = std::min<std::size_t>(extents[0].blocks, blocks.first_row.size());
      report.emg_rows_from_file = block_count == 0 ? 0 : rows - blocks.first_row.front();
      std::uint64_t batch_first = 0;
      std::vector<std::int32_t> batch;
      std::vector<std::uint64_t> batch_samples;
      for (std::size_t b = 0; b < block_count; ++b) {
        const std::uint64_t first = blocks.first_row[b];
        const std::uint64_t end = b + 1 < block_count ? blocks.first_row[b + 1] : rows;
        if (end <= first) continue;
        if (batch_samples.empty() || first < batch_first || end > batch_first + batch_samples.size()) {
          batch_first = first;
          // Never read past `rows`: what lies beyond may be missing from the disk (and is in the journal).
          const std::uint64_t n = std::min(std::max(kBatchRows, end - first), rows - first);
          batch = source.emg_counts(first, n);
          batch_samples = source.emg_sample_index(first, n);
        }
        const std::size_t offset = first - batch_first;
        merger.file_block(batch_samples[offset], blocks.device_time_us[b], blocks.host_time_s[b],
                          batch.data() + offset * channels, end - first);
      }
      for (const auto& record : journal.records) {
        if (const auto* r = std::get_if<JournalEmgBlock>(&record)) {
          if (r->block.channels != channels) continue;
          report.emg_rows_from_journal +=
              merger.journal_block(r->block.first_sample, r->block.device_time_us, r->block.host_time_s,
                                   r->continuation, r->block.counts.data(), r->block.samples());
        }
      }
      merger.finish();
    }

    // --- IMU, per sensor: rows as [accel(3) gyro(3) (mag(3))] int32 for the merger ---
    for (std::size_t sensor = 0; sensor < device.imu.size(); ++sensor) {
      const bool has_mag = device.imu[sensor].has_magnetometer;
      const std::size_t width = has_mag ? 9 : 6;
      StreamMerger merger(width, [&](const OpenBlock& b) {
        ImuBlock block;
        block.sensor = static_cast<std::uint8_t>(sensor);
        block.first_sample = b.first_sample;
        block.device_time_us = b.device_time_us;
        block.host_time_s = b.host_time_s;
        block.accel.assign(b.rows * 3, std::int16_t{0});
        block.gyro.assign(b.rows * 3, std::int16_t{0});
        if (has_mag) block.mag.assign(b.rows * 3, std::int16_t{0});
        for (std::size_t r = 0; r < b.rows; ++r) {
          for (std::size_t k = 0; k < 3; ++k) {
            block.accel[r * 3 + k] = static_cast<std::int16_t>(b.values[r * width + k]);
            block.gyro[r * 3 + k] = static_cast<std::int16_t>(b.values[r * width + 3 + k]);
            if (has_mag) block.mag[r * 3 + k] = static_cast<std::int16_t>(b.values[r * width + 6 + k]);
          }
        }
        writer.append(block);
      });
      auto interleave = [&](const std::int16_t* accel, const std::int16_t* gyro, const std::int16_t* mag,
                            std::size_t rows) {
        std::vector<std::int32_t> values(rows * width);
        for (std::size_t r = 0; r < rows; ++r) {
          for (std::size_t k = 0; k < 3; ++k) {
            values[r * width + k] = accel[r * 3 + k];
            values[r * width + 3 + k] = gyro[r * 3 + k];
            if (has_mag) values[r * width + 6 + k] = mag[r * 3 + k];
          }
        }
        return values;
      };
      const BlockTable blocks = source.imu_blocks(sensor, extents[1 + sensor].blocks);
      const std::uint64_t rows = extents[1 + sensor].rows;
      const auto block_count = std::min<std::size_t>(extents[1 + sensor].blocks, blocks.first_row.size());
      if (block_count > 0) report.imu_rows_from_file += rows - blocks.first_row.front();
      std::uint64_t batch_first = 0;
      std::vector<std::int32_t> batch;
      std::vector<std::uint64_t> batch_samples;
      for (std::size_t b = 0; b < block_count; ++b) {
        const std::uint64_t first = blocks.first_row[b];
        const std::uint64_t end = b + 1 < block_count ? blocks.first_row[b + 1] : rows;
        if (end <= first) continue;
        if (batch_samples.empty() || first < batch_first || end > batch_first + batch_samples.size()) {
          batch_first = first;
          const std::uint64_t n = std::min(std::max(kBatchRows, end - first), rows - first);
          const auto counts = source.imu_counts(sensor, first, n);
          batch_samples = source.imu_sample_index(sensor, first, n);
          batch = interleave(counts.accel.data(), counts.gyro.data(), has_mag ? counts.mag.data() : nullptr,
                             batch_samples.size());
        }
        const std::size_t offset = first - batch_first;
        merger.file_block(batch_samples[offset], blocks.device_time_us[b], blocks.host_time_s[b],
                          batch.data() + offset * width, end - first);
      }
      for (const auto& record : journal.records) {
        if (const auto* r = std::get_if<JournalImuBlock>(&record)) {
          if (r->block.sensor != sensor || r->block.mag.empty() == has_mag) continue;
          const auto values = interleave(r->block.accel.data(), r->block.gyro.data(),
                                         has_mag ? r->block.mag.data() : nullptr, r->block.samples());
          report.imu_rows_from_journal +=
              merger.journal_block(r->block.first_sample, r->block.device_time_us, r->block.host_time_s,
                                   r->continuation, values.data(), r->block.samples());
        }
      }
      merger.finish();
    }

    // --- events, gaps, timing fit, statistics: the journal holds all of them (rewritten at each rotation)
    // ---
    std::optional<TimingFit> fit;
    std::optional<SessionStatistics> stats;
    for (const auto& record : journal.records) {
      if (const auto* e = std::get_if<Event>(&record)) {
        writer.add_event(*e);
        ++report.events;
      } else if (const auto* g = std::get_if<Gap>(&record)) {
        writer.add_gap(*g);
        ++report.gaps;
      } else if (const auto* f = std::get_if<TimingFit>(&record)) {
        fit = *f;
      } else if (const auto* s = std::get_if<SessionStatistics>(&record)) {
        stats = *s;
      }
    }
    if (fit) writer.set_timing_fit(*fit);
    if (stats) writer.set_statistics(*stats);
    writer.close(FinalStatus::recovered);
  }

  // Swap in the rebuilt file; the original stays beside it, unmodified.
  std::filesystem::rename(path, backup);
  std::filesystem::rename(rebuilt, path);
  std::filesystem::remove(journal_file, ec);
  sync_directory_of(path);
  report.original_backup = backup;
  return report;
}

}  // namespace glutescope::store
