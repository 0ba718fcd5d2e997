#include "store/journal.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace glutescope::store {
namespace {

static_assert(std::endian::native == std::endian::little, "journal encoding assumes a little-endian host");

constexpr char kMagic[8] = {'G', 'S', 'J', 'R', 'N', 'L', '0', '1'};
constexpr std::size_t kHeaderBytes = 9;  // u32 length, u32 crc, u8 type

std::string errno_text(int error) { return std::generic_category().message(error); }

template <typename T>
void put(std::vector<std::uint8_t>& buffer, T value) {
  const auto offset = buffer.size();
  buffer.resize(offset + sizeof(T));
  std::memcpy(buffer.data() + offset, &value, sizeof(T));
}

template <typename T>
void put_array(std::vector<std::uint8_t>& buffer, const T* values, std::size_t n) {
  const auto offset = buffer.size();
  buffer.resize(offset + n * sizeof(T));
  if (n != 0) std::memcpy(buffer.data() + offset, values, n * sizeof(T));
}

// Bounds-checked decoding of one payload; a short payload throws (caught as a torn record).
class PayloadReader {
 public:
  PayloadReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T value;
    std::memcpy(&value, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  template <typename T>
  void get_array(T* out, std::size_t n) {
    need(n * sizeof(T));
    if (n != 0) std::memcpy(out, data_ + pos_, n * sizeof(T));
    pos_ += n * sizeof(T);
  }
  [[nodiscard]] bool done() const noexcept { return pos_ == size_; }

 private:
  void need(std::size_t n) const {
    if (n > size_ - pos_) throw std::length_error("journal payload too short");
  }
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void write_all(int fd, const void* data, std::size_t size, const std::filesystem::path& path) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, bytes, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      throw std::runtime_error("cannot write crash journal " + path.string() + ": " + errno_text(error));
    }
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
}

JournalRecord decode(JournalRecordType type, PayloadReader& in) {
  switch (type) {
    case JournalRecordType::emg_block: {
      JournalEmgBlock record;
      auto& b = record.block;
      b.first_sample = in.get<std::uint64_t>();
      b.channels = in.get<std::uint32_t>();
      const auto samples = in.get<std::uint32_t>();
      b.device_time_us = in.get<std::uint64_t>();
      b.host_time_s = in.get<double>();
      record.continuation = in.get<std::uint8_t>() != 0;
      const bool int16 = in.get<std::uint8_t>() != 0;
      const std::size_t n = std::size_t{samples} * b.channels;
      b.counts.resize(n);
      if (int16) {
        std::vector<std::int16_t> narrow(n);
        in.get_array(narrow.data(), n);
        for (std::size_t i = 0; i < n; ++i) b.counts[i] = narrow[i];
      } else {
        in.get_array(b.counts.data(), n);
      }
      return record;
    }
    case JournalRecordType::imu_block: {
      JournalImuBlock record;
      auto& b = record.block;
      b.sensor = in.get<std::uint8_t>();
      const bool has_mag = in.get<std::uint8_t>() != 0;
      b.first_sample = in.get<std::uint64_t>();
      const auto samples = in.get<std::uint32_t>();
      b.device_time_us = in.get<std::uint64_t>();
      b.host_time_s = in.get<double>();
      record.continuation = in.get<std::uint8_t>() != 0;
      b.accel.resize(std::size_t{samples} * 3);
      b.gyro.resize(std::size_t{samples} * 3);
      in.get_array(b.accel.data(), b.accel.size());
      in.get_array(b.gyro.data(), b.gyro.size());
      if (has_mag) {
        b.mag.resize(std::size_t{samples} * 3);
        in.get_array(b.mag.data(), b.mag.size());
      }
      return record;
    }
    case JournalRecordType::event: {
      Event e;
      e.time_s = in.get<double>();
      e.kind = static_cast<EventKind>(in.get<std::uint8_t>());
      e.exercise = static_cast<Exercise>(in.get<std::uint8_t>());
      e.muscle = static_cast<Muscle>(in.get<std::uint8_t>());
      e.side = static_cast<Side>(in.get<std::uint8_t>());
      e.channel = in.get<std::int32_t>();
      e.text.resize(in.get<std::uint32_t>());
      in.get_array(e.text.data(), e.text.size());
      if (!in.done()) {  // flag + position, since session format 1.1 (absent in older journals)
        const bool has_sample = in.get<std::uint8_t>() != 0;
        const double sample = in.get<double>();  // written (as 0) even without a position
        if (has_sample && std::isfinite(sample)) e.emg_sample = sample;
      }
      return e;
    }
    case JournalRecordType::gap: {
      Gap g;
      g.stream = static_cast<StreamKind>(in.get<std::uint8_t>());
      g.sensor = in.get<std::uint8_t>();
      g.start_sample = in.get<std::uint64_t>();
      g.count = in.get<std::uint64_t>();
      g.host_time_s = in.get<double>();
      return g;
    }
    case JournalRecordType::timing_fit: {
      TimingFit f;
      f.offset_s = in.get<double>();
      f.drift_ppm = in.get<double>();
      f.residual_rms_s = in.get<double>();
      f.points = in.get<std::uint64_t>();
      return f;
    }
    case JournalRecordType::statistics: {
      SessionStatistics s;
      s.frames_received = in.get<std::uint64_t>();
      s.crc_errors = in.get<std::uint64_t>();
      s.lost_frames = in.get<std::uint64_t>();
      s.device_overflows = in.get<std::uint64_t>();
      s.queue_overflow_blocks = in.get<std::uint64_t>();
      s.queue_overflow_samples = in.get<std::uint64_t>();
      s.queue_overflow_bytes = in.get<std::uint64_t>();
      return s;
    }
    case JournalRecordType::checkpoint: {
      JournalCheckpoint c;
      const auto streams = in.get<std::uint32_t>();
      for (std::uint32_t i = 0; i < streams; ++i) {
        StreamCheckpoint s;
        s.rows = in.get<std::uint64_t>();
        s.blocks = in.get<std::uint64_t>();
        const auto datasets = in.get<std::uint32_t>();
        if (datasets > 16) throw std::length_error("implausible checkpoint record");
        s.dataset_crc32.resize(datasets);
        in.get_array(s.dataset_crc32.data(), datasets);
        c.streams.push_back(std::move(s));
      }
      return c;
    }
  }
  throw std::length_error("unknown journal record type");
}

}  // namespace

