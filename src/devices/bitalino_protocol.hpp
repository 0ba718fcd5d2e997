// BITalino (r)evolution serial protocol: command bytes, frame layout, CRC-4 and the sensors' transfer
// functions. Pure functions on bytes and numbers; the stream decoder is bitalino_device.hpp.
//
// Sources (docs/DEVICES.md "BITalino (r)evolution" cites them in full):
//  * the (r)evolution firmware, BITalinoWorld/firmware-bitalino-revolution: uart.c (command decoding,
//    sendFrameCRC: frame start position and CRC-4), live.c (bit packing of the analog and digital
//    values), timer.c (sequence number +1 per sample period, also for a frame skipped because the
//    transmit buffer was full), main.c (version string "BITalino_v5.1\n");
//  * the host API, BITalinoWorld/cpp-api bitalino.cpp: start/stop/version commands, frame length
//    nChannels + 2 (+1 for 3 to 5 channels), unpacking from the frame's end, shift-one-byte resync;
//  * sensor data sheets: REVOLUTION_EMG_Sensor_Datasheet (EMG(V) = (ADC/2^n − 1/2)·VCC/G_EMG,
//    VCC = 3.3 V, G_EMG = 1009, ±1.64 mV), REVOLUTION_ACC_Sensor_Datasheet
//    (ACC(g) = (ADC − Cmin)/(Cmax − Cmin)·2 − 1 with Cmin/Cmax from a slow 360° rotation).
//
// Channel positions: the start command's mask selects analog inputs A1..A6; the k-th selected input
// (in A1..A6 order) goes to frame position k. Positions 0-3 carry 10 bits, positions 4 and 5 the upper
// 6 bits of the 10-bit conversion (live.c). So "A5 and A6 are 6-bit" holds when all six are selected;
// A5 selected with three others lands in position 3 and keeps 10 bits.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace glutescope::devices::bitalino {

inline constexpr std::size_t kAnalogInputs = 6;
inline constexpr std::size_t kMaxFrameSize = 8;
inline constexpr unsigned kBaudRate = 115200;  // firmware main.c: UBRR0 = 12 at 12 MHz, U2X0

// Idle-mode commands (firmware uart.c).
inline constexpr std::uint8_t kVersionCommand = 0x07;  // replies "BITalino_v5.1\n"
// Ends live (and simulated) mode; ignored in idle mode, so it is safe to send when the state is unknown
// (0x00 also stops live mode but in idle mode sets the battery threshold).
inline constexpr std::uint8_t kStopCommand = 0xFF;
inline constexpr std::string_view kVersionPrefix = "BITalino_v";

// The sampling-rate command: <Fs(2 bits)> 0 0 0 0 1 1 — 0x03 1 Hz, 0x43 10 Hz, 0x83 100 Hz, 0xC3 1000 Hz.
// nullopt for any other rate.
std::optional<std::uint8_t> rate_command(unsigned rate_hz) noexcept;
// The rate a rate command selects (inverse of rate_command), nullopt for any other byte.
std::optional<unsigned> rate_of_command(std::uint8_t command) noexcept;
// Start live mode (or the firmware's simulated mode) with analog inputs `mask` (bit 0 = A1 .. bit 5 = A6):
// A6 A5 A4 A3 A2 A1 0 1 (live) / 1 0 (simulated). Throws std::invalid_argument for mask 0 or > 0x3F.
std::uint8_t start_command(std::uint8_t mask, bool simulated = false);

// Selected inputs of a mask, in frame-position order (A1 = 0 .. A6 = 5).
std::size_t channel_count(std::uint8_t mask) noexcept;
// Frame length in bytes for `channels` analog channels: channels + 2, one more for 3 to 5 channels
// (firmware sendFrameCRC startPos = 6 − n, minus one for 3 ≤ n ≤ 5). Throws for 0 or more than 6.
std::size_t frame_size(std::size_t channels);
// Bits carried at frame position `position` (0-based): 10 for 0-3, 6 for 4-5.
constexpr unsigned position_bits(std::size_t position) noexcept { return position < 4 ? 10U : 6U; }

