#include "io/ble_transport.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include <fmt/core.h>
#include <sdbus-c++/sdbus-c++.h>

namespace glutescope::io {
namespace {

constexpr const char* kBluezName = "org.bluez";
constexpr const char* kObjectManager = "org.freedesktop.DBus.ObjectManager";
constexpr const char* kProperties = "org.freedesktop.DBus.Properties";
constexpr const char* kAdapter = "org.bluez.Adapter1";
constexpr const char* kDevice = "org.bluez.Device1";
constexpr const char* kService = "org.bluez.GattService1";
constexpr const char* kCharacteristic = "org.bluez.GattCharacteristic1";

// Largest attribute value (Bluetooth Core 5.x Vol 3 Part F §3.2.9): no notification is longer.
constexpr std::size_t kMaxAttributeValueBytes = 512;

using PropertyMap = std::map<std::string, sdbus::Variant>;
using InterfaceMap = std::map<std::string, PropertyMap>;
using ObjectMap = std::map<sdbus::ObjectPath, InterfaceMap>;
using Clock = std::chrono::steady_clock;

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

template <typename T>
std::optional<T> property(const PropertyMap& properties, const char* name) {
  const auto it = properties.find(name);
  if (it == properties.end()) {
    return std::nullopt;
  }
  try {
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return std::nullopt;  // wrong D-Bus type: treat as absent
  }
}

bool is_permission_error(const std::string& name) {
  return name == "org.bluez.Error.NotAuthorized" || name == "org.freedesktop.DBus.Error.AccessDenied" ||
         name == "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired" ||
         name == "org.bluez.Error.AuthenticationFailed";
}

// Turns a BlueZ / D-Bus error into a TransportError a user can act on. `doing` says what failed.
TransportError bus_error(const sdbus::Error& error, const std::string& doing) {
  const std::string& name = error.getName();
  if (is_permission_error(name)) {
    return {TransportErrorKind::permission_denied,
            fmt::format("BLE: permission denied {} ({}: {}); add your user to the 'bluetooth' group or allow "
                        "org.bluez in the D-Bus/polkit policy (docs/BLE.md, Permissions)",
                        doing, name, error.getMessage())};
  }
  if (name == "org.freedesktop.DBus.Error.ServiceUnknown" ||
      name == "org.freedesktop.DBus.Error.NameHasNoOwner") {
    return {TransportErrorKind::not_found,
            fmt::format("BLE: BlueZ (bluetoothd) is not running on the system bus while {}; start it with "
                        "`systemctl start bluetooth`",
                        doing)};
  }
  if (name == "org.bluez.Error.NotReady") {
    return {
        TransportErrorKind::configuration,
        fmt::format(
            "BLE: the Bluetooth adapter is not ready (powered off?) while {}; run `bluetoothctl power on`",
            doing)};
  }
  return {TransportErrorKind::io, fmt::format("BLE: {} failed ({}: {})", doing, name, error.getMessage())};
}

std::string adapter_name(const std::string& adapter_path) {
  const auto slash = adapter_path.rfind('/');
  return slash == std::string::npos ? adapter_path : adapter_path.substr(slash + 1);
}

}  // namespace

// Everything that lives for one connected period. Members are destroyed in reverse order: proxies
// before the bus connection they use.
struct BleTransport::Link {
  std::unique_ptr<sdbus::IConnection> bus;
  std::unique_ptr<sdbus::IProxy> root;     // "/" ObjectManager: InterfacesAdded/Removed
  std::unique_ptr<sdbus::IProxy> device;   // Device1 and its PropertiesChanged
  std::unique_ptr<sdbus::IProxy> data;     // data characteristic (notify)
  std::unique_ptr<sdbus::IProxy> control;  // control characteristic (write)
  std::string adapter_path;
  std::string device_path;
  std::vector<std::pair<sdbus::ObjectPath, InterfaceMap>> added;  // InterfacesAdded seen during discovery

  bool connected = false;
  bool services_resolved = false;
  bool lost = false;
  std::string lost_reason;

