// Test helpers for src/store: a device, montage and deterministic sample values whose expected contents are
// computed independently of the writer (a pure function of sample index and channel).
#pragma once

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

#include "core/device_info.hpp"
#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "support/files.hpp"

namespace glutescope::store::testing {

// Counts for EMG sample `s`, channel `c`: spans the whole int16 range (or ±2^23 for int24) deterministically.
inline std::int32_t emg_value(std::uint64_t s, std::uint32_t c, bool int24 = false) {
  std::uint64_t x = s * 0x9E3779B97F4A7C15ULL + c * 0xBF58476D1CE4E5B9ULL + 1;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 29;
  if (int24) return static_cast<std::int32_t>(x % (1U << 24)) - (1 << 23);
  return static_cast<std::int32_t>(x % 65536U) - 32768;
}

inline std::int16_t imu_value(std::uint64_t s, std::uint8_t sensor, int axis) {
  return static_cast<std::int16_t>(emg_value(s * 7 + sensor, static_cast<std::uint32_t>(axis) + 100));
}

inline DeviceInfo make_device(std::size_t channels = 8, SampleFormat format = SampleFormat::int16,
                              double rate_hz = 2000.0, bool with_imu = true) {
  DeviceInfo d;
  d.device_id = 0x2a;
  d.firmware_version = "1.4.2";
  d.serial_number = "GS-000123";
  d.emg_format = format;
  d.emg_rate_hz = rate_hz;
  for (std::size_t i = 0; i < channels; ++i) {
    d.emg.push_back({std::string("ch").append(std::to_string(i)), 1000.0 + static_cast<double>(i),
                     0.1 + 0.05 * static_cast<double>(i)});
  }
  if (with_imu) {
    ImuInfo a;
    a.label = "imu0";
    a.rate_hz = 200.0;
    d.imu.push_back(a);
    ImuInfo b;
    b.label = "imu1";
    b.rate_hz = 100.0;
    b.accel_range_g = 4.0;
    b.accel_g_per_count = 4.0 / 32768.0;
    b.gyro_range_dps = 500.0;
    b.gyro_dps_per_count = 500.0 / 32768.0;
    b.has_magnetometer = true;
    b.mag_ut_per_count = 0.15;
    d.imu.push_back(b);
  }
  return d;
}

inline Montage make_montage(const DeviceInfo& device) {
  Montage m;
  const Muscle muscles[] = {Muscle::gluteus_maximus, Muscle::gluteus_medius, Muscle::erector_spinae_lumbar,
                            Muscle::biceps_femoris, Muscle::tensor_fasciae_latae};
  for (std::size_t i = 0; i < device.emg.size(); ++i) {
    m.emg.push_back({std::string("M").append(std::to_string(i)), muscles[i % 5],
                     i % 2 == 0 ? Side::left : Side::right, std::string("site é ").append(std::to_string(i)),
                     device.emg[i].gain, device.emg[i].microvolts_per_count, std::string()});
  }
  const Segment segments[] = {Segment::sacrum, Segment::thigh_left, Segment::thigh_right};
  for (std::size_t i = 0; i < device.imu.size(); ++i) {
    m.imu.push_back({std::string("imu_").append(std::to_string(i)), segments[i % 3],
                     std::string("placement ").append(std::to_string(i))});
  }
  return m;
}

inline EmgBlock make_emg_block(std::uint64_t first, std::size_t samples, std::uint32_t channels,
                               bool int24 = false) {
  EmgBlock b;
  b.first_sample = first;
  b.channels = channels;
  b.counts.resize(samples * channels);
  for (std::size_t s = 0; s < samples; ++s) {
    for (std::uint32_t c = 0; c < channels; ++c) b.counts[s * channels + c] = emg_value(first + s, c, int24);
  }
  b.device_time_us = first * 500 + 17;
  b.host_time_s = 100.0 + static_cast<double>(first) / 2000.0 + 0.003;
  return b;
}

inline ImuBlock make_imu_block(std::uint8_t sensor, std::uint64_t first, std::size_t samples, bool mag) {
  ImuBlock b;
  b.sensor = sensor;
  b.first_sample = first;
  for (std::size_t s = 0; s < samples; ++s) {
    for (int k = 0; k < 3; ++k) {
      b.accel.push_back(imu_value(first + s, sensor, k));
      b.gyro.push_back(imu_value(first + s, sensor, 3 + k));
      if (mag) b.mag.push_back(imu_value(first + s, sensor, 6 + k));
    }
  }
  b.device_time_us = first * 5000 + 3;
  b.host_time_s = 100.0 + static_cast<double>(first) / 200.0;
  return b;
}

// A small tmpfs mounted for a real full-disk test, unmounted (lazily) at scope exit. Mounting needs root (the
// build containers and CI run the tests as root); mount failing for root throws, so such a test never
// silently stops testing. Use GLUTESCOPE_SKIP_UNLESS_ROOT() first.
class SmallTmpfs {
 public:
  SmallTmpfs(std::filesystem::path mount_point, const std::string& size) : path_(std::move(mount_point)) {
    std::filesystem::create_directories(path_);
    const std::string options = "size=" + size;
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      const int error = errno;
      throw std::runtime_error("cannot mount a " + size + " tmpfs at " + path_.string() +
                               " although running as root: " + std::strerror(error));
    }
  }
  SmallTmpfs(const SmallTmpfs&) = delete;
  SmallTmpfs& operator=(const SmallTmpfs&) = delete;
  ~SmallTmpfs() { ::umount2(path_.c_str(), MNT_DETACH); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Skips the calling test, loudly (on stderr as well as in GoogleTest's SKIPPED line), when not root; with
// GLUTESCOPE_REQUIRE_ROOT_TESTS=1 in the environment (CI) it fails instead.
#define GLUTESCOPE_SKIP_UNLESS_ROOT(what)                                                 \
  do {                                                                                    \
    if (::geteuid() != 0) {                                                               \
      const std::string glutescope_why =                                                  \
          std::string("SKIPPED: ") + (what) +                                             \
          " needs root to mount a small tmpfs (run the tests as root, as CI does)";       \
      if (const char* required = std::getenv("GLUTESCOPE_REQUIRE_ROOT_TESTS");            \
          required && *required == '1') {                                                 \
        FAIL() << glutescope_why << "; GLUTESCOPE_REQUIRE_ROOT_TESTS=1 forbids skipping"; \
      }                                                                                   \
      std::fprintf(stderr, "\n*** %s ***\n\n", glutescope_why.c_str());                   \
      GTEST_SKIP() << glutescope_why;                                                     \
    }                                                                                     \
  } while (false)

// The one temporary-folder helper of the test suite (tests/support/files.hpp).
using glutescope::test::TempDir;

}  // namespace glutescope::store::testing

#include "store/session_writer.hpp"

namespace glutescope::store::testing {

// The reference session used by the round-trip and h5py tests (tests/store/check_session.py knows the same
// rules): EMG 8 ch int16 2 kHz in 20-sample blocks, samples 0..5999 minus the gap 2000..2039; IMU 0 at 200 Hz
// in 2-sample blocks, IMU 1 at 100 Hz with magnetometer in 1-sample blocks; for each EMG block number b
// written, IMU 0 gets samples 2b and 2b+1 and IMU 1 sample b (so the skipped EMG blocks are IMU gaps too).
struct ReferenceSession {
  static constexpr std::uint64_t kEmgSamples = 6000;
  static constexpr std::uint64_t kGapStart = 2000;
  static constexpr std::uint64_t kGapCount = 40;
  static constexpr std::size_t kEmgBlock = 20;
  std::vector<Event> events;
  Gap gap;
  TimingFit fit;
  SessionStatistics stats;
};

inline ReferenceSession write_reference_session(const std::filesystem::path& path,
                                                SessionWriterOptions options = {}) {
  ReferenceSession ref;
  const DeviceInfo device = make_device();
  SessionWriter writer(path, device, make_montage(device), "S017", options);
  for (std::uint64_t first = 0; first < ReferenceSession::kEmgSamples; first += ReferenceSession::kEmgBlock) {
    if (first >= ReferenceSession::kGapStart &&
        first < ReferenceSession::kGapStart + ReferenceSession::kGapCount) {
      continue;
    }
    writer.append(make_emg_block(first, ReferenceSession::kEmgBlock, 8));
    const std::uint64_t block = first / ReferenceSession::kEmgBlock;
    writer.append(make_imu_block(0, block * 2, 2, false));
    writer.append(make_imu_block(1, block, 1, true));
    if (block == 150) writer.checkpoint();
  }
  ref.events = {
      {0.5, EventKind::set_start, Exercise::bridge, Muscle::other, Side::left, -1, "bridge set 1", 1000.25},
      {1.25, EventKind::lead_off, Exercise::other, Muscle::erector_spinae_lumbar, Side::right, 5,
       "ES_R électrode", std::nullopt},
      {2.75, EventKind::note, Exercise::clamshell, Muscle::gluteus_medius, Side::midline, -1, "",
       std::nullopt},
  };
  for (const auto& e : ref.events) writer.add_event(e);
  ref.gap = {StreamKind::emg, 0, ReferenceSession::kGapStart, ReferenceSession::kGapCount, 101.0};
  writer.add_gap(ref.gap);
  ref.fit = {0.0123, -12.5, 1e-4, 250};
  writer.set_timing_fit(ref.fit);
  ref.stats.frames_received = 300;
  ref.stats.crc_errors = 2;
  ref.stats.lost_frames = 2;
  ref.stats.device_overflows = 1;
  writer.set_statistics(ref.stats);
  writer.close();
  return ref;
}

}  // namespace glutescope::store::testing
