// The TCP transport against a real loopback listener: connect, read with a bounded wait, write, peer
// close seen as closed, reconnect, refused connection as not_found, timeouts honoured.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <string>

#include "io/tcp_transport.hpp"

namespace glutescope::io {
namespace {

// A listening socket on 127.0.0.1 and an ephemeral port.
struct Listener {
  int fd = -1;
  unsigned port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd); }
  int accept_one() const { return ::accept(fd, nullptr, nullptr); }
};

TEST(TcpTransport, ReadsWritesAndSeesThePeerGo) {
  Listener l;
  TcpTransport t({"127.0.0.1", l.port, "test port"});
  t.open();
  EXPECT_TRUE(t.is_open());
  const int peer = l.accept_one();
  ASSERT_GE(peer, 0);
  std::array<std::uint8_t, 64> buf{};
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(t.read_some(buf, std::chrono::milliseconds(60)).status, ReadStatus::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50));
  ASSERT_EQ(::write(peer, "hello", 5), 5);
  const ReadResult r = t.read_some(buf, std::chrono::milliseconds(1000));
  ASSERT_EQ(r.status, ReadStatus::data);
  EXPECT_EQ(std::string(buf.begin(), buf.begin() + static_cast<long>(r.bytes)), "hello");
  const std::string cmd = "START\r\n\r\n";
  EXPECT_TRUE(t.write_all({reinterpret_cast<const std::uint8_t*>(cmd.data()), cmd.size()},
                          std::chrono::milliseconds(500)));
  char got[16] = {};
  EXPECT_EQ(::read(peer, got, sizeof got), static_cast<ssize_t>(cmd.size()));
  ::close(peer);
  EXPECT_EQ(t.read_some(buf, std::chrono::milliseconds(1000)).status, ReadStatus::closed);
  EXPECT_FALSE(t.is_open());
  // Reconnect: open() again after the peer went.
  t.open();
  const int peer2 = l.accept_one();
  ASSERT_GE(peer2, 0);
  ASSERT_EQ(::write(peer2, "x", 1), 1);
  EXPECT_EQ(t.read_some(buf, std::chrono::milliseconds(1000)).status, ReadStatus::data);
  ::close(peer2);
}

TEST(TcpTransport, RefusedConnectionIsNotFoundWithTheAddress) {
  unsigned port = 0;
  {
    Listener l;  // take a free port, then close it so nothing listens there
    port = l.port;
  }
  TcpTransport t({"127.0.0.1", port, "Trigno commands"});
  try {
    t.open();
    FAIL() << "connected to a closed port";
  } catch (const TransportError& e) {
    EXPECT_EQ(e.kind(), TransportErrorKind::not_found);
    EXPECT_NE(std::string(e.what()).find(std::to_string(port)), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Trigno commands"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(t.is_open());
}

}  // namespace
}  // namespace glutescope::io
