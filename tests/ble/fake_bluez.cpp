// fake_bluez: a stand-in for bluetoothd and one glutescope wearable, for tests and benchmarks.
//
// Publishes an org.bluez object tree on the D-Bus *system* bus named by DBUS_SYSTEM_BUS_ADDRESS (a
// private dbus-daemon the test starts): ObjectManager at "/", Adapter1 hci0, Device1, the glutescope
// GattService1 with its data (notify) and control (write) GattCharacteristic1, following bluez
// doc/org.bluez.{Adapter,Device,GattService,GattCharacteristic}.rst. It streams a byte stream (the
// simulator's COBS frames, from --stream) as notifications of at most MTU−3 bytes, either as
// datagrams on one end of a socketpair(AF_UNIX, SOCK_SEQPACKET) handed out by AcquireNotify, or as
// PropertiesChanged("Value") signals after StartNotify.
//
// Everything runs on one thread: a poll loop over the bus fd and the notification socket, so
// signal emission never races the D-Bus dispatch. Prints "READY" on stdout once org.bluez is owned.
// What the real radio does (advertising, connection intervals, CCCD writes, PHY) is not modelled.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <sdbus-c++/sdbus-c++.h>

#include "io/ble_transport.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"

namespace {

constexpr const char* kAdapter = "org.bluez.Adapter1";
constexpr const char* kDevice = "org.bluez.Device1";
constexpr const char* kService = "org.bluez.GattService1";
constexpr const char* kCharacteristic = "org.bluez.GattCharacteristic1";
using PropertyMap = std::map<std::string, sdbus::Variant>;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string stream_file;  // bytes to notify (protocol v1 frames)
  double simulate_s = 0.0;  // > 0: stream the simulator's session of this length instead
  std::uint64_t seed = 1;   //      (glutescope::sim, bridge, good scenario, this seed)
  std::string address = "C0:FF:EE:00:00:01";
  std::string name = "glutescope-sim";
  int mtu = 185;                // ATT MTU, 23..247 (notification payload = mtu - 3)
  bool acquire_notify = true;   // false: AcquireNotify answers org.bluez.Error.NotSupported
  int early_notifications = 4;  // sent inside the subscribe call, before its reply
  long drop_after_frames = -1;  // drop the link once, after this many complete frames
  long skip_frames = 0;         // frames "sampled" while the link is down (never sent)
  bool device_absent = false;
  int appear_on_scan_ms = -1;   // >= 0: device unknown until this long after StartDiscovery
  bool not_authorized = false;  // Connect answers org.bluez.Error.NotAuthorized
  bool adapter_off = false;
  bool no_service = false;
  std::string control_log;       // each WriteValue appended as a line of hex
  long interval_us = 0;          // pause between notifications (0: as fast as the socket takes)
  long bench_notifications = 0;  // > 0: instead of --stream, this many MTU−3 byte notifications
                                 //      starting with CLOCK_MONOTONIC ns at send (little-endian)
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "fake_bluez: " << why << "\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage(a + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--stream")
      o.stream_file = value();
    else if (a == "--simulate")
      o.simulate_s = std::stod(value());
    else if (a == "--seed")
      o.seed = std::stoull(value());
    else if (a == "--address")
      o.address = value();
    else if (a == "--name")
      o.name = value();
    else if (a == "--mtu")
      o.mtu = std::stoi(value());
    else if (a == "--no-acquire-notify")
      o.acquire_notify = false;
    else if (a == "--early-notifications")
      o.early_notifications = std::stoi(value());
    else if (a == "--drop-after-frames")
      o.drop_after_frames = std::stol(value());
    else if (a == "--skip-frames")
      o.skip_frames = std::stol(value());
    else if (a == "--device-absent")
      o.device_absent = true;
    else if (a == "--appear-on-scan-ms")
      o.appear_on_scan_ms = std::stoi(value());
    else if (a == "--not-authorized")
      o.not_authorized = true;
    else if (a == "--adapter-off")
      o.adapter_off = true;
    else if (a == "--no-service")
      o.no_service = true;
    else if (a == "--control-log")
      o.control_log = value();
    else if (a == "--interval-us")
      o.interval_us = std::stol(value());
    else if (a == "--bench-notifications")
      o.bench_notifications = std::stol(value());
    else
      usage("unknown option " + a);
  }
  if (o.mtu < 23 || o.mtu > 247) {
    usage("--mtu must be 23..247");
  }
  return o;
}

