// BLE transport: streams the glutescope data characteristic of a wearable through BlueZ's D-Bus API
// (org.bluez, bluez doc/org.bluez.{Adapter,Device,GattCharacteristic}.rst) and presents it as the
// same byte stream a serial port gives, so the framer, decoder and recorder run unchanged.
//
// Each GATT notification carries at most MTU−3 bytes of the COBS-framed protocol v1 stream
// (firmware-protocol/PROTOCOL.md, BLE GATT mapping); notification payloads are concatenated in
// arrival order and the COBS 0x00 delimiter re-frames them.
//
// Subscription: AcquireNotify (one datagram per notification on a socket, no D-Bus traffic per
// notification) by default; StartNotify + PropertiesChanged("Value") when BlueZ refuses
// AcquireNotify (NotSupported / NotPermitted / Failed). Both paths start reading before the
// subscription call returns (research/acquisition.md §5, bleak PR #1886: early notifications).
//
// Threading contract: like every ByteSource, one thread at a time (the acquisition thread) and no
// thread of its own. D-Bus signals are dispatched from inside read_some() by polling the bus
// connection's fd next to the notification fd (sdbus-c++ getEventLoopPollData/processPendingRequest).
//
// The bus is the D-Bus system bus from sdbus::createSystemBusConnection(), which honours the
// standard DBUS_SYSTEM_BUS_ADDRESS variable (the tests point it at a private dbus-daemon).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/byte_source.hpp"

namespace glutescope::io {

// GATT layout of the glutescope wearable (firmware-protocol/PROTOCOL.md §8, Bluetooth Low Energy
// mapping). Lower-case 128-bit UUIDs, as BlueZ reports them.
inline constexpr const char* kGattServiceUuid = "dbb50001-6189-4d06-8c7b-d598bf167934";
inline constexpr const char* kGattDataCharacteristicUuid = "dbb50002-6189-4d06-8c7b-d598bf167934";  // notify
inline constexpr const char* kGattControlCharacteristicUuid =
    "dbb50003-6189-4d06-8c7b-d598bf167934";  // write

// How notifications reach the host.
enum class BleNotifyPath : std::uint8_t {
  none,                // not subscribed
  acquired_fd,         // AcquireNotify: one SOCK_SEQPACKET datagram per notification
  properties_changed,  // StartNotify: one PropertiesChanged("Value") D-Bus signal per notification
};

// Settings of one BLE link. Default instance: first powered adapter, 10 s scan, AcquireNotify.
struct BleSettings {
  std::string device;                                 // "AA:BB:CC:DD:EE:FF" or the advertised name / alias
  std::string adapter;                                // "hci0"; empty = the first adapter BlueZ lists
  std::chrono::milliseconds scan_timeout{10'000};     // discovery time when the device is not known yet
  std::chrono::milliseconds connect_timeout{20'000};  // Device1.Connect + ServicesResolved
  std::chrono::milliseconds call_timeout{5'000};      // any other D-Bus method call
  bool prefer_acquire_notify = true;                  // false forces StartNotify (benchmarks, debugging)
  std::string service_uuid = kGattServiceUuid;
  std::string data_uuid = kGattDataCharacteristicUuid;
  std::string control_uuid = kGattControlCharacteristicUuid;
};

class BleTransport final : public ByteSource {
 public:
  explicit BleTransport(BleSettings settings);
  ~BleTransport() override;

  // Finds the device (known objects, else discovery up to scan_timeout), connects, waits for
  // ServicesResolved, looks up the service and both characteristics, and subscribes. Throws
  // TransportError: not_found (no bus / BlueZ / adapter / device), permission_denied
  // (NotAuthorized, AccessDenied), configuration (adapter powered off, GATT service missing), io.
  // Calling open() after a link loss reconnects and resubscribes (the recorder's reconnect loop).
  void open() override;
  // Returns concatenated notification payloads. A link loss (notification fd HUP, Device1.Connected
  // false, device object removed) returns ReadStatus::closed and closes the transport.
  ReadResult read_some(std::span<std::uint8_t> buffer, std::chrono::milliseconds timeout) override;
  // Sends protocol frames to the control characteristic: each 0x00-terminated COBS frame in `bytes`
  // is one WriteValue (type "request", acknowledged). False if the link is gone or a write failed.
  bool write_all(std::span<const std::uint8_t> bytes, std::chrono::milliseconds timeout) override;
  void close() noexcept override;
  [[nodiscard]] bool is_open() const noexcept override;
  [[nodiscard]] std::string describe() const override;

  // Writes one complete protocol frame (e.g. a COMMAND) to the control characteristic with
  // WriteValue type "request" (acknowledged by the peripheral; BlueZ does long writes > MTU−3).
  void write_control(std::span<const std::uint8_t> frame);

  // ATT MTU of the current link (AcquireNotify's answer, or the characteristic's MTU property);
  // a notification carries at most mtu()−3 bytes. 0 when closed or unknown.
  [[nodiscard]] std::uint16_t mtu() const noexcept;
  [[nodiscard]] BleNotifyPath notify_path() const noexcept;
  // D-Bus object path of the connected device ("/org/bluez/hci0/dev_AA_BB_..."); empty when closed.
  [[nodiscard]] std::string device_path() const;
  // Notifications received since construction (both paths), for loss/throughput reporting.
  [[nodiscard]] std::uint64_t notifications_received() const noexcept;
  // Why the last link loss happened ("notification socket closed (HUP)", "Device1.Connected became
  // false", ...), for the disconnect event's text; empty if the link was never lost.
  [[nodiscard]] const std::string& last_loss_reason() const noexcept { return last_loss_reason_; }
  // Why AcquireNotify was not used on the current link (BlueZ's error), empty if it was.
  [[nodiscard]] const std::string& acquire_notify_refusal() const noexcept { return acquire_refusal_; }

 private:
  struct Link;  // D-Bus connection, proxies and subscription of one connected period
  BleSettings settings_;
  std::unique_ptr<Link> link_;
  std::uint64_t notifications_ = 0;
  std::string last_loss_reason_;
  std::string acquire_refusal_;
};

}  // namespace glutescope::io
