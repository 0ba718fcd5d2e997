// Shared between the power-loss test and its child writer: the acknowledgement record sent on a pipe.
#pragma once

#include <time.h>

#include <cstddef>
#include <cstdint>

namespace glutescope::store::power_loss {

constexpr std::uint32_t kChannels = 8;
constexpr std::size_t kBlockSamples = 20;  // 10 ms at 2 kHz

struct Ack {
  std::uint64_t block;   // EMG block number acknowledged (append returned)
  std::uint8_t event;    // 1 if an event was added with this block
  std::int64_t time_ns;  // CLOCK_MONOTONIC when the acknowledgement was sent
};

inline std::int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace glutescope::store::power_loss
