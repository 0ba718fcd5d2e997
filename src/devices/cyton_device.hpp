// OpenBCI Cyton (8 channels) and Cyton + Daisy (16 channels) over the RFduino USB dongle (FTDI serial,
// 115200 8N1), behind the device framework (device_decoder.hpp). Layout, scale factors, pairing and
// limits with their sources: docs/DEVICES.md §Cyton. Sources: docs.openbci.com "Cyton Data Format"
// (OpenBCI/Documentation website/docs/Cyton/03-Cyton_Data_Format.md) §Binary Format, §24-Bit Signed Data
// Values, §Interpreting the EEG Data, §16 Channel Data with Daisy Module; "Cyton Board SDK"
// (04-OpenBCI_Cyton_SDK.md) §Channel Setting Commands, §Stream Data Commands, §Miscellaneous (v),
// §16 Channel Commands (c, C).
//
// Packet (33 bytes): 0xA0 | sample number (u8, wraps) | 8 x int24 big-endian two's complement |
// 6 aux bytes | footer 0xC0-0xC6 (0xC0: aux = accelerometer X, Y, Z as int16 big-endian).
//
// Framing: a packet is accepted at a 0xA0 whose byte 33 is a footer. After garbage (searching) a
// candidate is accepted only when the next 33 bytes are a packet too (its header and footer), so one
// random 0xA0 ... 0xCx pair in garbage does not become a sample; once locked, each header+footer pair is
// accepted directly.
// Counter: a jump of d > 1 is held back for one packet. If the next packet continues the old count
// (old + 2), the held packet's counter was corrupt: it is rejected and its sample becomes a one-sample gap;
// otherwise the jump is real: d - 1 lost packets. An 8-bit counter cannot tell d from d + 256k: a loss
// of 256 packets or more looks like fewer (counter_wraps).
// Daisy: the board sends its own ADS1299 on odd sample numbers and the Daisy's on even ones, each the
// firmware's average of the current and previous sample of that ADS1299. Row k of the 16-channel stream
// = the board packet with odd absolute number 2m+1 (channels 1-8) + the Daisy packet 2m+2 (channels 9-16);
// glutescope itself never averages. A half without its partner is dropped: its row is a lost sample.
// Accelerometer (footer 0xC0): new values at 25 Hz, zeros in between. Accelerometer sample j is the
// non-zero aux of packets 10j..10j+9 after the first packet; a window without one is a one-sample gap,
// a second one in a window is dropped and counted.
// Time: the default footer carries no device clock, so device time = sample index / nominal rate and host
// arrival times are stored beside it. After a reconnect the board is soft-reset (its counter restarts),
// so the samples missed while away are estimated from the host clock and said so in an event.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/clock_fit.hpp"
#include "core/device_info.hpp"
#include "core/session_types.hpp"
#include "devices/device_decoder.hpp"

