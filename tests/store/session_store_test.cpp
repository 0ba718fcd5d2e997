// Round trip, error paths, journal and writer-queue accounting of src/store against real HDF5 files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "session_fixture.hpp"
#include "store/hdf5_handle.hpp"
#include "store/journal.hpp"
#include "store/recovery.hpp"
#include "store/session_reader.hpp"
#include "store/session_writer.hpp"
#include "store/session_writer_thread.hpp"
#include "support/files.hpp"

namespace glutescope::store {
namespace {
using glutescope::test::slurp;

using ::testing::HasSubstr;
using testing::ReferenceSession;
using testing::TempDir;

std::vector<std::uint64_t> expected_emg_samples() {
  std::vector<std::uint64_t> samples;
  for (std::uint64_t s = 0; s < ReferenceSession::kEmgSamples; ++s) {
    if (s < ReferenceSession::kGapStart || s >= ReferenceSession::kGapStart + ReferenceSession::kGapCount) {
      samples.push_back(s);
    }
  }
  return samples;
}

TEST(SessionStore, ReferenceSessionReadsBackExactly) {
  TempDir dir;
  SessionWriterOptions options;
  options.chunk_duration_s = 0.25;  // several whole chunks plus a partial one at close
  const auto ref = testing::write_reference_session(dir / "s.h5", options);
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5.journal")) << "close() must remove the journal";

  SessionReader reader(dir / "s.h5");
  EXPECT_EQ(reader.info().format, "glutescope-session");
  EXPECT_EQ(reader.info().format_version, "1.2");
  EXPECT_EQ(reader.info().status, "complete");
  EXPECT_EQ(reader.info().subject_id, "S017");
  EXPECT_FALSE(reader.opened_swmr());

  const DeviceInfo device = testing::make_device();
  const DeviceInfo read_device = reader.device();
  EXPECT_EQ(read_device.serial_number, device.serial_number);
  EXPECT_EQ(read_device.firmware_version, device.firmware_version);
  EXPECT_EQ(read_device.device_id, device.device_id);
  EXPECT_EQ(read_device.emg_rate_hz, device.emg_rate_hz);
  ASSERT_EQ(read_device.emg.size(), 8U);
  ASSERT_EQ(read_device.imu.size(), 2U);
  EXPECT_TRUE(read_device.imu[1].has_magnetometer);
  EXPECT_DOUBLE_EQ(read_device.imu[1].gyro_dps_per_count, 500.0 / 32768.0);
  const Montage montage = reader.montage();
  const Montage expected_montage = testing::make_montage(device);
  for (std::size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(montage.emg[i].label, expected_montage.emg[i].label);
    EXPECT_EQ(montage.emg[i].muscle, expected_montage.emg[i].muscle);
    EXPECT_EQ(montage.emg[i].side, expected_montage.emg[i].side);
    EXPECT_EQ(montage.emg[i].electrode_site, expected_montage.emg[i].electrode_site);
    EXPECT_DOUBLE_EQ(montage.emg[i].microvolts_per_count, 0.1 + 0.05 * static_cast<double>(i));
  }
  EXPECT_EQ(montage.imu[2 - 1].segment, Segment::thigh_left);

  const auto samples = expected_emg_samples();
  ASSERT_EQ(reader.emg_rows(), samples.size());
  EXPECT_EQ(reader.emg_sample_index(), samples);
  const auto counts = reader.emg_counts();
  const auto uv = reader.emg_microvolts();
  for (std::size_t r = 0; r < samples.size(); ++r) {
    for (std::uint32_t c = 0; c < 8; ++c) {
      const std::int32_t expected = testing::emg_value(samples[r], c);
      ASSERT_EQ(counts[r * 8 + c], expected) << "row " << r << " channel " << c;
      ASSERT_NEAR(uv[r * 8 + c], expected * (0.1 + 0.05 * c), 1e-9);
    }
  }
  // A row range reads the same rows.
  const auto range = reader.emg_counts(1234, 10);
  EXPECT_EQ(std::vector<std::int32_t>(counts.begin() + std::ptrdiff_t{1234} * 8,
                                      counts.begin() + std::ptrdiff_t{1244} * 8),
            range);

  const BlockTable blocks = reader.emg_blocks();
  ASSERT_EQ(blocks.first_row.size(), samples.size() / 20);
  for (std::size_t b = 0; b < blocks.first_row.size(); ++b) {
    EXPECT_EQ(blocks.first_row[b], b * 20);
    const std::uint64_t first_sample = samples[b * 20];
    EXPECT_EQ(blocks.device_time_us[b], first_sample * 500 + 17);
    EXPECT_DOUBLE_EQ(blocks.host_time_s[b], 100.0 + static_cast<double>(first_sample) / 2000.0 + 0.003);
  }

  // IMU 1 (with magnetometer): sample = EMG block number, in g / deg/s / µT.
  ASSERT_EQ(reader.imu_count(), 2U);
  ASSERT_EQ(reader.imu_rows(1), samples.size() / 20);
  const auto imu_samples = reader.imu_sample_index(1);
  const auto physical = reader.imu_physical(1);
  for (std::size_t r = 0; r < imu_samples.size(); ++r) {
    EXPECT_EQ(imu_samples[r], samples[r * 20] / 20);
    for (int k = 0; k < 3; ++k) {
      ASSERT_DOUBLE_EQ(physical.accel[r * 3 + k], testing::imu_value(imu_samples[r], 1, k) * (4.0 / 32768.0));
      ASSERT_DOUBLE_EQ(physical.gyro[r * 3 + k],
                       testing::imu_value(imu_samples[r], 1, 3 + k) * (500.0 / 32768.0));
      ASSERT_DOUBLE_EQ(physical.mag[r * 3 + k], testing::imu_value(imu_samples[r], 1, 6 + k) * 0.15);
    }
  }
  EXPECT_EQ(reader.imu_rows(0), 2 * (samples.size() / 20));
  EXPECT_TRUE(reader.imu_counts(0).mag.empty());

  const auto events = reader.events();
  ASSERT_EQ(events.size(), ref.events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].time_s, ref.events[i].time_s);
    EXPECT_EQ(events[i].kind, ref.events[i].kind);
    EXPECT_EQ(events[i].exercise, ref.events[i].exercise);
    EXPECT_EQ(events[i].muscle, ref.events[i].muscle);
    EXPECT_EQ(events[i].side, ref.events[i].side);
    EXPECT_EQ(events[i].channel, ref.events[i].channel);
    EXPECT_EQ(events[i].text, ref.events[i].text);
    EXPECT_EQ(events[i].emg_sample, ref.events[i].emg_sample);  // a device event's sample, or none
  }
  const auto gaps = reader.gaps();
  ASSERT_EQ(gaps.size(), 1U);
  EXPECT_EQ(gaps[0].start_sample, 2000U);
  EXPECT_EQ(gaps[0].count, 40U);
  EXPECT_EQ(gaps[0].stream, StreamKind::emg);
  EXPECT_EQ(reader.timing_fit().drift_ppm, -12.5);
  EXPECT_EQ(reader.timing_fit().points, 250U);
  const auto stats = reader.statistics();
  EXPECT_EQ(stats.emg_samples, samples.size());
  EXPECT_EQ(stats.imu_samples, 3 * (samples.size() / 20));
  EXPECT_EQ(stats.crc_errors, 2U);
  EXPECT_EQ(stats.device_overflows, 1U);
}