  BleNotifyPath path = BleNotifyPath::none;
  int notify_fd = -1;  // AcquireNotify socket (owned)
  std::uint16_t mtu = 0;
  bool accept_value_signals = false;  // set just before StartNotify is called
  // Notification bytes not yet handed out: Value payloads (StartNotify path) and the tail of a
  // datagram larger than the caller's buffer (AcquireNotify path).
  std::vector<std::uint8_t> pending;
  std::size_t pending_read = 0;
  std::uint64_t notifications = 0;
  std::vector<std::uint8_t> datagram = std::vector<std::uint8_t>(kMaxAttributeValueBytes + 8);

  Link() = default;
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  ~Link() {
    if (notify_fd >= 0) {
      ::close(notify_fd);
    }
  }

  void mark_lost(std::string reason) {
    if (!lost) {
      lost = true;
      lost_reason = std::move(reason);
    }
  }

  // Dispatches queued D-Bus messages (signal handlers run here). A broken bus is a lost link.
  void dispatch() noexcept {
    try {
      while (bus->processPendingRequest()) {
      }
    } catch (const sdbus::Error& e) {
      mark_lost(fmt::format("D-Bus connection failed ({})", e.what()));
    }
  }

  // Processes D-Bus traffic until `done()` or the deadline; returns done().
  template <typename Done>
  bool pump_until(Clock::time_point deadline, Done done) {
    for (;;) {
      dispatch();
      if (done()) {
        return true;
      }
      const auto now = Clock::now();
      if (now >= deadline) {
        return false;
      }
      const auto poll_data = bus->getEventLoopPollData();
      int wait_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
      const int bus_ms = poll_data.getPollTimeout();
      if (bus_ms >= 0) {
        wait_ms = std::min(wait_ms, bus_ms);
      }
      pollfd fds{poll_data.fd, poll_data.events, 0};
      ::poll(&fds, 1, wait_ms);
    }
  }

  ObjectMap managed_objects(std::chrono::milliseconds timeout) {
    ObjectMap objects;
    try {
      root->callMethod("GetManagedObjects")
          .onInterface(kObjectManager)
          .withTimeout(timeout)
          .storeResultsTo(objects);
    } catch (const sdbus::Error& e) {
      throw bus_error(e, "listing BlueZ objects");
    }
    return objects;
  }
};

BleTransport::BleTransport(BleSettings settings) : settings_(std::move(settings)) {
  if (settings_.device.empty()) {
    throw TransportError(TransportErrorKind::configuration,
                         "BLE: no device given; pass its address (AA:BB:CC:DD:EE:FF) or advertised name");
  }
  settings_.service_uuid = lower(settings_.service_uuid);
  settings_.data_uuid = lower(settings_.data_uuid);
  settings_.control_uuid = lower(settings_.control_uuid);
}

BleTransport::~BleTransport() { close(); }

namespace {

bool device_matches(const PropertyMap& device, const std::string& wanted) {
  const auto address = property<std::string>(device, "Address");
  if (address && lower(*address) == lower(wanted)) {
    return true;
  }
  const auto name = property<std::string>(device, "Name");
  const auto alias = property<std::string>(device, "Alias");
  return (name && *name == wanted) || (alias && *alias == wanted);
}

std::optional<std::string> find_device(const ObjectMap& objects, const std::string& adapter_path,
                                       const std::string& wanted) {
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kDevice);
    if (it == interfaces.end()) {
      continue;
    }
    const auto adapter = property<sdbus::ObjectPath>(it->second, "Adapter");
    if (adapter && *adapter != adapter_path) {
      continue;
    }
    if (device_matches(it->second, wanted)) {
      return std::string(path);
    }
  }
  return std::nullopt;
}

}  // namespace

