// Names and plain-data types of the HDF5 session format v1 (docs/SESSION_FORMAT.md), shared by the writer,
// the reader and recovery.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glutescope::store {

inline constexpr std::string_view kFormatName = "glutescope-session";
inline constexpr int kFormatMajor = 1;
inline constexpr int kFormatMinor = 1;
inline constexpr std::string_view kFormatVersion = "1.2";  // 1.2: optional /acquisition/angle (issue 13)

inline constexpr std::string_view kStatusRecording = "recording";
inline constexpr std::string_view kStatusComplete = "complete";
inline constexpr std::string_view kStatusRecovered = "recovered";

// Ranges a session file must respect to be read (docs/RELIABILITY.md "Session files"). A file outside them
// is refused with a named error rather than analysed into nonsense or used to size an allocation.
// Sampling rates: sEMG ADCs run at 1-10 kHz (its energy lies below ≈500 Hz) and IMUs at 10-1000 Hz; 1 Hz to
// 100 kHz holds every real device with a decade to spare and keeps rate × duration far from overflow.
inline constexpr double kMinSampleRateHz = 1.0;
inline constexpr double kMaxSampleRateHz = 100'000.0;
// Longest span a session's sample index may cover (a clinic session lasts minutes to hours). Bounds the
// buffers an analysis sizes from the index (rows placed by sample index, gaps filled).
inline constexpr double kMaxSessionSpanS = 24.0 * 3600.0;
// EMG channels of one device: the protocol's channel count is one byte.
inline constexpr std::size_t kMaxEmgChannels = 255;
// Device-to-host clock drift (host = offset + (1 + drift·1e-6) · device): crystals drift by ≈10-100 ppm, but
// a simulated device replayed N times faster than real time has a drift of (1/N - 1)·1e6 ppm (≈ -990,000 at
// 100×); the fit is usable while 1 + drift·1e-6 stays positive and below 2.
inline constexpr double kMaxAbsDriftPpm = 1e6;
// Events may lie this far outside the samples' span (a marker pressed before the first or after the last
// sample arrived: the recorder's start-up and stall timeouts are a few seconds).
inline constexpr double kEventMarginS = 60.0;

// Suffix of the crash journal written beside the session file (FILE.h5 → FILE.h5.journal).
inline constexpr std::string_view kJournalSuffix = ".journal";

// Linear map of the device clock to the host clock, fitted online by the device model:
//   host_time_s = offset_s + (1 + drift_ppm · 1e-6) · device_time_s
// where device_time_s = device_time_us · 1e-6 and host_time_s is on the same host clock as block_host_time.
struct TimingFit {
  double offset_s = 0.0;
  double drift_ppm = 0.0;
  double residual_rms_s = 0.0;  // RMS of host − fitted host time over the fitted points
  std::uint64_t points = 0;     // number of (device, host) pairs fitted; 0 = no fit
};

// Counters written to /general/statistics. Row counts are computed by the writer itself; the rest come
// from the recorder (set_statistics) and from SessionWriterThread (queue_overflow_*).
struct SessionStatistics {
  std::uint64_t frames_received = 0;         // frames that passed the CRC
  std::uint64_t crc_errors = 0;              // frames skipped for a bad CRC
  std::uint64_t lost_frames = 0;             // frames missing from the device frame counter
  std::uint64_t device_overflows = 0;        // overflow flags reported by the device (its own buffer)
  std::uint64_t queue_overflow_blocks = 0;   // blocks dropped by the writer queue (SessionWriterThread)
  std::uint64_t queue_overflow_samples = 0;  // samples in those blocks (EMG rows + IMU rows)
  std::uint64_t queue_overflow_bytes = 0;
  // Filled by the writer / reader, ignored by set_statistics:
  std::uint64_t emg_samples = 0;  // EMG rows stored
  std::uint64_t imu_samples = 0;  // IMU rows stored, all sensors
};

}  // namespace glutescope::store
