// glutescope info: what a session file holds (duration, channels, rates, samples, losses, gaps, events).
#include <algorithm>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "store/hdf5_watchdog.hpp"
#include "store/session_reader.hpp"

namespace glutescope::cli {
namespace {

nlohmann::json describe(const std::string& path) {
  store::SessionReader reader(path);
  const store::SessionInfo& info = reader.info();
  const DeviceInfo device = reader.device();
  const Montage montage = reader.montage();
  const store::SessionStatistics stats = reader.statistics();
  const std::vector<Gap> gaps = reader.gaps();
  const std::vector<Event> events = reader.events();
  const store::TimingFit fit = reader.timing_fit();

  nlohmann::json j;
  j["file"] = path;
  j["status"] = info.status;
  j["format_version"] = info.format_version;
  j["software_version"] = info.software_version;
  j["session_start_time"] = info.session_start_time;
  j["subject_id"] = info.subject_id;
  j["device"] = {{"serial_number", device.serial_number},
                 {"firmware_version", device.firmware_version},
                 {"device_id", device.device_id}};
  const std::uint64_t emg_rows = reader.emg_rows();
  // Checked before durations and losses are reported from the rows: strictly increasing, bounded span (a
  // decreasing index was reported as "0 lost").
  (void)reader.checked_emg_sample_index();
  for (std::size_t i = 0; i < reader.imu_count(); ++i) (void)reader.checked_imu_sample_index(i);
  std::uint64_t emg_lost = 0;
  for (const Gap& g : gaps) {
    if (g.stream == StreamKind::emg) emg_lost += g.count;
  }
  // Duration from the sample index span: stored rows plus the samples the gaps say are missing.
  const double emg_span_s =
      device.emg_rate_hz > 0.0 ? static_cast<double>(emg_rows + emg_lost) / device.emg_rate_hz : 0.0;
  j["duration_s"] = emg_span_s;
  nlohmann::json channels = nlohmann::json::array();
  for (const EmgChannel& c : montage.emg) {
    channels.push_back({{"label", c.label},
                        {"muscle", std::string(to_string(c.muscle))},
                        {"side", std::string(to_string(c.side))},
                        {"microvolts_per_count", c.microvolts_per_count}});
  }
  j["emg"] = {{"rate_hz", device.emg_rate_hz},
              {"channels", channels},
              {"samples", emg_rows},
              {"lost_samples", emg_lost}};
  nlohmann::json imus = nlohmann::json::array();
  for (std::size_t i = 0; i < reader.imu_count(); ++i) {
    std::uint64_t lost = 0;
    for (const Gap& g : gaps) {
      if (g.stream == StreamKind::imu && g.sensor == i) lost += g.count;
    }
    imus.push_back(
        {{"label", i < montage.imu.size() ? montage.imu[i].label : std::string()},
         {"segment", i < montage.imu.size() ? std::string(to_string(montage.imu[i].segment)) : "other"},
         {"rate_hz", i < device.imu.size() ? device.imu[i].rate_hz : 0.0},
         {"samples", reader.imu_rows(i)},
         {"lost_samples", lost}});
  }
  j["imu"] = imus;
  j["statistics"] = {{"frames_received", stats.frames_received},
                     {"crc_errors", stats.crc_errors},
                     {"lost_frames", stats.lost_frames},
                     {"device_overflows", stats.device_overflows},
                     {"queue_overflow_blocks", stats.queue_overflow_blocks}};
  j["timing_fit"] = {{"offset_s", fit.offset_s},
                     {"drift_ppm", fit.drift_ppm},
                     {"residual_rms_s", fit.residual_rms_s},
                     {"points", fit.points}};
  nlohmann::json gap_list = nlohmann::json::array();
  for (const Gap& g : gaps) {
    gap_list.push_back({{"stream", g.stream == StreamKind::emg ? "emg" : "imu"},
                        {"sensor", g.sensor},
                        {"start_sample", g.start_sample},
                        {"count", g.count}});
  }
  j["gaps"] = gap_list;
  nlohmann::json event_list = nlohmann::json::array();
  for (const Event& e : events) {
    static constexpr const char* kKinds[] = {"marker",    "set_start", "set_stop",    "note",
                                             "lead_off",  "lead_on",   "battery_low", "disconnect",
                                             "reconnect", "overflow",  "rep_start",   "rep_end"};
    const auto k = static_cast<std::size_t>(e.kind);
    event_list.push_back({{"time_s", e.time_s},
                          {"kind", k < std::size(kKinds) ? kKinds[k] : "unknown"},
                          {"exercise", std::string(to_string(e.exercise))},
                          {"muscle", std::string(to_string(e.muscle))},
                          {"side", std::string(to_string(e.side))},
                          {"channel", e.channel},
                          {"text", e.text}});
  }
  j["events"] = event_list;
  return j;
}

void print_text(const nlohmann::json& j) {
  fmt::print("{}  ({})\n", j["file"].get<std::string>(), j["status"].get<std::string>());
  fmt::print("  subject {}, started {}, {}\n", j["subject_id"].get<std::string>(),
             j["session_start_time"].get<std::string>(), j["software_version"].get<std::string>());
  fmt::print("  device {} firmware {}\n", j["device"]["serial_number"].get<std::string>(),
             j["device"]["firmware_version"].get<std::string>());
  fmt::print("  duration {:.2f} s\n", j["duration_s"].get<double>());
  const auto& emg = j["emg"];
  std::string labels;
  for (const auto& c : emg["channels"]) {
    if (!labels.empty()) labels += ", ";
    labels += fmt::format("{} ({} {})", c["label"].get<std::string>(), c["muscle"].get<std::string>(),
                          c["side"].get<std::string>());
  }
  fmt::print("  EMG: {} channels at {} Hz, {} samples, {} lost: {}\n", emg["channels"].size(),
             emg["rate_hz"].get<double>(), emg["samples"].get<std::uint64_t>(),
             emg["lost_samples"].get<std::uint64_t>(), labels);
  for (const auto& imu : j["imu"]) {
    fmt::print("  IMU {} ({}): {} Hz, {} samples, {} lost\n", imu["label"].get<std::string>(),
               imu["segment"].get<std::string>(), imu["rate_hz"].get<double>(),
               imu["samples"].get<std::uint64_t>(), imu["lost_samples"].get<std::uint64_t>());
  }
  const auto& st = j["statistics"];
  fmt::print("  frames {} received, {} lost, {} CRC errors; device overflows {}; writer queue drops {}\n",
             st["frames_received"].get<std::uint64_t>(), st["lost_frames"].get<std::uint64_t>(),
             st["crc_errors"].get<std::uint64_t>(), st["device_overflows"].get<std::uint64_t>(),
             st["queue_overflow_blocks"].get<std::uint64_t>());
  fmt::print("  clock: drift {:+.2f} ppm over {} windows\n", j["timing_fit"]["drift_ppm"].get<double>(),
             j["timing_fit"]["points"].get<std::uint64_t>());
  fmt::print("  gaps: {}\n", j["gaps"].size());
  for (const auto& g : j["gaps"]) {
    fmt::print("    {}{} samples {}..{} ({} missing)\n", g["stream"].get<std::string>(),
               g["stream"] == "imu" ? fmt::format(" {}", g["sensor"].get<int>()) : std::string(),
               g["start_sample"].get<std::uint64_t>(),
               g["start_sample"].get<std::uint64_t>() + g["count"].get<std::uint64_t>() - 1,
               g["count"].get<std::uint64_t>());
  }
  fmt::print("  events: {}\n", j["events"].size());
  for (const auto& e : j["events"]) {
    fmt::print("    {:9.3f} s  {}  {}\n", e["time_s"].get<double>(), e["kind"].get<std::string>(),
               e["text"].get<std::string>().empty()
                   ? (e["exercise"] == "other" ? std::string() : e["exercise"].get<std::string>())
                   : e["text"].get<std::string>());
  }
}

}  // namespace

void add_info_command(CLI::App& app, int& exit_status) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("info",
                                     "Summarise a session file: duration, channels, rates, samples, "
                                     "losses, gaps, events");
  cmd->add_option("file", *path, "Session file (.h5)")->required();
  cmd->add_flag("--json", *json, "Print JSON instead of text");
  cmd->callback([path, json, &exit_status] {
    store::enable_hdf5_watchdog();  // a damaged file cannot hang or crash the command
    nlohmann::json j;
    try {
      j = describe(*path);
    } catch (const std::exception& e) {
      throw UserError(e.what(), 1);
    }
    if (*json) {
      fmt::print("{}\n", j.dump(2));
    } else {
      print_text(j);
    }
    exit_status = 0;
  });
}

}  // namespace glutescope::cli