TEST(SessionStore, Int24DeviceStoresInt32Counts) {
  TempDir dir;
  DeviceInfo device = testing::make_device(4, SampleFormat::int24, 4000.0, false);
  {
    SessionWriter writer(dir / "s.h5", device, testing::make_montage(device), "S1");
    for (std::uint64_t first = 0; first < 10000; first += 50)
      writer.append(testing::make_emg_block(first, 50, 4, true));
    writer.close();
  }
  SessionReader reader(dir / "s.h5");
  const auto counts = reader.emg_counts();
  ASSERT_EQ(counts.size(), 40000U);
  bool beyond_int16 = false;
  for (std::size_t r = 0; r < 10000; ++r) {
    for (std::uint32_t c = 0; c < 4; ++c) {
      ASSERT_EQ(counts[r * 4 + c], testing::emg_value(r, c, true));
      beyond_int16 |= std::abs(counts[r * 4 + c]) > 32767;
    }
  }
  EXPECT_TRUE(beyond_int16);
  EXPECT_EQ(reader.device().emg_format, SampleFormat::int24);
}

TEST(SessionStore, RefusesToOverwriteUnlessForced) {
  TempDir dir;
  const DeviceInfo device = testing::make_device(2, SampleFormat::int16, 2000.0, false);
  { SessionWriter(dir / "s.h5", device, testing::make_montage(device), "S1").close(); }
  try {
    SessionWriter writer(dir / "s.h5", device, testing::make_montage(device), "S1");
    FAIL() << "overwrote an existing session";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / "s.h5").string()));
    EXPECT_THAT(e.what(), HasSubstr("already exists"));
  }
  SessionWriterOptions force;
  force.force = true;
  SessionWriter writer(dir / "s.h5", device, testing::make_montage(device), "S2", force);
  writer.close();
  EXPECT_EQ(SessionReader(dir / "s.h5").info().subject_id, "S2");
}