namespace glutescope::devices {

inline constexpr std::size_t kCytonPacketSize = 33;
inline constexpr std::uint8_t kCytonHeader = 0xA0;
inline constexpr double kCytonRateHz = 250.0;       // packets per second (CytonDataFormat §Interpreting)
inline constexpr double kCytonAdsFullScaleV = 4.5;  // V (ADS1299 VREF, same section)
inline constexpr double kCytonAccelGPerCount = 0.002 / 16.0;  // ±4 g, "0.002 / 2^4" (same section)
inline constexpr double kCytonAccelRateHz = 25.0;  // new accelerometer values (CytonDataFormat §Binary)
inline constexpr int kCytonDefaultGain = 24;

// Footers 0xC0-0xC6 (CytonDataFormat §Binary Format, v2.0.0 table).
[[nodiscard]] constexpr bool is_cyton_footer(std::uint8_t b) noexcept { return b >= 0xC0 && b <= 0xC6; }
// 24-bit big-endian two's complement (CytonDataFormat §24-Bit Signed Data Values).
[[nodiscard]] constexpr std::int32_t cyton_int24(const std::uint8_t* p) noexcept {
  const std::uint32_t u = (std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2];
  return (u & 0x800000u) != 0 ? static_cast<std::int32_t>(u | 0xFF000000u) : static_cast<std::int32_t>(u);
}
[[nodiscard]] constexpr std::int16_t cyton_int16(const std::uint8_t* p) noexcept {
  return static_cast<std::int16_t>(static_cast<std::uint16_t>((std::uint16_t{p[0]} << 8) | p[1]));
}
// µV per count = 4.5 V / gain / (2^23 - 1) x 1e6.
[[nodiscard]] constexpr double cyton_microvolts_per_count(int gain) noexcept {
  return kCytonAdsFullScaleV / static_cast<double>(gain) / 8388607.0 * 1e6;
}
// Gain code of the channel-setting command (SDK §Channel Setting Commands: '0'..'6' = 1, 2, 4, 6, 8, 12,
// 24), or nullopt for a gain the ADS1299 does not have.
[[nodiscard]] std::optional<char> cyton_gain_code(int gain) noexcept;
// Channel letter of the SDK's channel-setting command: '1'..'8', then 'Q','W','E','R','T','Y','U','I'.
[[nodiscard]] char cyton_channel_char(std::size_t channel) noexcept;

// One packet, parsed (header and footer already checked).
struct CytonPacket {
  std::uint8_t sample_number = 0;
  std::array<std::int32_t, 8> channels{};
  std::array<std::uint8_t, 6> aux{};
  std::uint8_t footer = 0xC0;
};
[[nodiscard]] CytonPacket parse_cyton_packet(std::span<const std::uint8_t, kCytonPacketSize> bytes) noexcept;

// Byte stream -> packets, with the resynchronisation described above. Byte-at-a-time state machine: any
// chunking gives the same packets and counters. Allocation-free.
class CytonFramer {
 public:
  struct Counters {
    std::uint64_t packets = 0;
    std::uint64_t garbage_bytes = 0;  // skipped while searching, and dropped partial packets
  };
  // Calls on_packet(const CytonPacket&) for each accepted packet.
  template <typename OnPacket>
  void feed(std::span<const std::uint8_t> bytes, OnPacket&& on_packet) noexcept {
    for (const std::uint8_t b : bytes) {
      buffer_[size_++] = b;
      while (size_ > 0) {
        const Step step = examine();
        if (step == Step::need_more) break;
        if (step == Step::accept) {
          ++counters_.packets;
          on_packet(parse_cyton_packet(
              std::span<const std::uint8_t, kCytonPacketSize>(buffer_.data(), kCytonPacketSize)));
          consume(kCytonPacketSize);
        } else {
          ++counters_.garbage_bytes;
          consume(1);
        }
      }
    }
  }
  // Drops a partial (or unconfirmed) packet; its bytes count as garbage. Searching again afterwards.
  void reset() noexcept;
  [[nodiscard]] const Counters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t pending_bytes() const noexcept { return size_; }

 private:
  enum class Step : std::uint8_t { need_more, accept, skip };
  [[nodiscard]] Step examine() noexcept;
  void consume(std::size_t n) noexcept;

  std::array<std::uint8_t, 2 * kCytonPacketSize> buffer_{};
  std::size_t size_ = 0;
  bool locked_ = false;
  Counters counters_;
};

// What the driver learned and configured, shared with the decoder it makes (DEVICE description).
struct CytonBoardState {
  bool daisy = false;
  std::string firmware = "unknown";  // from the soft-reset reply ("v3.1.2")
  std::vector<int> gains;            // per channel (8 or 16)
};

// DeviceInfo of a Cyton (8 channels "CH1".."CH8") or Cyton + Daisy ("CH1".."CH16"), with each channel's
// µV per count from its gain, and one accelerometer-only motion sensor "accel" (no gyroscope:
// gyro_range_dps = gyro_dps_per_count = 0, ImuInfo::has_gyroscope() false).
DeviceInfo cyton_device_info(const CytonBoardState& state);

class CytonDecoder final : public DeviceDecoder {
 public:
  CytonDecoder(DeviceSink& sink, std::shared_ptr<const CytonBoardState> state, double session_start_host_s);