void BleTransport::open() {
  close();
  auto link = std::make_unique<Link>();
  Link* const l = link.get();
  try {
    link->bus = sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    throw TransportError(
        TransportErrorKind::not_found,
        fmt::format("BLE: cannot connect to the D-Bus system bus ({}); is dbus running?", e.what()));
  }
  const std::string& wanted = settings_.device;

  // Watch InterfacesAdded/Removed before listing, so an object appearing in between is not missed.
  link->root = sdbus::createProxy(*link->bus, kBluezName, "/");
  link->root->uponSignal("InterfacesAdded")
      .onInterface(kObjectManager)
      .call([l](const sdbus::ObjectPath& path, const InterfaceMap& interfaces) {
        l->added.emplace_back(path, interfaces);
      });
  link->root->uponSignal("InterfacesRemoved")
      .onInterface(kObjectManager)
      .call([l](const sdbus::ObjectPath& path, const std::vector<std::string>& interfaces) {
        if (path == l->device_path &&
            std::find(interfaces.begin(), interfaces.end(), kDevice) != interfaces.end()) {
          l->mark_lost("BlueZ removed the device object");
        }
      });
  link->root->finishRegistration();
  ObjectMap objects = link->managed_objects(settings_.call_timeout);

  // Adapter: the one named in the settings, else the first one BlueZ lists.
  const PropertyMap* adapter = nullptr;
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kAdapter);
    if (it != interfaces.end() && (settings_.adapter.empty() || adapter_name(path) == settings_.adapter)) {
      link->adapter_path = path;
      adapter = &it->second;
      break;
    }
  }
  if (adapter == nullptr) {
    throw TransportError(
        TransportErrorKind::not_found,
        settings_.adapter.empty()
            ? std::string(
                  "BLE: BlueZ reports no Bluetooth adapter; check `bluetoothctl list` and `rfkill list`")
            : fmt::format("BLE: BlueZ has no adapter '{}'; check `bluetoothctl list`", settings_.adapter));
  }
  const std::string adapter_label = adapter_name(link->adapter_path);
  if (!property<bool>(*adapter, "Powered").value_or(false)) {
    throw TransportError(
        TransportErrorKind::configuration,
        fmt::format("BLE: adapter {} is powered off; switch it on with `bluetoothctl power on` "
                    "(and check `rfkill list`)",
                    adapter_label));
  }

  // Device: already known to BlueZ (bonded or recently seen), else discovered within scan_timeout.
  auto device_path = find_device(objects, link->adapter_path, wanted);
  if (!device_path) {
    auto adapter_proxy = sdbus::createProxy(*link->bus, kBluezName, link->adapter_path);
    try {
      // Low-energy only: a classic inquiry would slow discovery down. Older BlueZ may lack the filter.
      adapter_proxy->callMethod("SetDiscoveryFilter")
          .onInterface(kAdapter)
          .withArguments(PropertyMap{{"Transport", sdbus::Variant(std::string("le"))}})
          .withTimeout(settings_.call_timeout);
    } catch (const sdbus::Error& e) {
      if (is_permission_error(e.getName())) {
        throw bus_error(e, fmt::format("starting discovery on {}", adapter_label));
      }
    }
    try {
      adapter_proxy->callMethod("StartDiscovery").onInterface(kAdapter).withTimeout(settings_.call_timeout);
    } catch (const sdbus::Error& e) {
      if (e.getName() != "org.bluez.Error.InProgress") {
        throw bus_error(e, fmt::format("starting discovery on {}", adapter_label));
      }
    }
    link->pump_until(Clock::now() + settings_.scan_timeout, [&] {
      for (const auto& [path, interfaces] : l->added) {
        const auto it = interfaces.find(kDevice);
        if (it != interfaces.end() && device_matches(it->second, wanted)) {
          device_path = std::string(path);
          return true;
        }
      }
      l->added.clear();
      return false;
    });
    try {
      adapter_proxy->callMethod("StopDiscovery").onInterface(kAdapter).withTimeout(settings_.call_timeout);
    } catch (const sdbus::Error&) {
      // Discovery may already have stopped (another client, adapter reset): nothing to undo.
    }
    if (!device_path) {
      throw TransportError(
          TransportErrorKind::not_found,
          fmt::format("BLE: device '{}' not found within {:.1f} s of scanning on {}; check that it "
                      "is switched on, advertising, in range and not connected to another host",
                      wanted, std::chrono::duration<double>(settings_.scan_timeout).count(), adapter_label));
    }
  }
  link->device_path = *device_path;

  // Connect and wait for GATT service discovery (ServicesResolved).
  link->device = sdbus::createProxy(*link->bus, kBluezName, link->device_path);
  link->device->uponSignal("PropertiesChanged")
      .onInterface(kProperties)
      .call([l](const std::string& interface, const PropertyMap& changed, const std::vector<std::string>&) {
        if (interface != kDevice) {
          return;
        }
        if (const auto connected = property<bool>(changed, "Connected")) {
          l->connected = *connected;
          if (!*connected) {
            l->mark_lost("the device disconnected (Device1.Connected became false)");
          }
        }
        if (const auto resolved = property<bool>(changed, "ServicesResolved")) {
          l->services_resolved = *resolved;
        }
      });
  link->device->finishRegistration();
  const auto connect_deadline = Clock::now() + settings_.connect_timeout;
  try {
    PropertyMap state;
    link->device->callMethod("GetAll")
        .onInterface(kProperties)
        .withArguments(std::string(kDevice))
        .withTimeout(settings_.call_timeout)
        .storeResultsTo(state);
    link->connected = property<bool>(state, "Connected").value_or(false);
    link->services_resolved = property<bool>(state, "ServicesResolved").value_or(false);
    if (!link->connected) {
      link->device->callMethod("Connect").onInterface(kDevice).withTimeout(settings_.connect_timeout);
      link->connected = true;
    }
  } catch (const sdbus::Error& e) {
    if (e.getName() != "org.bluez.Error.AlreadyConnected") {
      throw bus_error(e, fmt::format("connecting to {} ({})", wanted, link->device_path));
    }
  }
  link->lost = false;  // a stale disconnect from before Connect() does not concern this link
  if (!link->pump_until(connect_deadline, [l] { return l->services_resolved || l->lost; })) {
    throw TransportError(
        TransportErrorKind::io,
        fmt::format("BLE: {} connected but its GATT services were not resolved within {:.1f} s", wanted,
                    std::chrono::duration<double>(settings_.connect_timeout).count()));
  }
  if (link->lost) {
    throw TransportError(
        TransportErrorKind::io,
        fmt::format("BLE: {} disconnected while its services were resolved ({})", wanted, link->lost_reason));
  }

  // GATT service and characteristics, by UUID, below this device.
  objects = link->managed_objects(settings_.call_timeout);
  std::string service_path;
  std::vector<std::string> services_seen;
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kService);
    if (it == interfaces.end() ||
        property<sdbus::ObjectPath>(it->second, "Device").value_or(sdbus::ObjectPath{}) !=
            link->device_path) {
      continue;
    }
    const std::string uuid = lower(property<std::string>(it->second, "UUID").value_or(""));
    services_seen.push_back(uuid);
    if (uuid == settings_.service_uuid) {
      service_path = path;
    }
  }
  if (service_path.empty()) {
    std::string seen;
    for (const auto& uuid : services_seen) {
      seen += (seen.empty() ? "" : ", ") + uuid;
    }
    throw TransportError(
        TransportErrorKind::configuration,
        fmt::format("BLE: {} has no glutescope GATT service {} (services: {}); is it running "
                    "glutescope firmware (firmware-protocol/PROTOCOL.md)?",
                    wanted, settings_.service_uuid, seen.empty() ? "none" : seen));
  }
  std::string data_path;
  std::string control_path;
  for (const auto& [path, interfaces] : objects) {
    const auto it = interfaces.find(kCharacteristic);
    if (it == interfaces.end() ||
        property<sdbus::ObjectPath>(it->second, "Service").value_or(sdbus::ObjectPath{}) != service_path) {
      continue;
    }
    const std::string uuid = lower(property<std::string>(it->second, "UUID").value_or(""));
    if (uuid == settings_.data_uuid) {
      data_path = path;
    } else if (uuid == settings_.control_uuid) {
      control_path = path;
    }
  }
  if (data_path.empty() || control_path.empty()) {
    throw TransportError(
        TransportErrorKind::configuration,
        fmt::format("BLE: {}'s glutescope service lacks its {} characteristic ({}); firmware and "
                    "host disagree on firmware-protocol/PROTOCOL.md's GATT mapping",
                    wanted, data_path.empty() ? "data" : "control",
                    data_path.empty() ? settings_.data_uuid : settings_.control_uuid));
  }
  link->control = sdbus::createProxy(*link->bus, kBluezName, control_path);
  link->control->finishRegistration();

  // Subscribe. The Value handler is registered before any subscription call, so notifications that
  // BlueZ forwards before StartNotify's reply are dispatched, not dropped; AcquireNotify's socket
  // buffers datagrams sent before its reply.
  link->data = sdbus::createProxy(*link->bus, kBluezName, data_path);
  link->data->uponSignal("PropertiesChanged")
      .onInterface(kProperties)
      .call([l](const std::string& interface, const PropertyMap& changed, const std::vector<std::string>&) {
        if (interface != kCharacteristic || !l->accept_value_signals) {
          return;
        }
        if (auto value = property<std::vector<std::uint8_t>>(changed, "Value")) {
          if (l->pending_read == l->pending.size()) {
            l->pending.clear();
            l->pending_read = 0;
          }
          l->pending.insert(l->pending.end(), value->begin(), value->end());
          ++l->notifications;
        }
      });
  link->data->finishRegistration();
  acquire_refusal_.clear();
  if (settings_.prefer_acquire_notify) {
    try {
      sdbus::UnixFd fd;
      std::uint16_t mtu = 0;
      link->data->callMethod("AcquireNotify")
          .onInterface(kCharacteristic)
          .withArguments(PropertyMap{})
          .withTimeout(settings_.call_timeout)
          .storeResultsTo(fd, mtu);
      link->notify_fd = fd.release();
      ::fcntl(link->notify_fd, F_SETFL, ::fcntl(link->notify_fd, F_GETFL) | O_NONBLOCK);
      link->mtu = mtu;
      link->path = BleNotifyPath::acquired_fd;
    } catch (const sdbus::Error& e) {
      if (is_permission_error(e.getName())) {
        throw bus_error(e, fmt::format("subscribing to {}'s data characteristic", wanted));
      }
      // NotSupported (no notify-acquire flag, older BlueZ), NotPermitted (someone else called
      // StartNotify), Failed: fall back to PropertiesChanged.
      acquire_refusal_ = fmt::format("{}: {}", e.getName(), e.getMessage());
    }
  } else {
    acquire_refusal_ = "AcquireNotify disabled in the settings";
  }
  if (link->path == BleNotifyPath::none) {
    link->accept_value_signals = true;
    try {
      link->data->callMethod("StartNotify").onInterface(kCharacteristic).withTimeout(settings_.call_timeout);
    } catch (const sdbus::Error& e) {
      throw bus_error(e, fmt::format("subscribing to {}'s data characteristic", wanted));
    }
    link->path = BleNotifyPath::properties_changed;
    try {
      sdbus::Variant mtu;
      link->data->callMethod("Get")
          .onInterface(kProperties)
          .withArguments(std::string(kCharacteristic), std::string("MTU"))
          .withTimeout(settings_.call_timeout)
          .storeResultsTo(mtu);
      link->mtu = mtu.get<std::uint16_t>();
    } catch (const sdbus::Error&) {
      link->mtu = 0;  // MTU property appeared in BlueZ 5.62; unknown on older versions
    }
  }
  link_ = std::move(link);
}