std::filesystem::path journal_path_for(const std::filesystem::path& session_path) {
  std::filesystem::path p = session_path;
  p += std::string(kJournalSuffix);
  return p;
}

void sync_directory_of(const std::filesystem::path& path) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    throw std::runtime_error("cannot open directory " + dir.string() + " to sync it: " + errno_text(error));
  }
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot sync directory " + dir.string() + ": " + errno_text(error));
}

namespace {

// The record starting at `pos`, decoded, if it is intact (length within the file, CRC, payload all good).
std::optional<JournalRecord> intact_record_at(const std::vector<std::uint8_t>& data, std::size_t pos,
                                              std::size_t& end) {
  if (data.size() - pos < kHeaderBytes) return std::nullopt;
  std::uint32_t length = 0;
  std::uint32_t crc = 0;
  std::memcpy(&length, data.data() + pos, 4);
  std::memcpy(&crc, data.data() + pos + 4, 4);
  if (std::size_t{length} > data.size() - pos - kHeaderBytes) return std::nullopt;
  const std::uint8_t* typed = data.data() + pos + 8;  // type byte + payload
  if (typed[0] < static_cast<std::uint8_t>(JournalRecordType::emg_block) ||
      typed[0] > static_cast<std::uint8_t>(JournalRecordType::checkpoint)) {
    return std::nullopt;
  }
  if (static_cast<std::uint32_t>(::crc32(0L, typed, length + 1U)) != crc) return std::nullopt;
  try {
    PayloadReader payload(typed + 1, length);
    JournalRecord record = decode(static_cast<JournalRecordType>(typed[0]), payload);
    if (!payload.done()) return std::nullopt;
    end = pos + kHeaderBytes + length;
    return record;
  } catch (const std::length_error&) {
    return std::nullopt;
  }
}

}  // namespace

