// Power-loss test (issue 11 item 9, docs/RELIABILITY.md §Power loss): a child records through the store API
// with powerloss_shim.c preloaded, which keeps, per session file and journal, the image a disk holds after a
// power cut (content at the last completed fsync/fdatasync) and the writes since. The child is SIGKILLed at a
// seeded random moment; the test builds the post-power-loss files from the images (all unsynced writes lost;
// or a random prefix of them applied, torn), runs recover() on them and checks that every block acknowledged
// ≥ 1 s before the cut is back bit-exact, that no row or event was fabricated, and that the report's row
// sources add up.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "power_loss_ack.hpp"
#include "session_fixture.hpp"
#include "store/recovery.hpp"
#include "store/session_reader.hpp"

namespace glutescope::store {
namespace {

using power_loss::Ack;
using power_loss::kBlockSamples;
using power_loss::kChannels;

constexpr const char* kSessionName = "power.h5";
// The session file, its journal and the journal's rotation temporary (what a disk would also hold).
constexpr const char* kTrackedNames[] = {"power.h5", "power.h5.journal", "power.h5.journal.tmp"};

std::vector<std::uint8_t> read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::filesystem::path& p, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << p;
}

struct PendingRecord {
  std::uint8_t kind = 0;  // 0 = write at offset, 1 = truncate to offset
  std::uint64_t offset = 0;
  std::vector<std::uint8_t> data;
};

// Parses PATH.pending (format in powerloss_shim.c); a record cut by the SIGKILL ends the list.
std::vector<PendingRecord> read_pending(const std::filesystem::path& p) {
  const auto bytes = read_bytes(p);
  std::vector<PendingRecord> records;
  std::size_t pos = 0;
  while (bytes.size() - pos >= 17) {
    PendingRecord r;
    r.kind = bytes[pos];
    std::uint64_t length = 0;
    std::memcpy(&r.offset, bytes.data() + pos + 1, 8);
    std::memcpy(&length, bytes.data() + pos + 9, 8);
    if (r.kind > 1 || length > bytes.size() - pos - 17) break;
    r.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(pos + 17),
                  bytes.begin() + static_cast<std::ptrdiff_t>(pos + 17 + length));
    records.push_back(std::move(r));
    pos += 17 + length;
  }
  return records;
}

void apply(std::vector<std::uint8_t>& image, const PendingRecord& r, std::size_t bytes) {
  if (r.kind == 1) {
    image.resize(r.offset);
    return;
  }
  if (image.size() < r.offset + bytes) image.resize(r.offset + bytes);
  std::copy_n(r.data.begin(), bytes, image.begin() + static_cast<std::ptrdiff_t>(r.offset));
}

// Builds in `out` the files a disk holds after the power returns. torn = false: each file is its durable
// image (every write since its last sync lost). torn = true: a random prefix of those writes reached the
// disk, the last of them cut at a random byte. tear_h5_bytes: the session file's last write may also be cut
// inside (else only the journal's is).
void build_disk_after_power_loss(const std::filesystem::path& live, const std::filesystem::path& out,
                                 bool torn, bool tear_h5_bytes, std::mt19937& rng) {
  std::filesystem::create_directories(out);
  for (const char* name : kTrackedNames) {
    const auto durable = live / (std::string(name) + ".durable");
    if (!std::filesystem::exists(durable)) continue;  // never created: not on the disk
    auto image = read_bytes(durable);
    if (torn) {
      const auto pending = read_pending(live / (std::string(name) + ".pending"));
      const auto applied = std::uniform_int_distribution<std::size_t>(0, pending.size())(rng);
      for (std::size_t i = 0; i < applied; ++i) apply(image, pending[i], pending[i].data.size());
      const bool tear_bytes = tear_h5_bytes || std::string(name) != kSessionName;
      if (tear_bytes && applied < pending.size() && !pending[applied].data.empty()) {
        const auto cut = std::uniform_int_distribution<std::size_t>(0, pending[applied].data.size() - 1)(rng);
        apply(image, pending[applied], cut);
      }
    }
    write_bytes(out / name, image);
  }
}