TEST(SessionStore, UnwritablePathNamesThePath) {
  const DeviceInfo device = testing::make_device(2, SampleFormat::int16, 2000.0, false);
  const std::filesystem::path path = "/nonexistent-dir-for-glutescope/s.h5";
  try {
    SessionWriter writer(path, device, testing::make_montage(device), "S1");
    FAIL() << "created a file in a missing directory";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(path.string()));
  }
}

TEST(SessionStore, RejectsMalformedBlocksAndStaysUsable) {
  TempDir dir;
  const DeviceInfo device = testing::make_device(2, SampleFormat::int16, 2000.0, false);
  SessionWriter writer(dir / "s.h5", device, testing::make_montage(device), "S1");
  writer.append(testing::make_emg_block(0, 10, 2));
  EXPECT_THROW(writer.append(testing::make_emg_block(5, 10, 2)), std::invalid_argument);   // overlap
  EXPECT_THROW(writer.append(testing::make_emg_block(10, 10, 3)), std::invalid_argument);  // channels
  EmgBlock too_big = testing::make_emg_block(10, 1, 2);
  too_big.counts[0] = 40000;
  EXPECT_THROW(writer.append(too_big), std::invalid_argument);
  EXPECT_THROW(writer.append(testing::make_imu_block(0, 0, 1, false)), std::invalid_argument);  // no IMU
  writer.append(testing::make_emg_block(10, 10, 2));
  writer.close();
  EXPECT_EQ(SessionReader(dir / "s.h5").emg_sample_index().size(), 20U);
  EXPECT_THROW(SessionWriter(dir / "t.h5", device, Montage{}, "S1"), std::invalid_argument);
  EXPECT_THROW(SessionWriter(dir / "u.h5", device, testing::make_montage(device), ""), std::invalid_argument);
}

// Issue 11: one flipped byte in a journal record used to drop every record after it without a word ("+0 from
// the journal"), and recovery kept fewer rows than the file alone held. Now the damaged record is skipped and
// named, the records after it are used, and the file's rows past the checkpoint fill the hole.
TEST(Recovery, DamagedJournalRecordIsNamedAndTheFileFillsTheHole) {
  TempDir dir;
  const auto path = dir / "s.h5";
  const DeviceInfo device = testing::make_device();
  {
    SessionWriterOptions options;
    options.chunk_duration_s = 0.1;  // 200-row chunks: the file holds whole chunks past the checkpoint
    SessionWriter writer(path, device, testing::make_montage(device), "S9", options);
    for (std::uint64_t b = 0; b < 137; ++b) {
      writer.append(testing::make_emg_block(b * 20, 20, 8));
      writer.append(testing::make_imu_block(0, b * 2, 2, false));
      writer.append(testing::make_imu_block(1, b, 1, true));
      if (b == 30) writer.checkpoint();
    }
  }  // destroyed without close(): "recording", like a crash
  // Flip one payload byte of the 40th EMG record after the checkpoint (rows the file holds too).
  const auto journal = dir / "s.h5.journal";
  std::string bytes = slurp(journal);
  std::size_t pos = 8;
  int emg_records = 0;
  std::size_t flipped_at = 0;
  while (pos + 9 <= bytes.size()) {
    std::uint32_t length = 0;
    std::memcpy(&length, bytes.data() + pos, 4);
    if (bytes[pos + 8] == 1 && ++emg_records == 40) {
      flipped_at = pos + 9 + length / 2;
      bytes[flipped_at] = static_cast<char>(bytes[flipped_at] ^ 0x10);
      break;
    }
    pos += 9 + length;
  }
  ASSERT_GT(flipped_at, 0U);
  std::ofstream(journal, std::ios::binary | std::ios::trunc) << bytes;
  const auto contents = read_journal(journal);
  ASSERT_EQ(contents.damaged.size(), 1U);
  EXPECT_FALSE(contents.torn_tail);

  const RecoveryReport report = recover(path);
  EXPECT_EQ(report.journal_damaged_records, 1U);
  EXPECT_GT(report.journal_damaged_bytes, 0U);
  EXPECT_GT(report.emg_rows_unverified_from_file, 0U);
  SessionReader reader(path);
  ASSERT_EQ(reader.emg_rows(), 2740U);  // the file held the damaged record's rows: nothing is lost
  const auto counts = reader.emg_counts();
  const auto samples = reader.emg_sample_index();
  for (std::uint64_t r = 0; r < 2740; ++r) {
    ASSERT_EQ(samples[r], r);
    for (std::uint32_t c = 0; c < 8; ++c) ASSERT_EQ(counts[r * 8 + c], testing::emg_value(r, c)) << r;
  }
  EXPECT_EQ(reader.emg_blocks().first_row.size(), 137U);
}

