// BleTransport against fake_bluez on a private dbus-daemon: the D-Bus client, both notification
// paths, MTU-sized splitting, early notifications, link loss + reopen, and BlueZ's errors.
// The streamed bytes are COBS-like frames (0x00-delimited, no 0x00 inside) built here, so the
// expected byte stream is known independently of the program under test.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "ble/ble_test_support.hpp"
#include "io/ble_transport.hpp"

namespace glutescope::io {
namespace {

using namespace std::chrono_literals;
using bletest::FakeBluez;
using bletest::PrivateSystemBus;

// `count` frames of random non-zero bytes (7..120 long), each followed by the 0x00 delimiter.
std::vector<std::vector<std::uint8_t>> make_frames(std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> length(7, 120);
  std::uniform_int_distribution<int> byte(1, 255);
  std::vector<std::vector<std::uint8_t>> frames(count);
  for (auto& f : frames) {
    f.resize(static_cast<std::size_t>(length(rng)));
    for (auto& b : f) {
      b = static_cast<std::uint8_t>(byte(rng));
    }
    f.push_back(0x00);
  }
  return frames;
}

std::vector<std::uint8_t> concat(const std::vector<std::vector<std::uint8_t>>& frames, std::size_t begin,
                                 std::size_t end) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = begin; i < end; ++i) {
    out.insert(out.end(), frames[i].begin(), frames[i].end());
  }
  return out;
}

// Reads until `expected_bytes` arrived, the link closed, or `limit` passed.
ReadStatus read_bytes(BleTransport& transport, std::vector<std::uint8_t>& out, std::size_t expected_bytes,
                      std::chrono::milliseconds limit = 10s, std::size_t chunk = 4096) {
  std::vector<std::uint8_t> buffer(chunk);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (out.size() < expected_bytes && std::chrono::steady_clock::now() < deadline) {
    const auto r = transport.read_some(buffer, 200ms);
    if (r.status == ReadStatus::closed) {
      return ReadStatus::closed;
    }
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.bytes));
  }
  return out.size() >= expected_bytes ? ReadStatus::data : ReadStatus::timeout;
}

BleSettings settings_for(const std::string& device) {
  BleSettings s;
  s.device = device;
  s.scan_timeout = 500ms;
  s.connect_timeout = 3s;
  return s;
}

class BleTransportTest : public ::testing::Test {
 protected:
  PrivateSystemBus bus_;
  std::vector<std::vector<std::uint8_t>> frames_ = make_frames(400, 7);
  std::vector<std::uint8_t> stream_ = concat(frames_, 0, frames_.size());
  std::string stream_file_ = bletest::write_stream_file(bus_.directory(), "stream.bin", stream_).string();
};

class BleMtuTest : public BleTransportTest, public ::testing::WithParamInterface<int> {};

TEST_P(BleMtuTest, AcquireNotifyDeliversTheStreamExactlyInMtuMinus3Notifications) {
  const int mtu = GetParam();
  FakeBluez fake({"--stream", stream_file_, "--mtu", std::to_string(mtu)});
  BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
  transport.open();
  EXPECT_EQ(transport.notify_path(), BleNotifyPath::acquired_fd);
  EXPECT_EQ(transport.mtu(), mtu);
  std::vector<std::uint8_t> got;
  // A small read buffer (10 bytes) forces datagrams larger than the caller's buffer to be split.
  ASSERT_EQ(read_bytes(transport, got, stream_.size(), 10s, mtu > 100 ? 10 : 4096), ReadStatus::data);
  EXPECT_EQ(got, stream_);
  const std::size_t payload = static_cast<std::size_t>(mtu - 3);
  EXPECT_EQ(transport.notifications_received(), (stream_.size() + payload - 1) / payload);
}

INSTANTIATE_TEST_SUITE_P(Mtu, BleMtuTest, ::testing::Values(23, 64, 185, 247));

TEST_F(BleTransportTest, FallsBackToStartNotifyWhenAcquireNotifyIsNotSupported) {
  FakeBluez fake({"--stream", stream_file_, "--mtu", "64", "--no-acquire-notify"});
  BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
  transport.open();
  EXPECT_EQ(transport.notify_path(), BleNotifyPath::properties_changed);
  EXPECT_NE(transport.acquire_notify_refusal().find("org.bluez.Error.NotSupported"), std::string::npos);
  EXPECT_EQ(transport.mtu(), 64);  // from the characteristic's MTU property
  std::vector<std::uint8_t> got;
  ASSERT_EQ(read_bytes(transport, got, stream_.size()), ReadStatus::data);
  EXPECT_EQ(got, stream_);
  EXPECT_EQ(transport.notifications_received(), (stream_.size() + 60) / 61);
}