// CRC-4 (polynomial x^4 + x + 1, table {0,3,6,5,12,15,10,9,11,8,13,14,7,4,1,2}) over a whole frame,
// nibble by nibble from the first byte, high nibble first, the last byte's CRC nibble taken as zero.
std::uint8_t crc4(std::span<const std::uint8_t> frame) noexcept;
// True if the frame's low nibble of the last byte equals crc4(frame).
bool crc_ok(std::span<const std::uint8_t> frame) noexcept;

struct Frame {
  std::uint8_t sequence = 0;  // 0-15, +1 per sample period (wraps)
  std::uint8_t digital = 0;   // I1 bit 3, I2 bit 2, O1 bit 1, O2 bit 0 (live.c frame[6] bits 7-4)
  std::array<std::uint16_t, kAnalogInputs> analog{};  // by frame position; 6-bit positions hold 0-63
};

// Values of a frame of `channels` channels; `frame` must hold frame_size(channels) bytes (not checked
// beyond an assertion of the size: callers cut frames). The CRC is not checked here.
Frame unpack(std::span<const std::uint8_t> frame, std::size_t channels) noexcept;
// Wire bytes of a frame (what the firmware sends), CRC filled in. Values are masked to their bits.
// `out` must hold frame_size(channels) bytes; returns that size.
std::size_t pack(const Frame& frame, std::size_t channels, std::span<std::uint8_t> out) noexcept;

// The version reply, e.g. "BITalino_v5.1": major and minor, found anywhere in the reply.
struct Version {
  int major = 0;
  int minor = 0;
  std::string text;  // "BITalino_v5.1"
};
std::optional<Version> parse_version(std::string_view reply);

// Transfer functions, on the 10-bit-equivalent ADC value (a 6-bit value v is the conversion's upper six
// bits, so v << 4 is its 10-bit equivalent and (v << 4) / 2^10 == v / 2^6: the data sheets' formulas in n).
constexpr std::uint16_t ten_bit_equivalent(std::uint16_t adc, unsigned bits) noexcept {
  return static_cast<std::uint16_t>(adc << (10U - bits));
}

inline constexpr double kVcc = 3.3;         // V, operating voltage (EMG data sheet)
inline constexpr double kEmgGain = 1009.0;  // G_EMG, (r)evolution EMG sensor data sheet
// EMG is stored as counts centred on mid-scale, c = ADC10 − 512, so that the data sheet's
// EMG(V) = (ADC/2^10 − 1/2)·VCC/G = c·VCC/(2^10·G) is one linear factor: 3.1939 µV per count.
inline constexpr double kEmgMicrovoltsPerCount = kVcc / (1024.0 * kEmgGain) * 1e6;
constexpr std::int32_t emg_count(std::uint16_t adc, unsigned bits) noexcept {
  return static_cast<std::int32_t>(ten_bit_equivalent(adc, bits)) - 512;
}

// Accelerometer calibration (ACC data sheet): the extreme values a slow 360° rotation gives, in 10-bit
// ADC units. The data sheet gives no default; these placeholders (a 208..312 span, as in OpenSignals'
// early BITalino examples, not from the data sheet) hold until the user calibrates, and the raw ADC is
// recoverable exactly from the stored count whatever calibration was used.
struct AccCalibration {
  int c_min = 208;
  int c_max = 312;
};
// ACC is stored as c = 2·ADC10 − (Cmin + Cmax), an exact integer, so that
// ACC(g) = (ADC − Cmin)/(Cmax − Cmin)·2 − 1 = c/(Cmax − Cmin): one linear factor g per count.
constexpr std::int32_t acc_count(std::uint16_t adc, unsigned bits, AccCalibration cal) noexcept {
  return 2 * static_cast<std::int32_t>(ten_bit_equivalent(adc, bits)) - (cal.c_min + cal.c_max);
}
constexpr double acc_g_per_count(AccCalibration cal) noexcept { return 1.0 / (cal.c_max - cal.c_min); }

}  // namespace glutescope::devices::bitalino
