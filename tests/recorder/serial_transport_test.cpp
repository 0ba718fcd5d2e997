// SerialTransport against real pseudo-terminals: the test owns the master, the transport opens the slave.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>
#include <vector>

#include "io/file_replay_source.hpp"
#include "io/serial_transport.hpp"

namespace glutescope::io {
namespace {

using namespace std::chrono_literals;

struct Pty {
  int master = -1;
  int slave = -1;
  std::string path;
  Pty() {
    std::array<char, 256> name{};
    if (::openpty(&master, &slave, name.data(), nullptr, nullptr) != 0)
      throw std::runtime_error("openpty failed");
    path = name.data();
    ::close(slave);  // the transport opens its own slave fd
    slave = -1;
  }
  ~Pty() {
    if (master >= 0) ::close(master);
  }
  void write_bytes(const std::vector<std::uint8_t>& bytes) const {
    ASSERT_EQ(::write(master, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
};

TEST(SerialTransport, DeliversBinaryBytesUnchanged) {
  Pty pty;
  SerialTransport port({pty.path, 921600});
  port.open();
  // Every byte value, including 0x00, 0x11/0x13 (XON/XOFF), \r, \n, 0x03 (^C), 0x7f: raw mode must pass them.
  std::vector<std::uint8_t> sent(256);
  std::iota(sent.begin(), sent.end(), 0);
  pty.write_bytes(sent);
  std::vector<std::uint8_t> got;
  std::array<std::uint8_t, 64> buf{};
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  while (got.size() < sent.size() && std::chrono::steady_clock::now() < deadline) {
    const ReadResult r = port.read_some(buf, 100ms);
    ASSERT_NE(r.status, ReadStatus::closed);
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
  }
  EXPECT_EQ(got, sent);
}

TEST(SerialTransport, TimesOutWithoutDataAndReportsClosedWhenMasterCloses) {
  auto pty = std::make_unique<Pty>();
  SerialTransport port({pty->path, 115200});
  port.open();
  std::array<std::uint8_t, 64> buf{};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(port.read_some(buf, 50ms).status, ReadStatus::timeout);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, 45ms);
  EXPECT_LT(waited, 1s);
  pty.reset();  // device gone
  ReadResult r = port.read_some(buf, 500ms);
  EXPECT_EQ(r.status, ReadStatus::closed);
  EXPECT_FALSE(port.is_open());
}

TEST(SerialTransport, WritesReachTheDevice) {
  Pty pty;
  SerialTransport port({pty.path, 115200});
  port.open();
  const std::array<std::uint8_t, 4> cmd{0x01, 0x00, 0x05, 0x00};
  ASSERT_TRUE(port.write_all(cmd, 500ms));
  std::array<std::uint8_t, 16> buf{};
  const ssize_t n = ::read(pty.master, buf.data(), buf.size());
  ASSERT_EQ(n, 4);
  EXPECT_TRUE(std::equal(cmd.begin(), cmd.end(), buf.begin()));
}

TEST(SerialTransport, MissingPortIsNotFound) {
  SerialTransport port({"/dev/glutescope-no-such-port", 115200});
  try {
    port.open();
    FAIL() << "opened a missing port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("/dev/glutescope-no-such-port"), std::string::npos);
  }
}

TEST(SerialTransport, RegularFileIsNotATty) {
  const auto path = std::filesystem::temp_directory_path() / "glutescope_not_a_tty.bin";
  std::ofstream(path) << "x";
  SerialTransport port({path.string(), 115200});
  try {
    port.open();
    FAIL() << "opened a regular file as a serial port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportErrorKind::not_a_tty);
  }
  std::filesystem::remove(path);
}

TEST(SerialTransport, SecondOpenIsBusyUntilTheFirstCloses) {
  Pty pty;
  SerialTransport first({pty.path, 115200});
  SerialTransport second({pty.path, 115200});
  first.open();
  try {
    second.open();
    FAIL() << "two transports opened the same port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportErrorKind::busy);
    EXPECT_NE(std::string(e.what()).find("busy"), std::string::npos);
  }
  first.close();
  EXPECT_NO_THROW(second.open());
}

TEST(FileReplaySource, ReplaysTheFileInChunksThenCloses) {
  const auto path = std::filesystem::temp_directory_path() / "glutescope_replay.bin";
  std::vector<std::uint8_t> bytes(10000);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 3);
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  FileReplaySource src({path.string(), 333, 0.0});
  src.open();
  std::vector<std::uint8_t> got;
  std::array<std::uint8_t, 1000> buf{};
  for (;;) {
    const ReadResult r = src.read_some(buf, 10ms);
    if (r.status == ReadStatus::closed) break;
    ASSERT_EQ(r.status, ReadStatus::data);
    ASSERT_LE(r.bytes, 333u);
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r.bytes));
  }
  EXPECT_EQ(got, bytes);
  std::filesystem::remove(path);
  FileReplaySource missing({path.string(), 64, 0.0});
  EXPECT_THROW(missing.open(), TransportError);
}

}  // namespace
}  // namespace glutescope::io