ReadResult BleTransport::read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) {
  if (!link_ || buffer.empty()) {
    return {link_ ? ReadStatus::timeout : ReadStatus::closed, 0};
  }
  Link& l = *link_;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    l.dispatch();
    if (l.pending_read < l.pending.size()) {
      const std::size_t n = std::min(buffer.size(), l.pending.size() - l.pending_read);
      std::memcpy(buffer.data(), l.pending.data() + l.pending_read, n);
      l.pending_read += n;
      notifications_ += std::exchange(l.notifications, 0);
      return {ReadStatus::data, n};
    }
    if (l.path == BleNotifyPath::acquired_fd) {
      // One datagram = one notification. Received whole into `datagram` (a SEQPACKET read into a
      // smaller buffer would truncate it), then handed out.
      const ssize_t got = ::recv(l.notify_fd, l.datagram.data(), l.datagram.size(), MSG_DONTWAIT);
      if (got > 0) {
        ++notifications_;
        const auto size = static_cast<std::size_t>(got);
        const std::size_t n = std::min(buffer.size(), size);
        std::memcpy(buffer.data(), l.datagram.data(), n);
        if (n < size) {
          l.pending.assign(l.datagram.begin() + static_cast<std::ptrdiff_t>(n),
                           l.datagram.begin() + static_cast<std::ptrdiff_t>(size));
          l.pending_read = 0;
        }
        return {ReadStatus::data, n};
      }
      if (got == 0) {
        l.mark_lost("the notification socket was closed (link lost)");
      } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        l.mark_lost(fmt::format("reading the notification socket failed ({})", std::strerror(errno)));
      }
    }
    if (l.lost) {
      last_loss_reason_ = l.lost_reason;
      close();
      return {ReadStatus::closed, 0};
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      return {ReadStatus::timeout, 0};
    }
    const auto poll_data = l.bus->getEventLoopPollData();
    int wait_ms = static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    const int bus_ms = poll_data.getPollTimeout();
    if (bus_ms >= 0) {
      wait_ms = std::min(wait_ms, bus_ms);
    }
    pollfd fds[2] = {{poll_data.fd, poll_data.events, 0}, {l.notify_fd, POLLIN, 0}};
    ::poll(fds, l.notify_fd >= 0 ? 2 : 1, wait_ms);
  }
}

