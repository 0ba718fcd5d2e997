// The reliability/ reproducers through a real pseudo-terminal into the real `glutescope record`: a
// DEVICE_INFO out of range is one error line and a non-zero exit; the counter stream records no absurd
// gap, and `glutescope info` reads the file back.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "recorder/e2e_support.hpp"
#include "support/files.hpp"
#include "support/frame_records.hpp"

namespace glutescope::test {
namespace {

std::vector<std::uint8_t> records_of(const std::string& name) {
  const std::string bytes =
      slurp(std::filesystem::path(GLUTESCOPE_SOURCE_DIR) / "tests/recorder/reliability" / name);
  return {bytes.begin(), bytes.end()};
}

// Writes `wire` into the pty once glutescope has opened it (waiting while the pty's buffer is full), then
// keeps the pty open until it is drained.
void play(const sim::PseudoTerminal& pty, const std::vector<std::uint8_t>& wire) {
  ASSERT_TRUE(pty.wait_for_reader(10s));
  std::size_t at = 0;
  while (at < wire.size()) {
    const ssize_t n = ::write(pty.master_fd(), wire.data() + at, wire.size() - at);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {  // the pty's buffer is full: let the reader drain it
      std::this_thread::sleep_for(1ms);
      continue;
    }
    ASSERT_GT(n, 0);
    at += static_cast<std::size_t>(n);
  }
  pty.wait_until_drained(5s);
}

TEST(ReliabilityE2E, EmgRateNanIsOneErrorLineAndANonZeroExit) {
  const auto dir = make_temp_dir("rel_nan");
  sim::PseudoTerminal pty;
  Glutescope g({"record", "--port", pty.slave_path(), "--subject", "S", "--no-keys", "--out",
                (dir / "s.h5").string(), "--duration", "20"},
               dir / "log.txt");
  play(pty, wire_bytes(records_of("stream_emg_rate_nan_overlap.bin")));
  const int status = g.wait(30s);
  const std::string out = g.output();
  EXPECT_NE(status, 0) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;  // "recording subject ..." + the error
  EXPECT_NE(out.find("DEVICE_INFO rejected: EMG rate nan Hz is outside 1 to 100000 Hz"), std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir / "s.h5"));  // nothing was recorded
  std::filesystem::remove_all(dir);
}

TEST(ReliabilityE2E, CounterBelowTheRestartAnchorIsRecordedWithoutAnAbsurdGap) {
  const auto dir = make_temp_dir("rel_gap");
  // As in reliability_test.cpp: IMU 2's broken description replaced by IMU 0's, so the counters are used.
  std::vector<std::uint8_t> records = records_of("stream_gap_wrap.bin");
  const std::string imu0 = "\x0aimu_sacrum";
  const std::string imu2 = "\x0bimu_thigh_R";
  const auto from = std::search(records.begin(), records.end(), imu0.begin(), imu0.end());
  const auto to = std::search(records.begin(), records.end(), imu2.begin(), imu2.end());
  ASSERT_TRUE(from != records.end() && to != records.end());
  std::copy(from + 11, from + 11 + 25, to + 12);
  sim::PseudoTerminal pty;
  Glutescope g({"record", "--port", pty.slave_path(), "--subject", "S", "--no-keys", "--out",
                (dir / "s.h5").string(), "--duration", "3"},
               dir / "log.txt");
  play(pty, wire_bytes(records));
  const int status = g.wait(30s);
  EXPECT_EQ(status, 0) << g.output();
  auto [info_status, info] = run_glutescope({"info", "--json", (dir / "s.h5").string()}, dir / "info.txt");
  ASSERT_EQ(info_status, 0) << info;
  const auto j = nlohmann::json::parse(info);
  EXPECT_LT(j["emg"]["lost_samples"].get<std::uint64_t>(), 1000000u) << info;
  for (const auto& imu : j["imu"]) EXPECT_LT(imu["lost_samples"].get<std::uint64_t>(), 1000000u) << info;
  std::filesystem::remove_all(dir);
}

// A counter jump beyond the loss bound after recording started: one error line, exit 1, and the file
// keeps what came before it, readable by `glutescope info`.
TEST(ReliabilityE2E, AnImpossibleCounterJumpStopsTheRecordingAndKeepsTheFileReadable) {
  const auto dir = make_temp_dir("rel_jump");
  // The DEVICE_INFO record of a reproducer (8 EMG channels, the default montage's layout) ...
  std::vector<std::uint8_t> records = records_of("stream_emg_rate0_overlap.bin");
  const std::size_t info_length = records[1] | (records[2] << 8);
  records.resize(3 + info_length);
  const std::uint8_t hz2000[4] = {0x00, 0x00, 0xfa, 0x44};  // f32 LE 2000.0 at payload offset 4
  std::copy(std::begin(hz2000), std::end(hz2000), records.begin() + 3 + 18 + 4);
  std::vector<std::uint8_t> wire = wire_bytes(records);
  // ... then 1 s of EMG blocks of 20 samples, and one block 10^9 samples ahead.
  const std::vector<std::int32_t> counts(20 * 8, 100);
  std::uint32_t seq = 1;
  auto block = [&](std::uint32_t first) {
    const auto f =
        protocol::encode_emg_block({0x5151, seq++, first * 500ull}, first, 8, SampleFormat::int16, counts);
    wire.insert(wire.end(), f.begin(), f.end());
  };
  for (std::uint32_t first = 0; first < 2000; first += 20) block(first);
  block(1'000'000'000u);
  sim::PseudoTerminal pty;
  Glutescope g({"record", "--port", pty.slave_path(), "--subject", "S", "--no-keys", "--out",
                (dir / "s.h5").string(), "--duration", "20"},
               dir / "log.txt");
  play(pty, wire);
  const int status = g.wait(30s);
  const std::string out = g.output();
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("EMG sample counter jumped ahead by 999998000 samples at sample 2000: more than the "),
            std::string::npos)
      << out;
  EXPECT_EQ(out.substr(out.rfind('\n', out.size() - 2) + 1).find("glutescope: "), 0u) << out;  // last line
  auto [info_status, info] = run_glutescope({"info", "--json", (dir / "s.h5").string()}, dir / "info.txt");
  ASSERT_EQ(info_status, 0) << info;
  const auto j = nlohmann::json::parse(info);
  EXPECT_EQ(j["emg"]["samples"].get<std::uint64_t>(), 2000u) << info;
  EXPECT_EQ(j["emg"]["lost_samples"].get<std::uint64_t>(), 0u) << info;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace glutescope::test