// The session `--simulate S --seed N` streams; tests generate the same one in memory as ground truth.
glutescope::sim::SimulatorSettings simulated_session_settings(const Options& o) {
  glutescope::sim::SimulatorSettings settings;
  settings.seed = o.seed;
  settings.reps = 2;
  settings.duration_limit_s = o.simulate_s;
  return settings;
}

std::uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<std::uint64_t>(ts.tv_nsec);
}

class FakePeripheral {
 public:
  FakePeripheral(sdbus::IConnection& bus, Options options) : bus_(bus), o_(std::move(options)) {
    if (!o_.stream_file.empty()) {
      std::ifstream in(o_.stream_file, std::ios::binary);
      if (!in) {
        usage("cannot read " + o_.stream_file);
      }
      stream_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    } else if (o_.simulate_s > 0.0) {
      stream_ = glutescope::sim::encode_frames(glutescope::sim::simulate(simulated_session_settings(o_)));
    }
    std::string dev = o_.address;
    std::replace(dev.begin(), dev.end(), ':', '_');
    device_path_ = "/org/bluez/hci0/dev_" + dev;
    service_path_ = device_path_ + "/service0010";
    data_path_ = service_path_ + "/char0011";
    control_path_ = service_path_ + "/char0014";

    root_ = sdbus::createObject(bus_, "/");
    root_->addObjectManager();
    make_adapter();
    if (!o_.device_absent && o_.appear_on_scan_ms < 0) {
      make_device();
    }
  }