struct TrialOutcome {
  bool promised_something = false;      // some block was acknowledged ≥ 1 s before the cut
  double newest_lost_ack_age_s = -1.0;  // age at the cut of the oldest acknowledged block not recovered
  RecoveryReport report;
  bool refused = false;  // recover() threw
};

// Recovers `dir`/power.h5 and checks it against the acknowledgements; returns what was measured.
// (Fills `outcome` rather than returning it: gtest's ASSERT_* need a void function.)
// failure_allowed: recover() may refuse the file (counted in outcome.refused) but must never fabricate.
void recover_and_check(const std::filesystem::path& dir, const std::vector<Ack>& acks, std::int64_t cut_ns,
                       bool failure_allowed, TrialOutcome& outcome) {
  const auto path = dir / kSessionName;
  std::uint64_t promised_blocks = 0;  // blocks 0 .. promised_blocks-1 were acknowledged ≥ 1 s before the cut
  for (const auto& a : acks)
    if (cut_ns - a.time_ns >= 1'000'000'000) promised_blocks = a.block + 1;
  outcome.promised_something = promised_blocks > 0;
  const std::uint64_t appended_blocks = acks.back().block + 2;  // the block in flight may also be there

  try {
    outcome.report = recover(path);
  } catch (const std::exception& e) {
    outcome.refused = true;
    if (failure_allowed) {
      std::cout << "recover refused: " << e.what() << "\n";
      return;
    }
    ADD_FAILURE() << "recover failed with " << acks.size() << " blocks acknowledged: " << e.what();
    return;
  }
  const RecoveryReport& report = outcome.report;
  EXPECT_TRUE(report.journal_found);
  SessionReader reader(path);
  EXPECT_EQ(reader.info().status, "recovered");
  const std::uint64_t rows = reader.emg_rows();
  EXPECT_EQ(report.emg_rows_from_file + report.emg_rows_from_journal + report.emg_rows_unverified_from_file,
            rows)
      << "the report must account for every recovered row";
  EXPECT_GE(rows, promised_blocks * kBlockSamples) << "an acknowledged block ≥ 1 s old was lost";
  EXPECT_LE(rows, appended_blocks * kBlockSamples) << "more rows than were ever appended";
  EXPECT_EQ(rows % kBlockSamples, 0U) << "a block recovered in part";
  const auto samples = reader.emg_sample_index();
  const auto counts = reader.emg_counts();
  for (std::uint64_t r = 0; r < rows; ++r) {
    ASSERT_EQ(samples[r], r);
    for (std::uint32_t c = 0; c < kChannels; ++c)
      ASSERT_EQ(counts[r * kChannels + c], testing::emg_value(r, c));
  }
  const BlockTable blocks = reader.emg_blocks();
  EXPECT_EQ(blocks.first_row.size(), rows / kBlockSamples);
  for (std::uint64_t b = 0; b < std::min<std::uint64_t>(blocks.first_row.size(), promised_blocks); ++b) {
    ASSERT_EQ(blocks.first_row[b], b * kBlockSamples);
    ASSERT_EQ(blocks.device_time_us[b], b * kBlockSamples * 500 + 17);
  }
  const std::uint64_t imu_rows = reader.imu_rows(0);
  EXPECT_GE(imu_rows, promised_blocks * 2);
  EXPECT_LE(imu_rows, appended_blocks * 2);
  const auto imu = reader.imu_counts(0);
  for (std::uint64_t r = 0; r < imu_rows; ++r) ASSERT_EQ(imu.gyro[r * 3 + 1], testing::imu_value(r, 0, 4));
  // Events: exactly the first ones appended, in order (one per 25 blocks), none invented, every promised one.
  const auto events = reader.events();
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(events[i].text, "event " + std::to_string(25 * i));
  EXPECT_GE(events.size(), (promised_blocks + 24) / 25);
  EXPECT_LE(events.size(), (appended_blocks + 24) / 25);

  const std::uint64_t recovered_blocks = rows / kBlockSamples;
  for (const auto& a : acks) {
    if (a.block >= recovered_blocks) {
      outcome.newest_lost_ack_age_s = static_cast<double>(cut_ns - a.time_ns) * 1e-9;
      break;
    }
  }
}

TEST(PowerLoss, CutAtRandomMomentsKeepsEveryBlockAcknowledgedOneSecondBefore) {
  constexpr int kTrials = 12;  // × 3 disk states = 36 recoveries
  std::mt19937 rng(20261202);
  // The cut is timed from the first acknowledgement, not from the fork, so how long the child takes to start
  // on a loaded machine does not decide which trials test the promise. Even trials cut ≥ 1.1 s after it (the
  // promise applies), odd trials within the first second (nothing is promised yet; nothing may be invented).
  std::uniform_int_distribution<int> late_delay_ms(1100, 2600);
  std::uniform_int_distribution<int> early_delay_ms(0, 1000);
  int promised_trials = 0;
  int torn_tails = 0;
  int h5_tears_refused = 0;  // variant 2 only (a known limit, docs/RELIABILITY.md §Power loss)
  double worst_loss_s = 0.0;
  for (int trial = 0; trial < kTrials; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    testing::TempDir dir;
    const auto live = dir / "live";
    std::filesystem::create_directories(live);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int delay = trial % 2 == 0 ? late_delay_ms(rng) : early_delay_ms(rng);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      ::setenv("LD_PRELOAD", GLUTESCOPE_POWERLOSS_SHIM, 1);
      ::setenv("GLUTESCOPE_POWERLOSS_SUFFIXES", ".h5:.h5.journal:.h5.journal.tmp", 1);
      const std::string session = (live / kSessionName).string();
      const std::string ack_fd = std::to_string(fds[1]);
      const std::string seed = std::to_string(trial);
      ::execl(GLUTESCOPE_POWERLOSS_WRITER, GLUTESCOPE_POWERLOSS_WRITER, session.c_str(), ack_fd.c_str(),
              seed.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    std::vector<Ack> acks;
    Ack ack{};
    pollfd first{fds[0], POLLIN, 0};
    const bool started = ::poll(&first, 1, 60'000) == 1 &&
                         ::read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack);
    if (started) {
      acks.push_back(ack);
      ::usleep(static_cast<useconds_t>(delay) * 1000);
    }
    const std::int64_t cut_ns = power_loss::monotonic_ns();
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(started) << "the writer acknowledged no block within 60 s";
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself with status " << WEXITSTATUS(status);
    while (::read(fds[0], &ack, sizeof ack) == static_cast<ssize_t>(sizeof ack)) acks.push_back(ack);
    ::close(fds[0]);

    // 0: unsynced writes lost; 1: a prefix of them applied, the journal's last one cut inside; 2: as 1 but
    // the session file's last write may be cut inside too (HDF5 rewrites metadata in place: see the docs).
    for (const int variant : {0, 1, 2}) {
      const bool torn = variant > 0;
      const char* variant_name[] = {"lost", "torn", "torn-h5"};
      SCOPED_TRACE(variant_name[variant]);
      const auto disk = dir / variant_name[variant];
      build_disk_after_power_loss(live, disk, torn, variant == 2, rng);
      TrialOutcome outcome;
      recover_and_check(disk, acks, cut_ns, variant == 2, outcome);
      if (outcome.refused) ++h5_tears_refused;
      if (outcome.promised_something && !torn) ++promised_trials;
      if (outcome.report.journal_torn_tail) ++torn_tails;
      worst_loss_s = std::max(worst_loss_s, outcome.newest_lost_ack_age_s);
      std::cout << "trial " << trial << ' ' << variant_name[variant] << ": cut " << delay
                << " ms after the first acknowledgement, " << acks.size()
                << " blocks acknowledged, rows from file " << outcome.report.emg_rows_from_file
                << " + journal " << outcome.report.emg_rows_from_journal << ", journal torn tail "
                << outcome.report.journal_torn_tail << ", oldest lost acknowledgement "
                << outcome.newest_lost_ack_age_s << " s before the cut\n";
    }
  }
  std::cout << "worst loss: an acknowledged block " << worst_loss_s
            << " s old at the cut; torn journal tails " << torn_tails
            << "; torn session files recover refused " << h5_tears_refused << " of " << kTrials << "\n";
  EXPECT_GE(promised_trials, kTrials / 2) << "too few trials ran ≥ 1 s past their first block";
  EXPECT_LT(worst_loss_s, 1.0);
}

}  // namespace
}  // namespace glutescope::store