// The fake sends the first 40 notifications inside the subscription call, before its reply: none
// may be lost on either path (bleak PR #1886).
TEST_F(BleTransportTest, NotificationsSentBeforeSubscriptionCompletesAreKept) {
  for (const bool acquire : {true, false}) {
    SCOPED_TRACE(acquire ? "AcquireNotify" : "StartNotify");
    std::vector<std::string> args = {"--stream", stream_file_, "--mtu", "23", "--early-notifications", "40"};
    if (!acquire) {
      args.emplace_back("--no-acquire-notify");
    }
    FakeBluez fake(args);
    BleTransport transport(settings_for("glutescope-sim"));  // by advertised name this time
    transport.open();
    std::vector<std::uint8_t> got;
    ASSERT_EQ(read_bytes(transport, got, stream_.size()), ReadStatus::data);
    ASSERT_GE(got.size(), 40u * 20u);
    EXPECT_TRUE(std::equal(got.begin(), got.begin() + 40 * 20, stream_.begin()));
    EXPECT_EQ(got, stream_);
    transport.close();
  }
}

TEST_F(BleTransportTest, LinkLossIsReportedAndReopenResumesTheStream) {
  for (const bool acquire : {true, false}) {
    SCOPED_TRACE(acquire ? "AcquireNotify" : "StartNotify");
    std::vector<std::string> args = {"--stream", stream_file_,    "--mtu", "185", "--drop-after-frames",
                                     "150",      "--skip-frames", "25"};
    if (!acquire) {
      args.emplace_back("--no-acquire-notify");
    }
    FakeBluez fake(args);
    BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
    transport.open();
    std::vector<std::uint8_t> before;
    EXPECT_EQ(read_bytes(transport, before, stream_.size()), ReadStatus::closed);
    EXPECT_FALSE(transport.is_open());
    EXPECT_FALSE(transport.last_loss_reason().empty());
    EXPECT_EQ(before, concat(frames_, 0, 150));

    transport.open();  // what the recorder's reconnect loop does
    std::vector<std::uint8_t> after;
    const auto rest = concat(frames_, 175, frames_.size());
    ASSERT_EQ(read_bytes(transport, after, rest.size()), ReadStatus::data);
    EXPECT_EQ(after, rest);
    transport.close();
  }
}

TEST_F(BleTransportTest, FindsADeviceThatAppearsOnlyDuringDiscovery) {
  FakeBluez fake({"--stream", stream_file_, "--appear-on-scan-ms", "150"});
  BleSettings s = settings_for("c0:ff:ee:00:00:01");  // addresses compare case-insensitively
  s.scan_timeout = 3s;
  BleTransport transport(s);
  transport.open();
  std::vector<std::uint8_t> got;
  ASSERT_EQ(read_bytes(transport, got, stream_.size()), ReadStatus::data);
  EXPECT_EQ(got, stream_);
}

TEST_F(BleTransportTest, ControlWritesReachTheControlCharacteristicAsRequests) {
  const auto log = bus_.directory() / "control.log";
  FakeBluez fake({"--stream", stream_file_, "--control-log", log.string()});
  BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
  transport.open();
  const std::vector<std::uint8_t> command = {0x03, 0x10, 0x01, 0x22, 0x00};
  transport.write_control(command);
  std::ifstream in(log);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "request 0310012200");
}

void expect_open_error(const std::vector<std::string>& fake_args, TransportErrorKind kind,
                       const std::string& words) {
  FakeBluez fake(fake_args);
  BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
  try {
    transport.open();
    FAIL() << "open() succeeded";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
  EXPECT_FALSE(transport.is_open());
}

TEST_F(BleTransportTest, DeviceNotFoundWithinTheScanTimeout) {
  expect_open_error({"--device-absent"}, TransportErrorKind::not_found, "not found within 0.5 s");
}

TEST_F(BleTransportTest, NotAuthorizedIsAPermissionError) {
  expect_open_error({"--not-authorized"}, TransportErrorKind::permission_denied, "bluetooth' group");
}

TEST_F(BleTransportTest, PoweredOffAdapterIsNamed) {
  expect_open_error({"--adapter-off"}, TransportErrorKind::configuration, "hci0 is powered off");
}

TEST_F(BleTransportTest, MissingGlutescopeServiceIsNamed) {
  expect_open_error({"--no-service"}, TransportErrorKind::configuration, kGattServiceUuid);
}

TEST(BleTransportNoBluez, MissingBluetoothdIsNamed) {
  PrivateSystemBus bus;  // a bus on which nobody owns org.bluez
  BleTransport transport(settings_for("C0:FF:EE:00:00:01"));
  try {
    transport.open();
    FAIL() << "open() succeeded";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find("bluetoothd"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace glutescope::io