  // One pass of the loop: D-Bus, timers, notifications. Returns the poll timeout to use (ms).
  void run() {
    for (;;) {
      while (bus_.processPendingRequest()) {
      }
      const auto now = Clock::now();
      if (appear_at_ && now >= *appear_at_) {
        appear_at_.reset();
        make_device();
        device_->emitInterfacesAddedSignal();
        if (service_) {
          service_->emitInterfacesAddedSignal();
          data_->emitInterfacesAddedSignal();
          control_->emitInterfacesAddedSignal();
        }
      }
      bool want_write = false;
      int timeout_ms = 100;
      if (subscribed() && has_more()) {
        if (now >= next_send_) {
          const bool sent = send_next();
          want_write = !sent && sub_fd_ >= 0;  // socket full: wait until it drains
          if (sent && o_.interval_us > 0) {
            next_send_ = now + std::chrono::microseconds(o_.interval_us);
          }
          timeout_ms = 0;
        } else {
          timeout_ms =
              static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(next_send_ - now).count());
        }
      }
      if (appear_at_) {
        timeout_ms = std::min<int>(timeout_ms,
                                   static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(
                                                        std::max(Clock::duration::zero(), *appear_at_ - now))
                                                        .count()));
      }
      if (timeout_ms == 0 && !want_write) {
        continue_bus_poll_nonblocking();
        continue;
      }
      const auto poll_data = bus_.getEventLoopPollData();
      const int bus_ms = poll_data.getPollTimeout();
      if (bus_ms >= 0) {
        timeout_ms = std::min(timeout_ms, bus_ms);
      }
      pollfd fds[2] = {{poll_data.fd, poll_data.events, 0},
                       {sub_fd_, static_cast<short>(want_write ? POLLOUT : 0), 0}};
      ::poll(fds, sub_fd_ >= 0 ? 2 : 1, want_write ? std::max(timeout_ms, 100) : timeout_ms);
      if (sub_fd_ >= 0 && (fds[1].revents & (POLLHUP | POLLERR)) != 0) {
        // The host closed its end: that is how an acquired notification is released.
        ::close(sub_fd_);
        sub_fd_ = -1;
        notify_acquired_ = false;
      }
    }
  }

 private:
  void continue_bus_poll_nonblocking() {
    const auto poll_data = bus_.getEventLoopPollData();
    pollfd fds{poll_data.fd, poll_data.events, 0};
    ::poll(&fds, 1, 0);
  }

  [[nodiscard]] bool subscribed() const { return connected_ && (sub_fd_ >= 0 || notifying_); }
  [[nodiscard]] bool has_more() const {
    return o_.bench_notifications > 0 ? bench_sent_ < o_.bench_notifications : pos_ < stream_.size();
  }
  [[nodiscard]] std::size_t payload_bytes() const { return static_cast<std::size_t>(o_.mtu - 3); }

  // Next notification payload: up to MTU−3 bytes of the stream, cut at the frame boundary where the
  // link is to drop, so the outage starts between frames.
  std::vector<std::uint8_t> next_chunk() {
    if (o_.bench_notifications > 0) {
      std::vector<std::uint8_t> chunk(payload_bytes(), 0xA5);
      const std::uint64_t t = monotonic_ns();
      for (std::size_t i = 0; i < 8 && i < chunk.size(); ++i) {
        chunk[i] = static_cast<std::uint8_t>(t >> (8 * i));
      }
      return chunk;
    }
    std::size_t end = std::min(stream_.size(), pos_ + payload_bytes());
    if (!dropped_ && o_.drop_after_frames >= 0) {
      long frames = frames_sent_;
      for (std::size_t i = pos_; i < end; ++i) {
        if (stream_[i] == 0x00 && ++frames == o_.drop_after_frames) {
          end = i + 1;
          break;
        }
      }
    }
    return {stream_.begin() + static_cast<std::ptrdiff_t>(pos_),
            stream_.begin() + static_cast<std::ptrdiff_t>(end)};
  }

  void advance(std::size_t bytes) {
    if (o_.bench_notifications > 0) {
      ++bench_sent_;
      return;
    }
    for (std::size_t i = pos_; i < pos_ + bytes; ++i) {
      frames_sent_ += stream_[i] == 0x00 ? 1 : 0;
    }
    pos_ += bytes;
    if (!dropped_ && o_.drop_after_frames >= 0 && frames_sent_ >= o_.drop_after_frames) {
      drop_link();
    }
  }

  // Sends one notification; false if the socket is full (try again when writable).
  bool send_next() {
    const auto chunk = next_chunk();
    if (sub_fd_ >= 0) {
      const ssize_t n = ::send(sub_fd_, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          return false;
        }
        ::close(sub_fd_);  // host went away
        sub_fd_ = -1;
        notify_acquired_ = false;
        return false;
      }
    } else {
      value_ = chunk;
      data_->emitPropertiesChangedSignal(kCharacteristic, {"Value"});
    }
    advance(chunk.size());
    return true;
  }

  // Link loss: the socket closes (host sees HUP/EOF), Connected and ServicesResolved go false.
  // The device keeps sampling meanwhile: the next `skip_frames` frames are never sent.
  void drop_link() {
    dropped_ = true;
    if (sub_fd_ >= 0) {
      ::close(sub_fd_);
      sub_fd_ = -1;
    }
    notify_acquired_ = false;
    notifying_ = false;
    connected_ = false;
    services_resolved_ = false;
    device_->emitPropertiesChangedSignal(kDevice, {"Connected", "ServicesResolved"});
    for (long skipped = 0; skipped < o_.skip_frames && pos_ < stream_.size(); ++pos_) {
      if (stream_[pos_] == 0x00) {
        ++skipped;
      }
    }
    std::cerr << "fake_bluez: dropped the link after " << frames_sent_ << " frames, skipped "
              << o_.skip_frames << "\n";
  }

  void make_adapter() {
    adapter_ = sdbus::createObject(bus_, "/org/bluez/hci0");
    adapter_->registerProperty("Address").onInterface(kAdapter).withGetter(
        [] { return std::string("00:1A:7D:DA:71:13"); });
    adapter_->registerProperty("Name").onInterface(kAdapter).withGetter(
        [] { return std::string("fake-hci0"); });
    adapter_->registerProperty("Powered").onInterface(kAdapter).withGetter(
        [this] { return !o_.adapter_off; });
    adapter_->registerProperty("Discovering").onInterface(kAdapter).withGetter([this] {
      return discovering_;
    });
    adapter_->registerMethod("SetDiscoveryFilter")
        .onInterface(kAdapter)
        .implementedAs([](const PropertyMap&) {});
    adapter_->registerMethod("StartDiscovery").onInterface(kAdapter).implementedAs([this] {
      if (o_.adapter_off) {
        throw sdbus::Error("org.bluez.Error.NotReady", "Resource Not Ready");
      }
      discovering_ = true;
      if (o_.appear_on_scan_ms >= 0 && !device_ && !o_.device_absent) {
        appear_at_ = Clock::now() + std::chrono::milliseconds(o_.appear_on_scan_ms);
      }
    });
    adapter_->registerMethod("StopDiscovery").onInterface(kAdapter).implementedAs([this] {
      if (!discovering_) {
        throw sdbus::Error("org.bluez.Error.Failed", "No discovery started");
      }
      discovering_ = false;
    });
    adapter_->finishRegistration();
  }

  void make_device() {
    device_ = sdbus::createObject(bus_, device_path_);
    device_->registerProperty("Address").onInterface(kDevice).withGetter([this] { return o_.address; });
    device_->registerProperty("Name").onInterface(kDevice).withGetter([this] { return o_.name; });
    device_->registerProperty("Alias").onInterface(kDevice).withGetter([this] { return o_.name; });
    device_->registerProperty("Adapter").onInterface(kDevice).withGetter(
        [] { return sdbus::ObjectPath("/org/bluez/hci0"); });
    device_->registerProperty("Connected").onInterface(kDevice).withGetter([this] { return connected_; });
    device_->registerProperty("ServicesResolved").onInterface(kDevice).withGetter([this] {
      return services_resolved_;
    });
    device_->registerMethod("Connect").onInterface(kDevice).implementedAs([this] {
      if (o_.not_authorized) {
        throw sdbus::Error("org.bluez.Error.NotAuthorized", "Not Authorized");
      }
      if (connected_) {
        throw sdbus::Error("org.bluez.Error.AlreadyConnected", "Already Connected");
      }
      connected_ = true;
      services_resolved_ = true;
      ++connects_;
      device_->emitPropertiesChangedSignal(kDevice, {"Connected", "ServicesResolved"});
      std::cerr << "fake_bluez: connect #" << connects_ << "\n";
    });
    device_->registerMethod("Disconnect").onInterface(kDevice).implementedAs([this] {
      if (sub_fd_ >= 0) {
        ::close(sub_fd_);
        sub_fd_ = -1;
      }
      notifying_ = false;
      notify_acquired_ = false;
      connected_ = false;
      services_resolved_ = false;
      device_->emitPropertiesChangedSignal(kDevice, {"Connected", "ServicesResolved"});
    });
    device_->finishRegistration();
    if (!o_.no_service) {
      make_gatt();
    }
  }

  void make_gatt() {
    service_ = sdbus::createObject(bus_, service_path_);
    service_->registerProperty("UUID").onInterface(kService).withGetter(
        [] { return std::string(glutescope::io::kGattServiceUuid); });
    service_->registerProperty("Device").onInterface(kService).withGetter(
        [this] { return sdbus::ObjectPath(device_path_); });
    service_->registerProperty("Primary").onInterface(kService).withGetter([] { return true; });
    service_->finishRegistration();

    data_ = sdbus::createObject(bus_, data_path_);
    data_->registerProperty("UUID").onInterface(kCharacteristic).withGetter([] {
      return std::string(glutescope::io::kGattDataCharacteristicUuid);
    });
    data_->registerProperty("Service").onInterface(kCharacteristic).withGetter([this] {
      return sdbus::ObjectPath(service_path_);
    });
    data_->registerProperty("Flags").onInterface(kCharacteristic).withGetter([] {
      return std::vector<std::string>{"notify"};
    });
    data_->registerProperty("Value").onInterface(kCharacteristic).withGetter([this] { return value_; });
    data_->registerProperty("Notifying").onInterface(kCharacteristic).withGetter([this] {
      return notifying_;
    });
    data_->registerProperty("NotifyAcquired").onInterface(kCharacteristic).withGetter([this] {
      return notify_acquired_;
    });
    data_->registerProperty("MTU").onInterface(kCharacteristic).withGetter([this] {
      return static_cast<std::uint16_t>(o_.mtu);
    });
    data_->registerMethod("AcquireNotify")
        .onInterface(kCharacteristic)
        .implementedAs([this](const PropertyMap&) {
          if (!o_.acquire_notify) {
            throw sdbus::Error("org.bluez.Error.NotSupported", "Operation is not supported");
          }
          if (!connected_) {
            throw sdbus::Error("org.bluez.Error.NotConnected", "Not Connected");
          }
          if (notifying_ || sub_fd_ >= 0) {
            throw sdbus::Error("org.bluez.Error.NotPermitted", "Notify acquired");
          }
          int pair[2];
          if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
            throw sdbus::Error("org.bluez.Error.Failed", std::strerror(errno));
          }
          sub_fd_ = pair[0];
          ::fcntl(sub_fd_, F_SETFL, ::fcntl(sub_fd_, F_GETFL) | O_NONBLOCK);
          notify_acquired_ = true;
          send_early();
          return std::make_tuple(sdbus::UnixFd(pair[1], sdbus::adopt_fd), static_cast<std::uint16_t>(o_.mtu));
        });
    data_->registerMethod("StartNotify").onInterface(kCharacteristic).implementedAs([this] {
      if (!connected_) {
        throw sdbus::Error("org.bluez.Error.NotConnected", "Not Connected");
      }
      if (sub_fd_ >= 0) {
        throw sdbus::Error("org.bluez.Error.NotPermitted", "Notify acquired");
      }
      notifying_ = true;
      send_early();
    });
    data_->registerMethod("StopNotify").onInterface(kCharacteristic).implementedAs([this] {
      notifying_ = false;
    });
    data_->registerMethod("ReadValue").onInterface(kCharacteristic).implementedAs([this](const PropertyMap&) {
      return value_;
    });
    data_->finishRegistration();

    control_ = sdbus::createObject(bus_, control_path_);
    control_->registerProperty("UUID").onInterface(kCharacteristic).withGetter([] {
      return std::string(glutescope::io::kGattControlCharacteristicUuid);
    });
    control_->registerProperty("Service").onInterface(kCharacteristic).withGetter([this] {
      return sdbus::ObjectPath(service_path_);
    });
    control_->registerProperty("Flags").onInterface(kCharacteristic).withGetter([] {
      return std::vector<std::string>{"write"};
    });
    control_->registerMethod("WriteValue")
        .onInterface(kCharacteristic)
        .implementedAs([this](const std::vector<std::uint8_t>& value, const PropertyMap& options) {
          if (!connected_) {
            throw sdbus::Error("org.bluez.Error.NotConnected", "Not Connected");
          }
          std::string type = "request";
          if (const auto it = options.find("type"); it != options.end()) {
            type = it->second.get<std::string>();
          }
          if (!o_.control_log.empty()) {
            std::ofstream log(o_.control_log, std::ios::app);
            log << type << ' ';
            for (const auto b : value) {
              char hex[3];
              std::snprintf(hex, sizeof hex, "%02x", b);
              log << hex;
            }
            log << '\n';
          }
        });
    control_->finishRegistration();
  }

  // The first notifications go out inside the subscription call, before its reply reaches the host
  // (the race of bleak PR #1886): a host that starts listening only after the reply loses them.
  void send_early() {
    for (int i = 0; i < o_.early_notifications && has_more(); ++i) {
      if (!send_next()) {
        break;
      }
    }
  }

  sdbus::IConnection& bus_;
  Options o_;
  std::vector<std::uint8_t> stream_;
  std::size_t pos_ = 0;
  long frames_sent_ = 0;
  long bench_sent_ = 0;
  bool dropped_ = false;
  int connects_ = 0;
  std::string device_path_, service_path_, data_path_, control_path_;
  std::unique_ptr<sdbus::IObject> root_, adapter_, device_, service_, data_, control_;
  bool discovering_ = false;
  bool connected_ = false;
  bool services_resolved_ = false;
  bool notifying_ = false;
  bool notify_acquired_ = false;
  int sub_fd_ = -1;
  std::vector<std::uint8_t> value_;
  std::optional<Clock::time_point> appear_at_;
  Clock::time_point next_send_ = Clock::now();
};

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse(argc, argv);
  try {
    auto bus = sdbus::createSystemBusConnection();
    FakePeripheral peripheral(*bus, options);
    bus->requestName("org.bluez");
    std::cout << "READY" << std::endl;
    peripheral.run();
  } catch (const std::exception& e) {
    std::cerr << "fake_bluez: " << e.what() << "\n";
    return 1;
  }
}
