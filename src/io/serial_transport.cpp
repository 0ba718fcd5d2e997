#include "io/serial_transport.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

// GCC's flow-based -Wnull-dereference fires inside Asio's scheduler once it is inlined here
// (Boost 1.74, GCC 12); the warning is about library code we do not own.
#pragma GCC diagnostic ignored "-Wnull-dereference"
#include <fmt/core.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/serial_port.hpp>
#include <boost/asio/write.hpp>

namespace glutescope::io {

namespace asio = boost::asio;

struct SerialTransport::Impl {
  asio::io_context io;
  asio::serial_port port{io};
};

namespace {

[[noreturn]] void throw_open_error(const std::string& path, int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
      throw TransportError(TransportErrorKind::not_found,
                           fmt::format("serial port {} does not exist (is the device plugged in and the path "
                                       "right? see ls /dev/serial/by-id/)",
                                       path));
    case EBUSY:
      throw TransportError(
          TransportErrorKind::busy,
          fmt::format("serial port {} is busy: another program has it open exclusively", path));
    case EACCES:
    case EPERM:
      throw TransportError(TransportErrorKind::permission_denied,
                           fmt::format("no permission to open serial port {} (add yourself to the dialout "
                                       "group)",
                                       path));
    default:
      throw TransportError(TransportErrorKind::io,
                           fmt::format("cannot open serial port {}: {}", path, std::strerror(err)));
  }
}

}  // namespace

SerialTransport::SerialTransport(SerialSettings settings)
    : settings_(std::move(settings)), impl_(std::make_unique<Impl>()) {}

SerialTransport::~SerialTransport() { close(); }

void SerialTransport::open() {
  close();
  const std::string& path = settings_.path;
  // O_NONBLOCK: opening must not wait for carrier detect; Asio sets non-blocking mode anyway.
  const int fd = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw_open_error(path, errno);
  auto fail = [&](TransportErrorKind kind, const std::string& what) {
    ::close(fd);
    throw TransportError(kind, what);
  };
  if (::isatty(fd) == 0) {
    fail(TransportErrorKind::not_a_tty, fmt::format("{} is not a serial port (not a terminal device)", path));
  }
  if (settings_.exclusive) {
    // TIOCEXCL makes later open() calls fail with EBUSY (except for root, CAP_SYS_ADMIN), so an
    // advisory flock is taken too: it also stops a second glutescope running as root.
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      fail(TransportErrorKind::busy,
           fmt::format("serial port {} is busy: another program holds its lock", path));
    }
    if (::ioctl(fd, TIOCEXCL) != 0) {
      fail(TransportErrorKind::configuration,
           fmt::format("cannot get exclusive use of serial port {}: {}", path, std::strerror(errno)));
    }
  }
  // Raw mode (cfmakeraw: no echo, no line editing, no CR/LF translation, 8 bits), receiver on,
  // modem lines ignored, no hardware or software flow control.
  termios tio{};
  if (::tcgetattr(fd, &tio) != 0) {
    fail(TransportErrorKind::configuration,
         fmt::format("cannot read the settings of serial port {}: {}", path, std::strerror(errno)));
  }
  ::cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~static_cast<tcflag_t>(CRTSCTS | CSTOPB);
  tio.c_iflag &= ~static_cast<tcflag_t>(IXON | IXOFF | IXANY);
  // VMIN 1: an empty non-blocking read fails with EAGAIN (Asio then waits in epoll); with VMIN 0 it
  // would return 0, which Asio reports as end of file.
  tio.c_cc[VMIN] = 1;
  tio.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSANOW, &tio) != 0) {
    fail(TransportErrorKind::configuration,
         fmt::format("cannot put serial port {} in raw mode: {}", path, std::strerror(errno)));
  }
  boost::system::error_code ec;
  impl_->port.assign(fd, ec);
  if (ec) fail(TransportErrorKind::io, fmt::format("cannot use serial port {}: {}", path, ec.message()));
  try {
    impl_->port.set_option(asio::serial_port_base::baud_rate(settings_.baud_rate));
    impl_->port.set_option(asio::serial_port_base::character_size(8));
    impl_->port.set_option(asio::serial_port_base::parity(asio::serial_port_base::parity::none));
    impl_->port.set_option(asio::serial_port_base::stop_bits(asio::serial_port_base::stop_bits::one));
    impl_->port.set_option(asio::serial_port_base::flow_control(asio::serial_port_base::flow_control::none));
  } catch (const boost::system::system_error& e) {
    close();
    throw TransportError(
        TransportErrorKind::configuration,
        fmt::format("serial port {} refused {} Bd 8N1: {}", path, settings_.baud_rate, e.code().message()));
  }
}

ReadResult SerialTransport::read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (!impl_->port.is_open()) return {ReadStatus::closed, 0};
  bool done = false;
  boost::system::error_code result_ec;
  std::size_t result_bytes = 0;
  impl_->port.async_read_some(asio::buffer(buffer.data(), buffer.size()),
                              [&](const boost::system::error_code& ec, std::size_t n) {
                                done = true;
                                result_ec = ec;
                                result_bytes = n;
                              });
  impl_->io.restart();
  impl_->io.run_for(timeout);
  if (!done) {
    // Timed out: cancel and let the aborted handler run so the buffer is no longer referenced.
    boost::system::error_code ignored;
    impl_->port.cancel(ignored);
    impl_->io.restart();
    impl_->io.run();
  }
  if (result_bytes > 0) return {ReadStatus::data, result_bytes};
  if (!result_ec || result_ec == asio::error::operation_aborted) return {ReadStatus::timeout, 0};
  // EOF, EIO (pty master closed, USB unplugged) or any other read error: the peer is gone.
  close();
  return {ReadStatus::closed, 0};
}

bool SerialTransport::write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) {
  if (!impl_->port.is_open()) return false;
  bool done = false;
  boost::system::error_code result_ec;
  asio::async_write(impl_->port, asio::buffer(bytes.data(), bytes.size()),
                    [&](const boost::system::error_code& ec, std::size_t) {
                      done = true;
                      result_ec = ec;
                    });
  impl_->io.restart();
  impl_->io.run_for(timeout);
  if (!done) {
    boost::system::error_code ignored;
    impl_->port.cancel(ignored);
    impl_->io.restart();
    impl_->io.run();
    return false;
  }
  return !result_ec;
}

void SerialTransport::close() noexcept {
  if (impl_ && impl_->port.is_open()) {
    boost::system::error_code ignored;
    impl_->port.close(ignored);  // closing the fd also releases the flock
  }
}

bool SerialTransport::is_open() const noexcept { return impl_ && impl_->port.is_open(); }

std::string SerialTransport::describe() const {
  return fmt::format("serial {} at {} Bd", settings_.path, settings_.baud_rate);
}

}  // namespace glutescope::io
