// Delsys Trigno SDK (Trigno Control Utility's TCP server): the ASCII command protocol and the raw data
// ports. Pure functions; the stream decoder and driver are trigno_device.hpp.
//
// Source: Delsys "Trigno Wireless System SDK User's Guide" (MAN-025-1-0, 2015), §6.1 Data Ports, §6.2
// Packet Structure and its command list; cross-checked against the open clients axopy/pytrigno
// (pytrigno.py) and BCI2000's DelsysTrigno (DelsysClient.cpp). docs/DEVICES.md "Delsys Trigno".
//  * Command port (base, 50040): on connect the server sends
//    "Delsys Trigno System Digital Protocol Version x.y.z" + <CR><LF><CR><LF>; every command is ASCII text
//    ending <CR><LF><CR><LF> and gets one reply ending the same way ("OK" for START/STOP, "YES"/"NO" for
//    SENSOR n PAIRED?, a number for FRAME INTERVAL? and MAX SAMPLES EMG?/AUX?, "LITTLE"/"BIG" for
//    ENDIANNESS?). Anything else (a refusal such as "INVALID COMMAND") is not "OK".
//  * EMG port (base + 1, 50041): 16 float32 (one per sensor), volts, per sample, no header.
//  * Accelerometer port (base + 2, 50042): 48 float32 (16 sensors × x, y, z), g, per sample, no header.
//  * Rates: the base sends frames of FRAME INTERVAL (0.0135 s) holding MAX SAMPLES EMG (26) EMG and MAX
//    SAMPLES AUX (2) accelerometer samples per sensor: 26 / 0.0135 s = 1925.926 Hz EMG and 2 / 0.0135 s
//    = 148.148 Hz accelerometer (27 per frame = 2000 Hz with UPSAMPLE ON).
//  * There is no header, counter or timestamp in the data: a lost sample cannot be seen. Only bytes
//    can be counted: a stream that ends inside a sample, or values no sensor can give.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace glutescope::devices::trigno {

inline constexpr unsigned kDefaultBasePort = 50040;
inline constexpr unsigned kEmgPortOffset = 1;
inline constexpr unsigned kAccPortOffset = 2;
inline constexpr std::size_t kSensors = 16;
inline constexpr std::size_t kAccAxes = 3;
inline constexpr std::size_t kEmgSampleBytes = kSensors * 4;             // 64
inline constexpr std::size_t kAccSampleBytes = kSensors * kAccAxes * 4;  // 192

inline constexpr std::string_view kTerminator = "\r\n\r\n";
inline constexpr std::string_view kGreetingPrefix = "Delsys Trigno System Digital Protocol Version";

// SDK defaults (MAN-025 §6.2): frame interval and samples per frame without upsampling.
inline constexpr double kFrameIntervalS = 0.0135;
inline constexpr unsigned kEmgSamplesPerFrame = 26;
inline constexpr unsigned kAccSamplesPerFrame = 2;

// "START" → "START\r\n\r\n".
std::string command(std::string_view text);
// A reply without its terminator and surrounding blanks ("OK\r\n\r\n" → "OK").
std::string_view reply_text(std::string_view reply) noexcept;
// "3.6.0" from the greeting, nullopt if it is not the Trigno greeting.
std::optional<std::string> greeting_version(std::string_view reply);
// A positive number reply (FRAME INTERVAL?, MAX SAMPLES EMG?); nullopt for anything else.
std::optional<double> number_reply(std::string_view reply);

// Stored units. EMG: int32 counts of 10 nV (0.01 µV). The Trigno EMG input range is ±11 mV at 16 bits
// (0.34 µV per bit); a 10 nV grid rounds by at most 5 nV (1.5 % of a bit) and maps every float32 below
// 125 mV back to the same count exactly. Accelerometer: int16 counts of 1/2048 g, i.e. 16 bits over ±16 g,
// the widest range a Trigno (Avanti) accelerometer has.
inline constexpr double kEmgVoltsPerCount = 1e-8;
inline constexpr double kEmgMicrovoltsPerCount = 0.01;
inline constexpr double kAccGPerCount = 1.0 / 2048.0;
inline constexpr double kEmgInputRangeV = 0.011;  // ±11 mV (Trigno EMG sensor input range)
inline constexpr double kAccRangeG = 16.0;

// Little-endian float32 at `p` (the SDK's default byte order; ENDIANNESS? must say LITTLE).
float read_float_le(const std::uint8_t* p) noexcept;
void write_float_le(float value, std::uint8_t* p) noexcept;

// A value converted to its stored count, or nullopt when it is not finite or outside what the count
// can hold (int32 for EMG; int16 for the accelerometer, i.e. beyond ±16 g): such values are counted,
// never stored as if measured.
std::optional<std::int32_t> emg_count(float volts) noexcept;
std::optional<std::int16_t> acc_count(float g) noexcept;

}  // namespace glutescope::devices::trigno
