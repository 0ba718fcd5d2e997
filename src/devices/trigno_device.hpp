// Delsys Trigno (SDK TCP server) behind the device framework (device_decoder.hpp): three byte streams —
// 0 the command port, 1 EMG (16 float32 per sample), 2 accelerometer (48 float32 per sample) — and the
// driver that reads the greeting, checks the byte order, learns the frame interval and samples per frame
// (hence the rates) and which sensors are paired, then sends START. Protocol: trigno_protocol.hpp.
//
// Loss: the data ports carry no counter and no timestamp, so a lost sample cannot be detected at all
// (LossDetection::none). What the decoder can see and counts: bytes per stream, a sample cut off by a
// disconnect (its bytes are garbage), and values no sensor gives (not finite, beyond ±16 g, or beyond
// what an int32 of 10 nV holds), which are stored clipped (0 for not-a-number) and counted. The session
// says so in note events: at the start (loss undetectable) and at the end (byte counts).
// After a reconnect the samples missed while away are estimated from the host clock at the nominal rate:
// the time from the last arrival before the loss to the first arrival after it, less the samples that
// arrived at that first host time (however many reads carried them).
//
// Stored values: EMG as int32 counts of 10 nV (0.01 µV per count), accelerometers as int16 counts of
// 1/2048 g in sixteen motion sensors "sensor N accelerometer" (no gyroscope: its columns hold 0).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "devices/device_decoder.hpp"
#include "devices/trigno_protocol.hpp"

namespace glutescope::devices {

// What the driver learns from the base in its connect steps (shared with the decoder, which reads it
// when data first arrive: the recorder may make the decoder before the link is up).
struct TrignoBaseState {
  std::string protocol_version;  // from the greeting, "3.6.0"
  double frame_interval_s = trigno::kFrameIntervalS;
  unsigned emg_samples_per_frame = trigno::kEmgSamplesPerFrame;
  unsigned aux_samples_per_frame = trigno::kAccSamplesPerFrame;
  std::array<bool, trigno::kSensors> paired{};
  [[nodiscard]] double emg_rate_hz() const noexcept { return emg_samples_per_frame / frame_interval_s; }
  [[nodiscard]] double acc_rate_hz() const noexcept { return aux_samples_per_frame / frame_interval_s; }
};

class TrignoDecoder final : public DeviceDecoder {
 public:
  TrignoDecoder(DeviceSink& sink, double session_start_host_s, std::shared_ptr<const TrignoBaseState> base);

  void feed(std::size_t stream, std::span<const std::uint8_t> bytes, double host_time_s) noexcept override;
  void reset() noexcept override;
  void finish() noexcept override;
  [[nodiscard]] DecoderCounters counters() const noexcept override { return counters_; }
  [[nodiscard]] ClockMapping clock() const noexcept override { return clock_.mapping(); }

  struct ByteCounts {
    std::uint64_t command = 0;                   // bytes on the command port after the handshake (ignored)
    std::array<std::uint64_t, 2> data{};         // EMG, accelerometer
    std::array<std::uint64_t, 2> samples{};      // whole samples decoded per stream
    std::array<std::uint64_t, 2> cut_bytes{};    // bytes of samples cut off by a disconnect or the end
    std::array<std::uint64_t, 2> bad_samples{};  // samples holding a value no sensor gives
  };
  [[nodiscard]] const ByteCounts& byte_counts() const noexcept { return bytes_; }

 private:
  enum Kind : std::size_t { emg = 0, acc = 1 };
  void start(double host_time_s) noexcept;
  void sample(Kind kind, double host_time_s) noexcept;
  [[nodiscard]] bool resuming(Kind kind) const noexcept { return resumed_at_s_[kind].has_value(); }
  void settle_reconnect(Kind kind) noexcept;
  void flush(double host_time_s) noexcept;
  void note(std::string text, double host_time_s) noexcept;

  DeviceSink& sink_;
  double session_start_host_s_;
  std::shared_ptr<const TrignoBaseState> base_;
  std::array<double, 2> rate_hz_{};
  bool started_ = false;
  ClockFit clock_;
  std::array<std::array<std::uint8_t, trigno::kAccSampleBytes>, 2> partial_{};
  std::array<std::size_t, 2> fill_{};
  std::array<std::uint64_t, 2> next_index_{};
  std::array<double, 2> last_arrival_s_{};
  std::array<bool, 2> restarted_{};  // reset() after samples: the next data start a new run
  // The first arrival after a reconnect and the samples decoded at that host time: the gap is decided
  // once the host time moves on (or at reset/finish), so how the reads were cut cannot change it.
  std::array<std::optional<double>, 2> resumed_at_s_{};
  std::array<std::uint64_t, 2> resumed_samples_{};
  std::array<double, 2> away_since_s_{};  // last arrival before the link was lost
  EmgBlock emg_block_;
  std::array<ImuBlock, trigno::kSensors> acc_blocks_;
  double last_feed_s_ = 0.0;
  ByteCounts bytes_;
  DecoderCounters counters_;
};

class TrignoDriver final : public DeviceDriver {
 public:
  TrignoDriver();
  [[nodiscard]] const DeviceDescription& description() const noexcept override;
  // Greeting, ENDIANNESS? (LITTLE), FRAME INTERVAL?, MAX SAMPLES EMG?, MAX SAMPLES AUX?, SENSOR n PAIRED?.
  [[nodiscard]] std::vector<CommandStep> connect_steps() override;
  [[nodiscard]] std::vector<CommandStep> start_steps() override;  // START → OK
  [[nodiscard]] std::vector<CommandStep> stop_steps() override;   // STOP
  void check_reply(const CommandStep& step, std::string_view reply) override;
  [[nodiscard]] std::unique_ptr<DeviceDecoder> make_decoder(DeviceSink& sink,
                                                            double session_start_host_s) override;

 private:
  std::shared_ptr<TrignoBaseState> base_;
};

// The registry entry (device_registry.cpp lists it).
DeviceDescription trigno_description();

}  // namespace glutescope::devices