void BleTransport::close() noexcept {
  if (!link_) {
    return;
  }
  Link& l = *link_;
  constexpr auto kQuick = std::chrono::milliseconds(1000);
  try {
    if (!l.lost && l.path == BleNotifyPath::properties_changed) {
      l.data->callMethod("StopNotify").onInterface(kCharacteristic).withTimeout(kQuick);
    }
    if (l.notify_fd >= 0) {
      ::close(l.notify_fd);  // releasing the acquired socket is how AcquireNotify is undone
      l.notify_fd = -1;
    }
    if (!l.lost && l.connected && l.device) {
      l.device->callMethod("Disconnect").onInterface(kDevice).withTimeout(kQuick);
    }
  } catch (const sdbus::Error&) {
    // Best effort: the device or BlueZ may already be gone; closing must not fail.
  } catch (const std::bad_alloc&) {
  }
  link_.reset();
}

bool BleTransport::is_open() const noexcept { return link_ != nullptr; }

std::string BleTransport::describe() const {
  if (!link_) {
    return fmt::format("BLE {} via BlueZ", settings_.device);
  }
  return fmt::format("BLE {} via BlueZ ({}, MTU {}, {})", settings_.device, link_->device_path, link_->mtu,
                     link_->path == BleNotifyPath::acquired_fd ? "AcquireNotify" : "StartNotify");
}

