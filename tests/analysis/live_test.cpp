// The live consumer hooked into a real recording: simulated wire frames replayed through run_recording
// (decoder → device model → writer thread + LiveAnalysis). The recording must stay complete and the live
// verdicts must find the simulated reps and agree with the offline analysis of the same file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include <fmt/core.h>

#include "io/file_replay_source.hpp"
#include "pipeline/analysis.hpp"
#include "pipeline/live_analysis.hpp"
#include "pipeline/recorder.hpp"
#include "simulator/frames.hpp"
#include "simulator/session.hpp"
#include "store/session_reader.hpp"

namespace glutescope {
namespace {

namespace fs = std::filesystem;

TEST(LiveAnalysis, VerdictPerRepWhileRecordingAndRecordingUnharmed) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("gs-live-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  sim::SimulatorSettings s;
  s.reps = 5;
  const sim::SimulatedSession session = sim::simulate(s);
  double bytes_per_second = 0.0;
  {
    const auto bytes = sim::encode_frames(session);
    // Replay at 8x the wire rate of the real device: fast, but paced like acquisition (an unpaced replay
    // outruns any consumer and only exercises the drop-and-count path).
    bytes_per_second = 8.0 * static_cast<double>(bytes.size()) /
                       (static_cast<double>(session.truth.emg_samples) / session.device_info.emg_rate_hz);
    std::ofstream(dir / "frames.bin", std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                               static_cast<std::streamsize>(bytes.size()));
  }
  std::FILE* lines = std::tmpfile();
  pipeline::LiveAnalysis live(session.montage, pipeline::kDefaultAnalysisPipelineSettings, lines);
  pipeline::RecordOptions o;
  o.subject_id = "L1";
  o.out = dir / "rec.h5";
  o.keyboard = false;
  o.log = std::tmpfile();
  o.end_when_source_closes = true;
  o.source_factory = [&] { return std::make_unique<io::FileReplaySource>(io::FileReplaySettings{(dir / "frames.bin").string(), 4096, bytes_per_second}); };
  o.live_consumer = &live;
  const auto summary = pipeline::run_recording(o);
  live.stop();
  // Recording unharmed: every simulated EMG sample is in the file.
  EXPECT_EQ(store::SessionReader(o.out).emg_rows(), session.truth.emg_samples);
  EXPECT_EQ(summary.emg_samples, session.truth.emg_samples);
  const auto reps = live.reps();
  EXPECT_EQ(reps.size(), session.truth.schedule.reps.size());
  std::rewind(lines);
  char buf[512];
  int printed = 0;
  while (std::fgets(buf, sizeof buf, lines) != nullptr) printed += std::string(buf).find("[live") == 0;
  EXPECT_EQ(printed, static_cast<int>(reps.size()));
  // Live rep boundaries agree with the offline (zero-phase) analysis of the recorded file within 0.5 s, and
  // each verdict line is produced when the rep has ended (the rep's end is reported, not predicted).
  const auto offline = pipeline::analyse(pipeline::load_session(o.out), pipeline::kDefaultAnalysisPipelineSettings);
  ASSERT_EQ(offline.reps.size(), reps.size());
  for (std::size_t i = 0; i < reps.size(); ++i) {
    EXPECT_NEAR(reps[i].end_s, offline.reps[i].end_s, 0.5) << i;
    EXPECT_EQ(reps[i].verdict, pipeline::Verdict::glutes_led) << i;  // scenario "good", µV ratio GMax vs ES
  }
  EXPECT_EQ(live.dropped_blocks(), 0u);
  std::fclose(lines);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glutescope