JournalContents read_journal(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open crash journal " + path.string());
  std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  JournalContents contents;
  contents.file_bytes = data.size();
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0) {
    throw std::runtime_error(path.string() + " is not a glutescope crash journal (bad magic)");
  }
  std::size_t pos = sizeof kMagic;
  contents.valid_bytes = pos;
  while (pos < data.size()) {
    std::size_t end = 0;
    if (auto record = intact_record_at(data, pos, end)) {
      contents.records.push_back(std::move(*record));
      pos = end;
      contents.valid_bytes = pos;
      continue;
    }
    // Damaged here: resume at the next intact record, if any (the journal is one checkpoint interval long,
    // and the type and length tests reject almost every offset before a CRC is computed).
    std::size_t next = pos + 1;
    std::optional<JournalRecord> resumed;
    for (; next + kHeaderBytes <= data.size(); ++next) {
      resumed = intact_record_at(data, next, end);
      if (resumed) break;
    }
    if (!resumed) break;  // nothing intact after: a torn tail
    contents.damaged.push_back({pos, next - pos});
    contents.records.push_back(std::move(*resumed));
    pos = end;
    contents.valid_bytes = pos;
  }
  contents.torn_tail = contents.valid_bytes != contents.file_bytes;
  return contents;
}

JournalWriter::JournalWriter(std::filesystem::path path) : path_(std::move(path)) {
  open_new(path_);
  sync();
  sync_directory_of(path_);
}

JournalWriter::~JournalWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (old_fd_ >= 0) ::close(old_fd_);
}

void JournalWriter::open_new(const std::filesystem::path& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const int error = errno;
    throw std::runtime_error("cannot create crash journal " + path.string() + ": " + errno_text(error));
  }
  bytes_ = 0;
  write_all(fd_, kMagic, sizeof kMagic, path);
  bytes_ += sizeof kMagic;
}

void JournalWriter::write_record(JournalRecordType type) {
  // buffer_ = [u32 length][u32 crc][u8 type][payload]; the header is filled in here so that the record goes
  // out in one write(2).
  const std::size_t length = buffer_.size() - kHeaderBytes;
  if (length > std::numeric_limits<std::uint32_t>::max() - 1U) {
    throw std::runtime_error("journal record too large for " + path_.string());
  }
  buffer_[8] = static_cast<std::uint8_t>(type);
  const auto length32 = static_cast<std::uint32_t>(length);
  const auto crc = static_cast<std::uint32_t>(::crc32(0L, buffer_.data() + 8, static_cast<uInt>(length + 1)));
  std::memcpy(buffer_.data(), &length32, 4);
  std::memcpy(buffer_.data() + 4, &crc, 4);
  write_all(fd_, buffer_.data(), buffer_.size(), path_);
  bytes_ += buffer_.size();
}

void JournalWriter::append(const EmgBlock& block, bool emg_int16, bool continuation) {
  buffer_.assign(kHeaderBytes, 0);
  put<std::uint64_t>(buffer_, block.first_sample);
  put<std::uint32_t>(buffer_, block.channels);
  put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(block.samples()));
  put<std::uint64_t>(buffer_, block.device_time_us);
  put<double>(buffer_, block.host_time_s);
  put<std::uint8_t>(buffer_, continuation ? 1 : 0);
  put<std::uint8_t>(buffer_, emg_int16 ? 1 : 0);
  const std::size_t n = block.samples() * block.channels;
  if (emg_int16) {
    const auto offset = buffer_.size();
    buffer_.resize(offset + n * sizeof(std::int16_t));
    for (std::size_t i = 0; i < n; ++i) {
      const auto narrow = static_cast<std::int16_t>(block.counts[i]);
      std::memcpy(buffer_.data() + offset + i * 2, &narrow, 2);
    }
  } else {
    put_array(buffer_, block.counts.data(), n);
  }
  write_record(JournalRecordType::emg_block);
}

void JournalWriter::append(const ImuBlock& block, bool continuation) {
  buffer_.assign(kHeaderBytes, 0);
  const std::size_t n = block.samples();
  const bool has_mag = !block.mag.empty();
  put<std::uint8_t>(buffer_, block.sensor);
  put<std::uint8_t>(buffer_, has_mag ? 1 : 0);
  put<std::uint64_t>(buffer_, block.first_sample);
  put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(n));
  put<std::uint64_t>(buffer_, block.device_time_us);
  put<double>(buffer_, block.host_time_s);
  put<std::uint8_t>(buffer_, continuation ? 1 : 0);
  put_array(buffer_, block.accel.data(), n * 3);
  put_array(buffer_, block.gyro.data(), n * 3);
  if (has_mag) put_array(buffer_, block.mag.data(), n * 3);
  write_record(JournalRecordType::imu_block);
}

