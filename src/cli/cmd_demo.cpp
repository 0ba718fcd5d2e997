// glutescope demo: the main job on an embedded default. A simulated wearable streams a glute-bridge set
// over a pseudo-terminal into the recorder (the same code path as a real serial device), the session file
// is written, then the session is analysed and a per-rep summary printed.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/web_view.hpp"
#include "pipeline/analysis_report.hpp"
#include "pipeline/analysis_settings.hpp"
#include "pipeline/live_analysis.hpp"
#include "pipeline/montage_file.hpp"
#include "pipeline/recorder.hpp"
#include "simulator/frames.hpp"
#include "simulator/output.hpp"
#include "simulator/session.hpp"
#include "simulator/settings.hpp"

namespace glutescope::cli {
namespace {

struct DemoOptions {
  std::string out_dir = "glutescope-demo";  // session.h5 (and the report) go here; replaced each run
  double speed = 10.0;                      // × real time for the simulated wearable
  std::uint64_t seed = 7;
  int reps = 10;
  std::string web;  // non-empty: serve the live page there ([ADDR:]PORT)
};

// Streams the simulated session into the pty on its own thread; the recorder reads the slave.
// Sets `done` once every byte has been read by the recorder (or on failure, with `error` set).
class SimulatedWearable {
 public:
  SimulatedWearable(std::vector<sim::EncodedFrame> frames, double speed)
      : frames_(std::move(frames)), speed_(speed) {}

  [[nodiscard]] const std::string& port() const noexcept { return pty_.slave_path(); }
  [[nodiscard]] const std::atomic<bool>& done() const noexcept { return done_; }

  void start() {
    thread_ = std::thread([this] {
      try {
        if (!pty_.wait_for_reader(std::chrono::seconds(30))) {
          error_ = "the recorder never opened the simulated device";
        } else {
          sim::write_frames(pty_.master_fd(), frames_, speed_);
          pty_.wait_until_drained(std::chrono::seconds(30));
          // Give the recorder a moment to decode and queue the last bytes it read.
          std::this_thread::sleep_for(std::chrono::milliseconds(200));
        }
      } catch (const std::exception& e) {
        error_ = e.what();
      }
      done_.store(true);
    });
  }
  void join() {
    if (thread_.joinable()) thread_.join();
    if (!error_.empty()) throw UserError("simulated wearable: " + error_);
  }
  ~SimulatedWearable() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  sim::PseudoTerminal pty_;
  std::vector<sim::EncodedFrame> frames_;
  double speed_;
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::string error_;
};

int run_demo(const DemoOptions& options) {
  sim::SimulatorSettings settings;  // documented defaults: bridge, scenario good, 2 kHz EMG, 200 Hz IMU
  settings.seed = options.seed;
  settings.reps = options.reps;
  settings.exercise = Exercise::bridge;
  settings.mvc_trials = true;  // one maximal contraction per muscle first, so amplitudes are %MVIC
  sim::validate(settings);
  const sim::SimulatedSession session = sim::simulate(settings);

  const std::filesystem::path dir = options.out_dir;
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "session.h5";
  // The demo owns these files: start clean so a previous run's outputs are never mistaken for this one's.
  for (const char* name : {"session.h5", "session.h5.journal", "session.analysis.h5", "report.html"}) {
    std::filesystem::remove(dir / name);
  }

  fmt::print(
      "glutescope demo: simulated wearable, one MVC trial per muscle then {} glute-bridge reps, at {}x "
      "real time\n",
      options.reps, options.speed);
  SimulatedWearable wearable(sim::encode_frame_list(session), options.speed);
  fmt::print("  device on pseudo-terminal {}\n", wearable.port());
  std::fflush(stdout);
  wearable.start();

  pipeline::RecordOptions record = pipeline::kDefaultRecordOptions;
  record.port = wearable.port();
  record.subject_id = "DEMO01";
  record.out = file;
  record.force = true;  // the demo owns its output folder
  record.keyboard = false;
  record.stop = &wearable.done();
  record.log = stdout;
  std::unique_ptr<WebView> view;
  std::unique_ptr<pipeline::LiveAnalysis> live;
  if (!options.web.empty()) {
    view = std::make_unique<WebView>(options.web, "");
    live = std::make_unique<pipeline::LiveAnalysis>(pipeline::device_default_montage("glutescope"),
                                                    pipeline::kDefaultAnalysisPipelineSettings, stdout,
                                                    &view->feed);
    connect_live(record, live.get(), view.get());
  }
  const pipeline::RecordSummary summary = pipeline::run_recording(record);
  wearable.join();
  if (live) live->stop();
  if (view) view->close();
  fmt::print("{}", pipeline::format_summary(summary));
  fmt::print(
      "  (the simulated device runs at {}x real time, so the host/device clock drift above is expected)\n\n",
      options.speed);
  std::fflush(stdout);

  // Analyse the recorded file (not the in-memory simulation): the same path a saved session takes.
  const std::filesystem::path html = dir / "report.html";
  pipeline::print_session_report(file, std::cout, html);
  std::cout.flush();
  fmt::print("\nsession file: {}\nreport:       {}\n", file.string(), html.string());
  if (view) fmt::print("review it in the browser: glutescope view {}\n", file.string());
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_status) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "demo", "Simulated wearable -> pseudo-terminal -> recorder -> session file -> per-rep summary");
  cmd->add_option("--out-dir", options->out_dir, "Folder for the demo's session file (replaced each run)")
      ->capture_default_str();
  cmd->add_option("--speed", options->speed, "Speed of the simulated wearable (x real time)")
      ->capture_default_str()
      ->check(CLI::Range(0.5, 100.0));
  cmd->add_option("--seed", options->seed, "Simulator seed")->capture_default_str();
  cmd->add_option("--reps", options->reps, "Repetitions in the bridge set")
      ->capture_default_str()
      ->check(CLI::Range(1, 50));
  cmd->add_option("--web", options->web,
                  "Watch it on the clinician's live page served on [ADDRESS:]PORT (loopback only; e.g. "
                  "127.0.0.1:8080 with --speed 1; docs/CLINICIAN.md)");
  cmd->callback([options, &exit_status] {
    try {
      exit_status = run_demo(*options);
    } catch (const std::invalid_argument& e) {
      throw UserError(e.what(), 1);
    } catch (const pipeline::RecordingError& e) {
      throw UserError(e.what(), 1);
    }
  });
}

}  // namespace glutescope::cli
