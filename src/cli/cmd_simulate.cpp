// `glutescope simulate`: runs the simulated wearable (tools/simulator) and streams protocol v1 frames to a
// pseudo-terminal, a file or stdout, optionally with a ground-truth JSON file. docs/SIMULATOR.md.
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "core/montage.hpp"
#include "devices/device_registry.hpp"
#include "simulator/device_emulator.hpp"
#include "simulator/frames.hpp"
#include "simulator/output.hpp"
#include "simulator/session.hpp"
#include "simulator/truth_json.hpp"
#include "store/session_writer.hpp"

namespace glutescope::cli {
namespace {

struct SimulateOptions {
  std::string exercise;  // empty: bridge, or clamshell for the pelvic-roll scenario
  std::string scenario = "good";
  int mains_hz = 0;
  std::string lead_off;  // CH@S
  bool pty = false;
  std::string out;  // FILE or "-"
  std::string truth;
  std::string session_file;  // write a v1 session file directly (no byte stream)
  std::string subject = "SIM01";
  std::string start_time = "2024-01-01T10:00:00+00:00";
  double speed = -1.0;  // < 0: 1 with --pty, 0 with --out
  double reader_timeout_s = 60.0;
  sim::SimulatorSettings settings;
  // Third-party device emulators (simulator/device_emulator.hpp); protocol v1 takes none of these.
  std::string device = "glutescope";
  std::string link;
  std::string drop_packets;  // "K-L,M"
  std::string garbage;       // "N@K,..."
  double disconnect_at_s = -1.0;
  double disconnect_for_s = 1.0;
  std::string version_reply;
  std::size_t packet_size = 0;
  std::string listen;          // TCP emulators (trigno)
  std::string refuse_command;  // trigno bad-input tests
};

bool any_emulator_option(const SimulateOptions& o) {
  return !o.link.empty() || !o.drop_packets.empty() || !o.garbage.empty() || o.disconnect_at_s >= 0.0 ||
         !o.version_reply.empty() || o.packet_size != 0 || !o.listen.empty() || !o.refuse_command.empty();
}

// `--device NAME` other than glutescope: hands the model settings and faults to that device's emulator.
void run_device_emulator(const SimulateOptions& o, double speed) {
  const devices::DeviceDescription* device = devices::find_device(o.device);
  if (device == nullptr) {
    throw UserError(
        fmt::format("unknown --device '{}' (choose one of: {})", o.device, devices::device_names()));
  }
  const sim::EmulatorMain run = sim::find_emulator(o.device);
  if (run == nullptr) {
    throw UserError(fmt::format("simulate --device {}: the {} emulator is not yet built in this version",
                                o.device, device->title));
  }
  sim::EmulatorOptions e;
  e.settings = o.settings;
  e.pty = o.out.empty();
  e.out = o.out;
  e.link = o.link;
  e.truth = o.truth;
  e.speed = speed;
  e.reader_timeout_s = o.reader_timeout_s;
  e.version_override = o.version_reply;
  e.packet_size_override = o.packet_size;
  e.listen = o.listen;
  e.refuse_command = o.refuse_command;
  if (!e.listen.empty()) e.pty = false;
  try {
    if (!o.drop_packets.empty())
      e.faults.drop_packets = sim::parse_packet_ranges(o.drop_packets, "--drop-packets");
    if (!o.garbage.empty()) e.faults.garbage = sim::parse_garbage_list(o.garbage, "--garbage");
  } catch (const std::invalid_argument& err) {
    throw UserError(err.what());
  }
  e.faults.disconnect_at_s = o.disconnect_at_s;
  e.faults.disconnect_for_s = o.disconnect_for_s;
  if (!e.link.empty() && !e.pty) throw UserError("--link needs --pty");
  try {
    run(e);
  } catch (const std::exception& err) {
    throw UserError(err.what());
  }
}

std::string scenario_names() {
  std::string names;
  for (sim::Scenario s : sim::all_scenarios())
    names += (names.empty() ? "" : ", ") + std::string(sim::to_string(s));
  return names;
}

// "CH@S": CH is a channel index (0-based) or a montage label (e.g. GMax_L), S the time in seconds.
void parse_lead_off(const std::string& text, sim::Contaminants& c) {
  const auto at = text.find('@');
  const std::string usage =
      fmt::format("--lead-off expects CH@S (channel index or label, time in s), got '{}'", text);
  if (at == std::string::npos || at == 0 || at + 1 == text.size()) throw UserError(usage);
  const std::string channel = text.substr(0, at);
  const std::string time = text.substr(at + 1);
  const Montage montage = default_montage();
  int index = -1;
  for (std::size_t i = 0; i < montage.emg.size(); ++i) {
    if (montage.emg[i].label == channel) index = static_cast<int>(i);
  }
  if (index < 0) {
    std::size_t used = 0;
    try {
      index = std::stoi(channel, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != channel.size() || index < 0 || static_cast<std::size_t>(index) >= montage.emg.size()) {
      std::string labels;
      for (const auto& ch : montage.emg) labels += (labels.empty() ? "" : ", ") + ch.label;
      throw UserError(fmt::format("--lead-off channel '{}' is neither 0..{} nor one of {}", channel,
                                  montage.emg.size() - 1, labels));
    }
  }
  double seconds = 0.0;
  try {
    std::size_t used = 0;
    seconds = std::stod(time, &used);
    if (used != time.size() || seconds < 0.0) throw std::invalid_argument(time);
  } catch (const std::exception&) {
    throw UserError(usage);
  }
  c.lead_off_channel = index;
  c.lead_off_time_s = seconds;
}

// "YYYY-MM-DDTHH:MM:SS" followed by "Z" or "+HH:MM"/"-HH:MM" (docs/SESSION_FORMAT.md).
bool is_iso8601_with_offset(const std::string& t) {
  const std::string pattern = "dddd-dd-ddTdd:dd:dd";
  if (t.size() != pattern.size() + 1 && t.size() != pattern.size() + 6) return false;
  auto matches = [&t](std::size_t at, const std::string& p) {
    for (std::size_t i = 0; i < p.size(); ++i) {
      if (p[i] == 'd' ? std::isdigit(static_cast<unsigned char>(t[at + i])) == 0 : t[at + i] != p[i])
        return false;
    }
    return true;
  };
  if (!matches(0, pattern)) return false;
  if (t.size() == pattern.size() + 1) return t.back() == 'Z';
  return (t[pattern.size()] == '+' || t[pattern.size()] == '-') && matches(pattern.size() + 1, "dd:dd");
}

// The simulated session as the recorder would have stored it (same writer), without a byte stream.
void write_session_file(const SimulateOptions& o, const sim::SimulatedSession& session) {
  store::SessionWriterOptions w;
  w.force = true;
  w.journal = false;
  w.session_start_time = o.start_time;
  store::SessionWriter writer(o.session_file, session.device_info, session.montage, o.subject, w);
  for (const EmgBlock& b : session.emg) writer.append(b);
  for (const ImuBlock& b : session.imu) writer.append(b);
  for (const Event& e : session.events) writer.add_event(e);
  writer.close();
}

void run_simulate(SimulateOptions& o) {
  sim::SimulatorSettings& s = o.settings;
  const auto scenario = sim::parse_scenario(o.scenario);
  if (!scenario)
    throw UserError(fmt::format("unknown scenario '{}' (choose one of: {})", o.scenario, scenario_names()));
  s.scenario = *scenario;
  if (o.exercise.empty()) {
    s.exercise = s.scenario == sim::Scenario::pelvic_roll ? Exercise::clamshell : Exercise::bridge;
  } else {
    const auto exercise = parse_exercise(o.exercise);
    if (!exercise || (*exercise != Exercise::bridge && *exercise != Exercise::clamshell)) {
      throw UserError(fmt::format("unknown exercise '{}' (choose bridge or clamshell)", o.exercise));
    }
    s.exercise = *exercise;
  }
  if (o.mains_hz != 0 && o.mains_hz != 50 && o.mains_hz != 60) {
    throw UserError(fmt::format("--mains must be 50 or 60 (Hz), got {}", o.mains_hz));
  }
  s.contaminants.mains = o.mains_hz == 50   ? sim::Mains::hz50
                         : o.mains_hz == 60 ? sim::Mains::hz60
                                            : sim::Mains::off;
  if (!o.lead_off.empty()) parse_lead_off(o.lead_off, s.contaminants);
  if (!o.session_file.empty() && (o.pty || !o.out.empty()))
    throw UserError("choose one output: --session FILE.h5, --pty or --out FILE|-");
  if (!o.session_file.empty() && !is_iso8601_with_offset(o.start_time)) {
    throw UserError(fmt::format(
        "--start-time '{}': expected ISO 8601 with offset, e.g. 2024-03-04T09:30:00+01:00", o.start_time));
  }
  if (o.pty && !o.out.empty()) throw UserError("choose one output: --pty or --out FILE|-");
  const bool use_pty = o.out.empty();
  const double speed = o.speed >= 0.0 ? o.speed : (use_pty ? 1.0 : 0.0);
  if (speed < 0.0 || speed > 1000.0) throw UserError(fmt::format("--speed must be 0..1000, got {}", speed));
  if (o.device != "glutescope") {
    run_device_emulator(o, speed);
    return;
  }
  if (any_emulator_option(o)) {
    throw UserError(
        "--link, --drop-packets, --garbage, --disconnect-at, --version-reply and --packet-size are for "
        "third-party device emulators (--device NAME); protocol v1 faults are injected by the tests");
  }

  sim::SimulatedSession session;
  try {
    session = sim::simulate(s);
  } catch (const std::invalid_argument& e) {
    throw UserError(e.what());
  }
  if (!o.truth.empty()) {
    std::ofstream file(o.truth);
    if (!file) throw UserError(fmt::format("cannot write the truth file '{}'", o.truth));
    file << sim::truth_to_json(session).dump(1) << '\n';
    if (!file) throw UserError(fmt::format("writing the truth file '{}' failed", o.truth));
  }
  if (!o.session_file.empty()) {
    write_session_file(o, session);
    return;
  }
  const auto frames = sim::encode_frame_list(session);

  std::signal(SIGPIPE, SIG_IGN);  // a closed reader becomes EPIPE, reported as one line
  if (use_pty) {
    sim::PseudoTerminal pty;
    fmt::print("pty: {}\n", pty.slave_path());
    std::fflush(stdout);
    const auto timeout = std::chrono::milliseconds(static_cast<long long>(o.reader_timeout_s * 1000.0));
    if (!pty.wait_for_reader(timeout)) {
      throw UserError(fmt::format("no reader opened {} within {} s", pty.slave_path(), o.reader_timeout_s));
    }
    if (sim::write_frames(pty.master_fd(), frames, speed, true) == sim::StreamEnd::reader_gone) {
      fmt::print(stderr, "glutescope: the reader closed {} before the end of the session\n",
                 pty.slave_path());
      return;
    }
    if (!pty.wait_until_drained(std::chrono::seconds(30))) {
      fmt::print(stderr, "glutescope: the reader left bytes unread on {} for 30 s; closing\n",
                 pty.slave_path());
    }
    return;
  }
  if (o.out == "-") {
    sim::write_frames(STDOUT_FILENO, frames, speed);
    return;
  }
  std::FILE* file = std::fopen(o.out.c_str(), "wb");
  if (file == nullptr) throw UserError(fmt::format("cannot write '{}'", o.out));
  const std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
  sim::write_frames(fileno(file), frames, speed);
}

}  // namespace

void add_simulate_command(CLI::App& app, int& exit_status) {
  auto options = std::make_shared<SimulateOptions>();
  sim::SimulatorSettings& s = options->settings;
  CLI::App* cmd =
      app.add_subcommand("simulate",
                         "Simulated wearable: 8 sEMG channels and 3 six-axis IMUs doing glute bridges or "
                         "clamshells, streamed as "
                         "protocol v1 frames to a pseudo-terminal (default), a file or stdout, with optional "
                         "ground truth (JSON). "
                         "Same --seed => identical bytes. Models and truth schema: docs/SIMULATOR.md.");
  cmd->add_option("--exercise", options->exercise,
                  "bridge | clamshell (default: bridge; clamshell for --scenario pelvic-roll)");
  cmd->add_option("--scenario", options->scenario,
                  "activation pattern: " + scenario_names() + " (default: good)");
  cmd->add_option("--reps", s.reps, "repetitions in the set, 1..200 (default: 10)");
  cmd->add_option("--seed", s.seed, "random seed, unsigned 64-bit (default: 1)");
  cmd->add_option("--emg-rate", s.emg_rate_hz, "EMG sampling rate in Hz, 1000..4000 (default: 2000)");
  cmd->add_option("--imu-rate", s.imu_rate_hz, "IMU sampling rate in Hz, 50..1000 (default: 200)");
  cmd->add_option(
      "--snr", s.snr_db,
      "EMG signal-to-noise ratio in dB per channel during its activity, 10*log10(Psignal/Pnoise), "
      "0..60 (default: 30)");
  cmd->add_option(
      "--mains", options->mains_hz,
      "add mains interference at 50 or 60 Hz with 3rd and 5th harmonics, 20 uV peak (default: off)");
  cmd->add_flag("--wander", s.contaminants.baseline_wander,
                "add baseline wander below 0.5 Hz, ~100 uV (default: off)");
  cmd->add_flag(
      "--ecg", s.contaminants.ecg,
      "add ECG bleed (~72 bpm, R wave 60 uV left / 36 uV right) on the lumbar ES channels (default: off)");
  cmd->add_flag("--motion-artefacts", s.contaminants.motion_artefacts,
                "add 1-6 Hz transients of 30-250 uV at each movement onset (default: off)");
  cmd->add_option("--lead-off", options->lead_off,
                  "CH@S: channel CH (index 0..7 or label, e.g. ES_L3_L) loses skin contact at S seconds and "
                  "saturates; sends a LEAD_OFF event (default: none)");
  cmd->add_option(
      "--gyro-bias", s.gyro_bias_dps,
      "constant gyro bias: each axis of each IMU gets a fixed value in [-DPS, +DPS] deg/s, 0..100 "
      "(default: 1)");
  cmd->add_flag(
      "--mvc", s.mvc_trials,
      "prepend one 3-s maximal voluntary contraction per muscle (GMax, GMed, ES, BF, TFL), each between "
      "set-start/set-stop markers (default: off)");
  cmd->add_option(
      "--duration-limit", s.duration_limit_s,
      "stop the session after S seconds of device time; unfinished reps are left out of the truth "
      "(default: 0 = whole session)");
  cmd->add_option("--emg-frame", s.emg_samples_per_frame,
                  "EMG samples per EMG_BLOCK frame, 1..60 (default: 20)");
  cmd->add_option("--imu-frame", s.imu_samples_per_frame,
                  "IMU samples per IMU_BLOCK frame, 1..60 (default: 4)");
  cmd->add_option("--speed", options->speed,
                  "playback speed: 1 = real time, X = X times faster, 0 = as fast as the reader takes bytes "
                  "(default: 1 with --pty, 0 with --out)");
  cmd->add_flag(
      "--pty", options->pty,
      "stream to a new pseudo-terminal (the default output): prints 'pty: /dev/pts/N', waits for a reader "
      "to open it, streams, waits until the reader has read every byte, exits");
  cmd->add_option("--reader-timeout", options->reader_timeout_s,
                  "with --pty: seconds to wait for a reader before giving up (default: 60)");
  cmd->add_option("--out", options->out, "write the byte stream to FILE, or to stdout with '-'");
  cmd->add_option("--session", options->session_file,
                  "write a session file (.h5, replaced if present) as the recorder would, instead of a byte "
                  "stream");
  cmd->add_option("--subject", options->subject,
                  "with --session: pseudonymous subject code (default: SIM01)");
  cmd->add_option("--start-time", options->start_time,
                  "with --session: session start, ISO 8601 with offset (default: 2024-01-01T10:00:00+00:00)");
  cmd->add_option("--glute-scale", s.glute_activation_scale,
                  "multiply the glutes' activation in every rep (not the MVC trials), 0.1..2 (default: 1)");
  cmd->add_option("--device", options->device,
                  "device to emulate: " + devices::device_names() +
                      " (default: glutescope, protocol v1); others stream that device's own bytes and answer "
                      "its commands (docs/DEVICES.md)");
  cmd->add_option(
      "--link", options->link,
      "third-party emulators with --pty: keep a symlink PATH pointing at the pty (a --disconnect-at "
      "replug moves it to the new pty)");
  cmd->add_option("--drop-packets", options->drop_packets,
                  "third-party emulators: device packets never sent, e.g. 100-119,400 (packet 0 = first)");
  cmd->add_option("--garbage", options->garbage,
                  "third-party emulators: N random bytes before packet K, e.g. 7@100,33@900");
  cmd->add_option(
      "--disconnect-at", options->disconnect_at_s,
      "third-party emulators with --pty: unplug at S s of device time (packets due while away are "
      "lost), replug after --disconnect-for");
  cmd->add_option("--disconnect-for", options->disconnect_for_s, "seconds unplugged (default: 1)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--version-reply", options->version_reply,
                  "bad-input tests: the board answers its reset/version command with this text instead");
  cmd->add_option("--packet-size", options->packet_size,
                  "bad-input tests: packets of this many bytes instead of the device's own size");
  cmd->add_option("--listen", options->listen,
                  "TCP emulators (trigno): serve on ADDR:PORT (commands) and the next two ports (EMG, "
                  "accelerometer), e.g. 127.0.0.1:50040");
  cmd->add_option(
      "--refuse", options->refuse_command,
      "bad-input tests (trigno): the base answers this command (e.g. START) with CANNOT COMPLETE");
  cmd->add_option("--truth", options->truth,
                  "write the ground truth as JSON to FILE (schema: docs/SIMULATOR.md)");
  cmd->callback([options, &exit_status] {
    run_simulate(*options);
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