void BleTransport::write_control(std::span<const std::uint8_t> frame) {
  if (!link_) {
    throw TransportError(TransportErrorKind::io,
                         fmt::format("BLE: cannot write to {}: not connected", settings_.device));
  }
  try {
    link_->control->callMethod("WriteValue")
        .onInterface(kCharacteristic)
        .withArguments(std::vector<std::uint8_t>(frame.begin(), frame.end()),
                       PropertyMap{{"type", sdbus::Variant(std::string("request"))}})
        .withTimeout(settings_.call_timeout);
  } catch (const sdbus::Error& e) {
    throw bus_error(e, fmt::format("writing a command to {}", settings_.device));
  }
}

bool BleTransport::write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) {
  if (!link_) {
    return false;
  }
  const auto saved = settings_.call_timeout;
  settings_.call_timeout = timeout;
  bool ok = true;
  try {
    std::size_t start = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
      if (bytes[i] == 0x00) {
        write_control(bytes.subspan(start, i + 1 - start));
        start = i + 1;
      }
    }
    if (start < bytes.size()) {
      write_control(bytes.subspan(start));
    }
  } catch (const TransportError&) {
    ok = false;
  }
  settings_.call_timeout = saved;
  return ok;
}

std::uint16_t BleTransport::mtu() const noexcept { return link_ ? link_->mtu : 0; }

BleNotifyPath BleTransport::notify_path() const noexcept { return link_ ? link_->path : BleNotifyPath::none; }

std::string BleTransport::device_path() const { return link_ ? link_->device_path : std::string(); }

std::uint64_t BleTransport::notifications_received() const noexcept { return notifications_; }

}  // namespace glutescope::io
