// Child of the power-loss test (power_loss_test.cpp): records through the store API under the LD_PRELOAD
// shim (powerloss_shim.c) until SIGKILLed, reporting each acknowledged block on a pipe.
// Usage: powerloss_writer SESSION.h5 ACK_FD SEED
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "power_loss_ack.hpp"
#include "session_fixture.hpp"
#include "store/session_writer.hpp"

using namespace glutescope;
using namespace glutescope::store;

int main(int argc, char** argv) {
  if (argc != 4) return 64;
  const int ack_fd = std::atoi(argv[2]);
  const auto seed = static_cast<std::uint32_t>(std::strtoul(argv[3], nullptr, 10));
  try {
    const DeviceInfo device = testing::make_device(power_loss::kChannels, SampleFormat::int16, 2000.0, true);
    SessionWriterOptions options;
    options.chunk_duration_s = 0.25;
    // The documented journal sync interval (the power-loss bound); checkpoints (fsync of the .h5 + journal
    // rotation) more often than the 5 s default so that every trial crosses one or more of them.
    options.journal_sync_interval_s = kDefaultSessionWriterOptions.journal_sync_interval_s;
    options.checkpoint_interval_s = 0.4 + 0.3 * (seed % 3);
    SessionWriter writer(argv[1], device, testing::make_montage(device), "S-power", options);
    for (std::uint64_t b = 0;; ++b) {
      writer.append(testing::make_emg_block(b * power_loss::kBlockSamples, power_loss::kBlockSamples,
                                            power_loss::kChannels));
      writer.append(testing::make_imu_block(0, b * 2, 2, false));
      power_loss::Ack ack{b, 0, 0};
      if (b % 25 == 0) {
        writer.add_event({static_cast<double>(b), EventKind::marker, Exercise::bridge, Muscle::other,
                          Side::left, -1, "event " + std::to_string(b), std::nullopt});
        ack.event = 1;
      }
      ack.time_ns = power_loss::monotonic_ns();
      if (::write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) return 3;
      ::usleep(1000);
    }
  } catch (...) {
    return 2;
  }
}