void JournalWriter::append(const Event& event) {
  buffer_.assign(kHeaderBytes, 0);
  put<double>(buffer_, event.time_s);
  put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(event.kind));
  put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(event.exercise));
  put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(event.muscle));
  put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(event.side));
  put<std::int32_t>(buffer_, event.channel);
  put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(event.text.size()));
  put_array(buffer_, event.text.data(), event.text.size());
  put<std::uint8_t>(buffer_, event.emg_sample ? 1 : 0);
  put<double>(buffer_, event.emg_sample.value_or(0.0));
  write_record(JournalRecordType::event);
}

void JournalWriter::append(const Gap& gap) {
  buffer_.assign(kHeaderBytes, 0);
  put<std::uint8_t>(buffer_, static_cast<std::uint8_t>(gap.stream));
  put<std::uint8_t>(buffer_, gap.sensor);
  put<std::uint64_t>(buffer_, gap.start_sample);
  put<std::uint64_t>(buffer_, gap.count);
  put<double>(buffer_, gap.host_time_s);
  write_record(JournalRecordType::gap);
}

void JournalWriter::append(const TimingFit& fit) {
  buffer_.assign(kHeaderBytes, 0);
  put<double>(buffer_, fit.offset_s);
  put<double>(buffer_, fit.drift_ppm);
  put<double>(buffer_, fit.residual_rms_s);
  put<std::uint64_t>(buffer_, fit.points);
  write_record(JournalRecordType::timing_fit);
}

void JournalWriter::append(const SessionStatistics& s) {
  buffer_.assign(kHeaderBytes, 0);
  put<std::uint64_t>(buffer_, s.frames_received);
  put<std::uint64_t>(buffer_, s.crc_errors);
  put<std::uint64_t>(buffer_, s.lost_frames);
  put<std::uint64_t>(buffer_, s.device_overflows);
  put<std::uint64_t>(buffer_, s.queue_overflow_blocks);
  put<std::uint64_t>(buffer_, s.queue_overflow_samples);
  put<std::uint64_t>(buffer_, s.queue_overflow_bytes);
  write_record(JournalRecordType::statistics);
}

void JournalWriter::append(const JournalCheckpoint& checkpoint) {
  buffer_.assign(kHeaderBytes, 0);
  put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(checkpoint.streams.size()));
  for (const auto& s : checkpoint.streams) {
    put<std::uint64_t>(buffer_, s.rows);
    put<std::uint64_t>(buffer_, s.blocks);
    put<std::uint32_t>(buffer_, static_cast<std::uint32_t>(s.dataset_crc32.size()));
    put_array(buffer_, s.dataset_crc32.data(), s.dataset_crc32.size());
  }
  write_record(JournalRecordType::checkpoint);
}

void JournalWriter::sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) {
    const int error = errno;
    throw std::runtime_error("cannot sync crash journal " + path_.string() + ": " + errno_text(error));
  }
}

void JournalWriter::begin_rotation() {
  old_fd_ = fd_;
  old_bytes_ = bytes_;
  fd_ = -1;
  std::filesystem::path tmp = path_;
  tmp += ".tmp";
  try {
    open_new(tmp);
  } catch (...) {
    abort_rotation();
    throw;
  }
}

void JournalWriter::abort_rotation() noexcept {
  if (old_fd_ < 0) return;
  if (fd_ >= 0) ::close(fd_);  // -1 after a failed open(2)
  fd_ = std::exchange(old_fd_, -1);
  bytes_ = old_bytes_;
  // Free the space of the incomplete new journal (the usual cause is a full disk); the old one stays
  // complete.
  std::filesystem::path tmp = path_;
  tmp += ".tmp";
  ::unlink(tmp.c_str());
}

void JournalWriter::finish_rotation() {
  std::filesystem::path tmp = path_;
  tmp += ".tmp";
  sync();
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const int error = errno;
    throw std::runtime_error("cannot replace crash journal " + path_.string() + ": " + errno_text(error));
  }
  // The new journal is in place: commit before the directory sync so that a failing sync cannot send appends
  // to the old, now unlinked, file.
  ::close(old_fd_);
  old_fd_ = -1;
  sync_directory_of(path_);
}

void JournalWriter::remove() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
  sync_directory_of(path_);
}

}  // namespace glutescope::store
