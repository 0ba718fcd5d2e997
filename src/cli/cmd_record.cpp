// glutescope record: a thin wrapper around pipeline::run_recording (docs/RECORDING.md).
#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/core.h>

#include "cli/commands.hpp"
#include "cli/web_view.hpp"
#include "devices/device_registry.hpp"
#include "io/ble_transport.hpp"
#include "pipeline/analysis_settings.hpp"
#include "pipeline/live_analysis.hpp"
#include "pipeline/montage_file.hpp"
#include "pipeline/recorder.hpp"

namespace glutescope::cli {
namespace {

extern "C" void on_stop_signal(int /*signal*/) { pipeline::request_stop(); }

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  // A vanished reader of our stdout/stderr must not kill the recording mid-write.
  std::signal(SIGPIPE, SIG_IGN);
  // A file size limit (ulimit -f) becomes a write error (EFBIG) the writer reports, not a silent kill.
  std::signal(SIGXFSZ, SIG_IGN);
}

}  // namespace

void add_record_command(CLI::App& app, int& exit_status) {
  auto options = std::make_shared<pipeline::RecordOptions>(pipeline::kDefaultRecordOptions);
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("record",
                                     "Record a session from a glutescope wearable, an OpenBCI Cyton, a "
                                     "BITalino or a Delsys Trigno into an HDF5 session file "
                                     "(docs/RECORDING.md, docs/DEVICES.md)");
  cmd->add_option("--device", options->device,
                  "Device kind: " + devices::device_names() +
                      " (default: glutescope, firmware protocol v1; `glutescope devices` lists them)")
      ->capture_default_str();
  CLI::Option* port = cmd->add_option("--port", options->port,
                                      "Serial port of the wearable, e.g. /dev/ttyACM0 (a "
                                      "symlink is followed again at every reconnect)");
  auto ble = std::make_shared<std::string>();  // docs/BLE.md
  cmd->add_option("--ble", *ble,
                  "Record over Bluetooth LE through BlueZ instead: the wearable's address "
                  "(AA:BB:CC:DD:EE:FF) or advertised name (docs/BLE.md)")
      ->excludes(port);
  auto ble_scan_s = std::make_shared<double>(10.0);
  cmd->add_option("--ble-scan-timeout", *ble_scan_s,
                  "Seconds to scan for a --ble device BlueZ does not know yet")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--baud", options->baud_rate,
                  "Baud rate (default: the device's own, 921600 for glutescope, 115200 for Cyton; ignored by "
                  "USB CDC-ACM and pseudo-terminals)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--host", options->host, "TCP devices (trigno): address of the base station's SDK server")
      ->excludes(port);
  cmd->add_option("--base-port", options->base_port,
                  "TCP devices: first port (trigno: commands there, EMG +1, accelerometer +2; default 50040)")
      ->check(CLI::Range(1, 65533));
  cmd->add_option("--gain", options->channel_gains,
                  "cyton, cyton-daisy: programmable gain, one value for every channel or one per channel "
                  "(1, 2, 4, 6, 8, 12 or 24; default 24)")
      ->delimiter(',');
  cmd->add_option("--montage", options->montage_path,
                  "Montage TOML (docs/MONTAGE.md); default: the built-in 8-channel montage "
                  "(datasets/montage-default.toml)");
  cmd->add_option("--subject", options->subject_id, "Pseudonymous subject code, e.g. S017 (no names)")
      ->required();
  cmd->add_option("--out", *out, "Output session file (.h5); never overwritten without --force")->required();
  cmd->add_option("--duration", options->duration_s, "Stop after this many seconds (default: until Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--force", options->force, "Replace an existing output file");
  cmd->add_option("--stall-timeout", options->stall_timeout_s,
                  "Seconds without data before the device counts as lost and is reopened")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_option("--control", options->control_fifo,
                  "Named pipe to create for marker commands ('start bridge', 'stop', 'note TEXT', ...)");
  cmd->add_option("--markers", options->markers_path,
                  "Script of '<seconds> <command>' lines applied at those "
                  "session times");
  cmd->add_flag("!--no-keys", options->keyboard, "Do not read single-key markers from the terminal");
  auto live = std::make_shared<bool>(false);
  auto live_config = std::make_shared<std::string>();
  cmd->add_flag("--live", *live, "Print a verdict line per repetition while recording (docs/PIPELINE.md)");
  cmd->add_option("--config", *live_config, "Analysis settings TOML for --live");
  auto web_bind = std::make_shared<std::string>();
  auto web_token = std::make_shared<std::string>();
  cmd->add_option(
         "--web", *web_bind,
         "Serve the clinician's live page on [ADDRESS:]PORT (default 127.0.0.1:8080; 0 = a free port; "
         "implies --live; docs/CLINICIAN.md)")
      ->expected(0, 1)
      ->default_str("127.0.0.1:8080");
  cmd->add_option("--web-token", *web_token,
                  "Token the page needs (required for a non-loopback --web address; 'auto' makes one)");
  cmd->callback([cmd, options, out, ble, ble_scan_s, live, live_config, web_bind, web_token, &exit_status] {
    const bool web = cmd->count("--web") > 0;
    if (web) *live = true;
    options->out = *out;
    const devices::DeviceDescription* device = devices::find_device(options->device);
    if (device == nullptr) {
      throw UserError(
          fmt::format("unknown --device '{}' (choose one of: {})", options->device, devices::device_names()),
          1);
    }
    if (device->link == devices::LinkKind::tcp) {
      if (options->host.empty())
        throw UserError(fmt::format("--device {} needs --host ADDRESS", device->name), 1);
    } else if (!options->host.empty()) {
      throw UserError(
          fmt::format("--device {} is a serial device: give --port PATH, not --host", device->name), 1);
    } else if (options->port.empty() && ble->empty()) {
      throw UserError("no device given: --port PATH (serial) or --ble ADDRESS_OR_NAME (Bluetooth LE)", 1);
    }
    if (!ble->empty() && device->name != "glutescope") {
      throw UserError(
          fmt::format("--ble is for glutescope wearables; --device {} needs --port", device->name), 1);
    }
    if (!ble->empty()) {
      io::BleSettings settings;
      settings.device = *ble;
      settings.scan_timeout = std::chrono::milliseconds(static_cast<long>(*ble_scan_s * 1000.0));
      options->source_factory = [settings] { return std::make_unique<io::BleTransport>(settings); };
    }
    std::unique_ptr<WebView> web_view;
    if (web) {
      try {
        web_view = std::make_unique<WebView>(web_bind->empty() ? "127.0.0.1:8080" : *web_bind, *web_token);
      } catch (const std::exception& e) {
        throw UserError(e.what(), 1);
      }
    }
    std::unique_ptr<pipeline::LiveAnalysis> live_analysis;
    const bool gyroscope = std::any_of(device->motion.begin(), device->motion.end(),
                                       [](const devices::MotionSensorDescription& m) { return m.gyroscope; });
    // The page's traces, bars and device status need no gyroscope (the live analysis then segments no
    // repetitions and says so); terminal verdict lines alone would print nothing.
    if (*live && !gyroscope && !web) {
      throw UserError(
          fmt::format("--live segments repetitions from gyroscopes; --device {} has an accelerometer "
                      "only: record without --live (--web still shows the traces, without verdicts)",
                      device->name),
          1);
    }
    if (*live) {
      try {
        live_analysis = std::make_unique<pipeline::LiveAnalysis>(
            options->montage_path.empty() ? pipeline::device_default_montage(options->device)
                                          : pipeline::load_montage_file(options->montage_path),
            live_config->empty() ? pipeline::kDefaultAnalysisPipelineSettings
                                 : pipeline::load_analysis_settings(*live_config),
            stdout, web_view ? &web_view->feed : nullptr);
      } catch (const std::exception& e) {
        throw UserError(e.what(), 1);
      }
      connect_live(*options, live_analysis.get(), web_view.get());
    }
    install_stop_handlers();
    pipeline::clear_stop_request();
    try {
      const pipeline::RecordSummary summary = pipeline::run_recording(*options);
      if (live_analysis) live_analysis->stop();
      if (web_view) web_view->close();
      fmt::print(stdout, "{}", pipeline::format_summary(summary));
      std::fflush(stdout);
      exit_status = 0;
    } catch (const pipeline::RecordingError& e) {
      throw UserError(e.what(), 1);
    }
  });
}

}  // namespace glutescope::cli