  void feed(std::size_t stream, std::span<const std::uint8_t> bytes, double host_time_s) noexcept override;
  void reset() noexcept override;
  void finish() noexcept override;
  [[nodiscard]] DecoderCounters counters() const noexcept override;
  [[nodiscard]] ClockMapping clock() const noexcept override { return clock_.mapping(); }
  [[nodiscard]] std::optional<std::string> stream_error() const override;

  // Decoder-specific counts (docs/DEVICES.md): Daisy halves without a partner, counters rejected as
  // corrupt, packets whose aux was not an accelerometer (footers 0xC1-0xC6), accelerometer values beyond
  // one per 10-packet window, outages whose gap was estimated from the host clock.
  struct CytonCounters {
    std::uint64_t unpaired_halves = 0;
    std::uint64_t corrupt_counters = 0;
    std::uint64_t non_accel_aux = 0;
    std::uint64_t extra_accel_values = 0;
    std::uint64_t estimated_outages = 0;
  };
  [[nodiscard]] const CytonCounters& cyton_counters() const noexcept { return cyton_; }

  // After this many bytes (1 s of packets), a stream less than half of which are packets is not a Cyton's.
  static constexpr std::uint64_t kBytesWithoutPacket = 8250;
  static constexpr std::size_t kSamplesPerBlock = 10;  // EMG rows per block (40 ms at 250 Hz)

 private:
  void on_packet(const CytonPacket& packet) noexcept;
  void accept(const CytonPacket& packet, std::uint64_t absolute) noexcept;
  void accept_emg_row(std::uint64_t row, const std::int32_t* channels) noexcept;
  void accept_accel(const CytonPacket& packet, std::uint64_t absolute) noexcept;
  void flush_emg() noexcept;
  void on_packet_flush_held() noexcept;  // a held counter jump is real (no packet came to judge it)
  void emit_info_once() noexcept;
  void note(std::string text) noexcept;

  DeviceSink& sink_;
  std::shared_ptr<const CytonBoardState> state_;
  double session_start_host_s_;
  bool daisy_;
  std::size_t channels_;
  double emg_rate_hz_;
  CytonFramer framer_;
  ClockFit clock_;
  double host_time_s_ = 0.0;  // arrival time of the chunk being fed

  bool info_sent_ = false;
  bool have_last_ = false;
  std::uint8_t last_counter_ = 0;
  std::uint64_t last_absolute_ = 0;  // unwrapped absolute packet number of the last accepted packet
  std::uint64_t first_absolute_ = 0;
  double last_packet_host_s_ = 0.0;
  bool outage_pending_ = false;      // reset() happened: the next packet starts a new counter run
  std::optional<CytonPacket> held_;  // counter jump waiting for the next packet

  std::uint64_t next_row_ = 0;  // next expected EMG sample (row) index
  bool rows_started_ = false;
  std::optional<std::uint64_t> pending_board_;  // Daisy: absolute number of the board half waiting
  std::array<std::int32_t, 8> pending_board_channels_{};
  std::uint64_t next_accel_ = 0;

  EmgBlock emg_block_;  // rows being collected (capacity reserved once)
  ImuBlock imu_block_;
  DecoderCounters counters_;
  CytonCounters cyton_;
};

class CytonDriver final : public DeviceDriver {
 public:
  // Throws std::invalid_argument for a gain the ADS1299 does not have or a gain list of the wrong length.
  CytonDriver(bool daisy, const std::vector<int>& channel_gains);

  [[nodiscard]] const DeviceDescription& description() const noexcept override;
  [[nodiscard]] std::vector<CommandStep> connect_steps() override;
  [[nodiscard]] std::vector<CommandStep> start_steps() override;
  [[nodiscard]] std::vector<CommandStep> stop_steps() override;
  void check_reply(const CommandStep& step, std::string_view reply) override;
  [[nodiscard]] std::unique_ptr<DeviceDecoder> make_decoder(DeviceSink& sink,
                                                            double session_start_host_s) override;

 private:
  std::shared_ptr<CytonBoardState> state_;
  bool configure_gains_;  // gains were given: send one channel-setting command per channel
};

DeviceDescription cyton_description(bool daisy);

}  // namespace glutescope::devices