TEST(Journal, DamageInTheMiddleIsSkippedAndReported) {
  TempDir dir;
  const auto path = dir / "j.journal";
  {
    JournalWriter journal(path);
    for (std::uint64_t b = 0; b < 3; ++b) journal.append(testing::make_emg_block(b * 5, 5, 3), true, false);
    journal.sync();
  }
  std::string bytes = slurp(path);
  const std::size_t record = (bytes.size() - 8) / 3;
  bytes[8 + record + 4] = static_cast<char>(bytes[8 + record + 4] ^ 1);  // the middle record's CRC field
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  const auto contents = read_journal(path);
  ASSERT_EQ(contents.records.size(), 2U);
  ASSERT_EQ(contents.damaged.size(), 1U);
  EXPECT_EQ(contents.damaged[0].offset, 8 + record);
  EXPECT_EQ(contents.damaged[0].bytes, record);
  EXPECT_FALSE(contents.torn_tail);
  EXPECT_EQ(std::get<JournalEmgBlock>(contents.records[1]).block.first_sample, 10U);
}

TEST(SessionReaderErrors, ClearMessages) {
  TempDir dir;
  { std::ofstream(dir / "text.h5") << "not hdf5 at all\n"; }
  EXPECT_THAT([&] { SessionReader r(dir / "text.h5"); },
              ::testing::ThrowsMessage<SessionFormatError>(HasSubstr("is not an HDF5 file")));
  EXPECT_THAT([&] { SessionReader r(dir / "missing.h5"); },
              ::testing::ThrowsMessage<SessionFormatError>(HasSubstr("no such file")));

  // An HDF5 file of some other program.
  {
    FileHandle f(H5Fcreate((dir / "other.h5").c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
    ASSERT_TRUE(f.valid());
    GroupHandle g(H5Gcreate2(f.get(), "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  EXPECT_THAT([&] { SessionReader r(dir / "other.h5"); },
              ::testing::ThrowsMessage<SessionFormatError>(HasSubstr("not a glutescope session")));

  // A newer major version.
  const DeviceInfo device = testing::make_device(2, SampleFormat::int16, 2000.0, false);
  { SessionWriter(dir / "new.h5", device, testing::make_montage(device), "S1").close(); }
  {
    FileHandle f(H5Fopen((dir / "new.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT));
    ASSERT_TRUE(f.valid());
    write_string_attribute(f.get(), "format_version", "2.0", Hdf5Where{"new.h5", "/"});
  }
  EXPECT_THAT([&] { SessionReader r(dir / "new.h5"); },
              ::testing::ThrowsMessage<SessionFormatError>(HasSubstr("newer than this glutescope reads")));

  // A truncated file (copy cut to half its size).
  testing::write_reference_session(dir / "full.h5");
  std::filesystem::copy_file(dir / "full.h5", dir / "cut.h5");
  std::filesystem::resize_file(dir / "cut.h5", std::filesystem::file_size(dir / "full.h5") / 2);
  try {
    SessionReader r(dir / "cut.h5");
    (void)r.emg_counts();
    FAIL() << "read a truncated file without error";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr((dir / "cut.h5").string()));
  }
}

TEST(Journal, RecordsRoundTripAndTornTailIsIgnored) {
  TempDir dir;
  const auto path = dir / "j.journal";
  {
    JournalWriter journal(path);
    journal.append(testing::make_emg_block(40, 5, 3), true, true);
    journal.append(testing::make_imu_block(1, 7, 2, true), true);
    journal.append(
        Event{1.5, EventKind::note, Exercise::mvc, Muscle::gluteus_medius, Side::left, 3, "hello", 77.5});
    journal.append(Gap{StreamKind::imu, 1, 9, 4, 2.5});
    journal.sync();
  }
  auto contents = read_journal(path);
  ASSERT_EQ(contents.records.size(), 4U);
  EXPECT_FALSE(contents.torn_tail);
  const auto& emg = std::get<JournalEmgBlock>(contents.records[0]);
  EXPECT_EQ(emg.block.counts, testing::make_emg_block(40, 5, 3).counts);
  EXPECT_TRUE(emg.continuation);
  EXPECT_EQ(std::get<JournalImuBlock>(contents.records[1]).block.mag,
            testing::make_imu_block(1, 7, 2, true).mag);
  EXPECT_EQ(std::get<Event>(contents.records[2]).text, "hello");
  EXPECT_EQ(std::get<Event>(contents.records[2]).emg_sample, 77.5);
  EXPECT_EQ(std::get<Gap>(contents.records[3]).count, 4U);

  // Flip one byte of the last record: it fails its CRC and is dropped, the others stay.
  const auto size = std::filesystem::file_size(path);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 3));
    f.put('\x7f');
  }
  contents = read_journal(path);
  EXPECT_EQ(contents.records.size(), 3U);
  EXPECT_TRUE(contents.torn_tail);
  // A half-written record at the end (crash mid-write) is ignored too.
  std::filesystem::resize_file(path, size - 20);
  contents = read_journal(path);
  EXPECT_EQ(contents.records.size(), 3U);
  EXPECT_TRUE(contents.torn_tail);
}

TEST(Journal, FullDeviceGivesClearError) {
  // /dev/full fails every write with ENOSPC: the error must name the path.
  try {
    JournalWriter journal("/dev/full");
    FAIL() << "writing to /dev/full succeeded";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/dev/full"));
    EXPECT_THAT(e.what(), HasSubstr("No space left on device"));
  }
}

TEST(SessionStore, FullDiskThrowsAndKeepsWrittenDataReadable) {
  GLUTESCOPE_SKIP_UNLESS_ROOT("SessionStore.FullDiskThrowsAndKeepsWrittenDataReadable");
  TempDir dir;
  const testing::SmallTmpfs disk(dir / "small", "2m");
  const auto path = disk.path() / "s.h5";
  const DeviceInfo device = testing::make_device(8, SampleFormat::int16, 2000.0, false);
  std::uint64_t appended = 0;
  std::uint64_t in_file = 0;
  {
    SessionWriterOptions options;
    options.chunk_duration_s = 0.1;
    SessionWriter writer(path, device, testing::make_montage(device), "S1", options);
    try {
      for (std::uint64_t first = 0;; first += 100) {
        writer.append(testing::make_emg_block(first, 100, 8));
        appended = writer.emg_rows();
        in_file = writer.emg_rows_in_file();
      }
    } catch (const std::runtime_error& e) {
      EXPECT_THAT(e.what(), HasSubstr(path.string()));
    }
    EXPECT_THROW(writer.append(testing::make_emg_block(1u << 30, 1, 8)), std::runtime_error);
  }
  ASSERT_GT(appended, 1000U);
  SessionReader reader(path);
  EXPECT_EQ(reader.info().status, "recording");
  const auto counts = reader.emg_counts();
  ASSERT_GE(reader.emg_rows(), in_file);
  for (std::uint64_t r = 0; r < reader.emg_rows(); ++r) {
    for (std::uint32_t c = 0; c < 8; ++c) ASSERT_EQ(counts[r * 8 + c], testing::emg_value(r, c));
  }
}

TEST(Recovery, WriterDestroyedWithoutCloseIsRecoveredWithJournal) {
  TempDir dir;
  const auto path = dir / "s.h5";
  const DeviceInfo device = testing::make_device();
  std::vector<Event> events;
  {
    SessionWriterOptions options;
    options.chunk_duration_s = 0.5;
    SessionWriter writer(path, device, testing::make_montage(device), "S9", options);
    for (std::uint64_t b = 0; b < 137; ++b) {  // 2740 samples: a partial chunk stays in memory + journal
      writer.append(testing::make_emg_block(b * 20, 20, 8));
      writer.append(testing::make_imu_block(0, b * 2, 2, false));
      writer.append(testing::make_imu_block(1, b, 1, true));
      if (b % 40 == 0) {
        events.push_back({static_cast<double>(b), EventKind::marker, Exercise::bridge, Muscle::other,
                          Side::left, -1, "marker " + std::to_string(b), std::nullopt});
        writer.add_event(events.back());
      }
      if (b == 60) writer.checkpoint();  // rotate the journal mid-session
    }
    EXPECT_LT(writer.emg_rows_in_file(), writer.emg_rows());
  }  // destroyed without close(): status stays "recording"
  {
    SessionReader crashed(path);
    EXPECT_EQ(crashed.info().status, "recording");
    EXPECT_LT(crashed.emg_rows(), 2740U);
  }
  const RecoveryReport report = recover(path);
  EXPECT_TRUE(report.journal_found);
  EXPECT_EQ(report.emg_rows_from_file + report.emg_rows_from_journal, 2740U);
  EXPECT_GT(report.emg_rows_from_journal, 0U);
  EXPECT_TRUE(std::filesystem::exists(dir / "s.h5.orig"));
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5.journal"));

  SessionReader reader(path);
  EXPECT_EQ(reader.info().status, "recovered");
  EXPECT_EQ(reader.info().subject_id, "S9");
  ASSERT_EQ(reader.emg_rows(), 2740U);
  const auto counts = reader.emg_counts();
  const auto samples = reader.emg_sample_index();
  for (std::uint64_t r = 0; r < 2740; ++r) {
    ASSERT_EQ(samples[r], r);
    for (std::uint32_t c = 0; c < 8; ++c) ASSERT_EQ(counts[r * 8 + c], testing::emg_value(r, c));
  }
  const BlockTable blocks = reader.emg_blocks();
  ASSERT_EQ(blocks.first_row.size(), 137U);
  for (std::size_t b = 0; b < 137; ++b) {
    EXPECT_EQ(blocks.first_row[b], b * 20);
    EXPECT_EQ(blocks.device_time_us[b], b * 20 * 500 + 17);
  }
  ASSERT_EQ(reader.imu_rows(1), 137U);
  const auto imu = reader.imu_counts(1);
  for (std::uint64_t r = 0; r < 137; ++r) ASSERT_EQ(imu.mag[r * 3 + 2], testing::imu_value(r, 1, 8));
  const auto read_events = reader.events();
  ASSERT_EQ(read_events.size(), events.size());
  for (std::size_t i = 0; i < events.size(); ++i) EXPECT_EQ(read_events[i].text, events[i].text);
  EXPECT_THROW(recover(path), std::runtime_error);  // now "recovered": nothing to do
}

// Issue 10 item 7: every HDF5 call of a recording on the writer thread, file creation included; the
// creator's errors (existing file without force) still reach the caller, and a hung creation is bounded.
TEST(SessionWriterThread, CreatesTheFileOnItsOwnThreadAndRethrowsItsError) {
  TempDir dir;
  const DeviceInfo device = testing::make_device(2, SampleFormat::int16, 2000.0, false);
  std::thread::id created_on;
  {
    SessionWriterThread thread(
        [&] {
          created_on = std::this_thread::get_id();
          return std::make_unique<SessionWriter>(dir / "s.h5", device, testing::make_montage(device), "S1");
        },
        kDefaultSessionWriterThreadOptions, 10.0, (dir / "s.h5").string());
    EXPECT_TRUE(thread.push(testing::make_emg_block(0, 20, 2)));
    thread.close();
  }
  EXPECT_NE(created_on, std::thread::id());
  EXPECT_NE(created_on, std::this_thread::get_id());
  EXPECT_EQ(SessionReader(dir / "s.h5").emg_rows(), 20U);
  auto again = [&] {
    SessionWriterThread thread(
        [&] {
          return std::make_unique<SessionWriter>(dir / "s.h5", device, testing::make_montage(device), "S1");
        },
        kDefaultSessionWriterThreadOptions, 10.0, (dir / "s.h5").string());
  };
  EXPECT_THAT(again, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("already exists")));
  auto hung = [&] {
    SessionWriterThread thread(
        [&]() -> std::unique_ptr<SessionWriter> {
          std::this_thread::sleep_for(std::chrono::milliseconds(1500));
          return nullptr;
        },
        kDefaultSessionWriterThreadOptions, 0.2, "slow.h5");
  };
  EXPECT_THAT(hung, ::testing::ThrowsMessage<std::runtime_error>(HasSubstr("took more than")));
  std::this_thread::sleep_for(std::chrono::milliseconds(1600));  // let the abandoned creator finish
}

TEST(SessionWriterThread, BlocksLargerThanTheQueueAreDroppedAndAccounted) {
  TempDir dir;
  const DeviceInfo device = testing::make_device(8, SampleFormat::int16, 2000.0, false);
  SessionWriterThreadOptions options;
  options.queue_capacity_bytes = 100;  // smaller than any block (20 × 8 × 4 = 640 bytes)
  options.host_clock_at_start_s = 100.0;
  SessionWriterThread thread(
      std::make_unique<SessionWriter>(dir / "s.h5", device, testing::make_montage(device), "S1"), options);
  for (std::uint64_t b = 0; b < 10; ++b) EXPECT_FALSE(thread.push(testing::make_emg_block(b * 20, 20, 8)));
  EXPECT_EQ(thread.dropped().blocks, 10U);
  EXPECT_EQ(thread.dropped().samples, 200U);
  EXPECT_EQ(thread.dropped().bytes, 6400U);
  thread.close();
  SessionReader reader(dir / "s.h5");
  EXPECT_EQ(reader.emg_rows(), 0U);
  const auto stats = reader.statistics();
  EXPECT_EQ(stats.queue_overflow_blocks, 10U);
  EXPECT_EQ(stats.queue_overflow_samples, 200U);
  EXPECT_EQ(stats.queue_overflow_bytes, 6400U);
  const auto gaps = reader.gaps();
  ASSERT_EQ(gaps.size(), 1U);  // contiguous drops coalesce into one gap
  EXPECT_EQ(gaps[0].start_sample, 0U);
  EXPECT_EQ(gaps[0].count, 200U);
  const auto events = reader.events();
  ASSERT_GE(events.size(), 1U);
  EXPECT_EQ(events[0].kind, EventKind::overflow);
  EXPECT_NEAR(events[0].time_s, 0.003, 1e-9);  // first dropped block's host time − host clock at start
}

TEST(SessionWriterThread, OverflowUnderLoadAccountsForEverySample) {
  TempDir dir;
  const DeviceInfo device = testing::make_device(8, SampleFormat::int16, 2000.0, false);
  SessionWriterThreadOptions options;
  options.queue_capacity_bytes = 2000;  // three 640-byte blocks
  SessionWriterThread thread(
      std::make_unique<SessionWriter>(dir / "s.h5", device, testing::make_montage(device), "S1"), options);
  std::vector<bool> accepted;
  for (std::uint64_t b = 0; b < 3000; ++b)
    accepted.push_back(thread.push(testing::make_emg_block(b * 20, 20, 8)));
  const auto dropped_blocks = static_cast<std::uint64_t>(std::count(accepted.begin(), accepted.end(), false));
  thread.close();
  ASSERT_GT(dropped_blocks, 0U) << "the producer never outran the writer";
  ASSERT_LT(dropped_blocks, 3000U);
  SessionReader reader(dir / "s.h5");
  std::vector<std::uint64_t> expected;
  for (std::uint64_t b = 0; b < 3000; ++b) {
    for (std::uint64_t s = 0; accepted[b] && s < 20; ++s) expected.push_back(b * 20 + s);
  }
  EXPECT_EQ(reader.emg_sample_index(), expected);
  EXPECT_EQ(reader.statistics().queue_overflow_blocks, dropped_blocks);
  EXPECT_EQ(reader.statistics().queue_overflow_samples, dropped_blocks * 20);
  // Gaps cover exactly the dropped samples.
  std::vector<bool> covered(60000, false);
  for (const auto& g : reader.gaps()) {
    for (std::uint64_t s = g.start_sample; s < g.start_sample + g.count; ++s) covered.at(s) = true;
  }
  for (std::uint64_t b = 0; b < 3000; ++b) {
    for (std::uint64_t s = 0; s < 20; ++s)
      ASSERT_EQ(covered[b * 20 + s], !accepted[b]) << "sample " << b * 20 + s;
  }
  bool has_overflow_event = false;
  for (const auto& e : reader.events()) has_overflow_event |= e.kind == EventKind::overflow;
  EXPECT_TRUE(has_overflow_event);
}

}  // namespace
}  // namespace glutescope::store
