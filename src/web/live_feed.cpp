#include "web/live_feed.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

namespace glutescope::web {
namespace {

constexpr std::size_t kMaxRepsKept = 1000;  // reps replayed to a late-joining client

nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

nlohmann::json finite_array(const std::vector<double>& values) {
  nlohmann::json a = nlohmann::json::array();
  for (double v : values) a.push_back(num(v));
  return a;
}

template <typename T>
void append_le(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // x86-64 and aarch64 are little-endian, as the page reads
  out.append(bytes, sizeof(T));
}

// "start mvc <muscle> <side>" for each muscle and side of the montage (the page's MVC menu, as the 'm'
// key's).
nlohmann::json mvc_choices(const Montage& montage) {
  nlohmann::json out = nlohmann::json::array();
  for (const EmgChannel& c : montage.emg) {
    if (c.muscle == Muscle::other) continue;
    const std::string command = fmt::format("start mvc {} {}", to_string(c.muscle), to_string(c.side));
    if (std::find(out.begin(), out.end(), command) == out.end()) out.push_back(command);
  }
  return out;
}

std::string_view phase_name(exercise::RepPhase phase) noexcept {
  switch (phase) {
    case exercise::RepPhase::concentric:
      return "concentric";
    case exercise::RepPhase::hold:
      return "hold";
    case exercise::RepPhase::eccentric:
      return "eccentric";
    case exercise::RepPhase::rest:
      return "rest";
    default:
      return "baseline";
  }
}

}  // namespace

std::string_view muscle_role(Muscle muscle) noexcept {
  switch (muscle) {
    case Muscle::gluteus_maximus:
    case Muscle::gluteus_medius:
      return "glute";
    case Muscle::erector_spinae_lumbar:
    case Muscle::biceps_femoris:
    case Muscle::tensor_fasciae_latae:
      return "compensator";
    default:
      return "other";
  }
}

nlohmann::json montage_json(const Montage& montage) {
  nlohmann::json channels = nlohmann::json::array();
  for (const EmgChannel& c : montage.emg) {
    channels.push_back({{"label", c.label},
                        {"muscle", std::string(to_string(c.muscle))},
                        {"side", std::string(to_string(c.side))},
                        {"role", std::string(muscle_role(c.muscle))}});
  }
  return channels;
}

std::string encode_columns(const pipeline::LiveTraceColumns& columns, double newest_wall_ms) {
  std::string out;
  const std::size_t n = columns.columns();
  out.reserve(24 + n * columns.channels * 12);
  out.append("GSC1");
  append_le(out, static_cast<std::uint32_t>(columns.first_column));
  append_le(out, static_cast<std::uint16_t>(columns.channels));
  append_le(out, static_cast<std::uint16_t>(n));
  append_le(out, static_cast<std::uint32_t>(columns.column_samples));
  append_le(out, newest_wall_ms);
  for (std::size_t i = 0; i < n * columns.channels; ++i) {
    append_le(out, columns.min_uv[i]);
    append_le(out, columns.max_uv[i]);
    append_le(out, columns.rms_uv[i]);
  }
  return out;
}

double wall_ms_of_steady(double steady_s) noexcept {
  if (!std::isfinite(steady_s)) return std::numeric_limits<double>::quiet_NaN();
  using namespace std::chrono;
  const double steady_now = duration<double>(steady_clock::now().time_since_epoch()).count();
  const double wall_now_ms = duration<double, std::milli>(system_clock::now().time_since_epoch()).count();
  return wall_now_ms - (steady_now - steady_s) * 1000.0;
}

void LiveFeed::attach(WebServer* server) {
  std::lock_guard lock(mutex_);
  server_ = server;
}

void LiveFeed::send(bool binary, std::string payload) {
  std::lock_guard lock(mutex_);
  if (server_ != nullptr) server_->publish({binary, std::make_shared<const std::string>(std::move(payload))});
}

void LiveFeed::on_live_start(const Montage& montage, const DeviceInfo& device) {
  montage_ = montage;
  nlohmann::json info = {{"type", "info"},
                         {"mode", "live"},
                         {"channels", montage_json(montage)},
                         {"emg_rate_hz", device.emg_rate_hz},
                         {"controls", commands_ != nullptr},
                         {"mvc_choices", mvc_choices(montage)}};
  std::string text = info.dump();
  {
    std::lock_guard lock(mutex_);
    info_ = text;
  }
  send(false, std::move(text));
}

void LiveFeed::on_live_columns(const pipeline::LiveTraceColumns& columns) {
  ++trace_frames_;
  send(true, encode_columns(columns, wall_ms_of_steady(columns.newest_host_clock_s)));
}

void LiveFeed::on_live_status(const pipeline::LiveStatus& s) {
  nlohmann::json j = {{"type", "status"},
                      {"time_s", s.time_s},
                      {"in_set", s.in_set},
                      {"exercise", std::string(to_string(s.exercise))},
                      {"set_index", s.set_index},
                      {"reps_in_set", s.reps_in_set},
                      {"phase", std::string(phase_name(s.phase))},
                      {"phase_since_s", s.phase_since_s},
                      {"lead_off", s.lead_off},
                      {"battery_low", s.battery_low},
                      {"emg_gap_samples", s.emg_gap_samples},
                      {"imu_gap_samples", s.imu_gap_samples},
                      {"disconnects", s.disconnects},
                      {"analysis_dropped_blocks", s.dropped_blocks},
                      {"emg_blocks", s.emg_blocks},
                      {"trace_frames", trace_frames_},
                      {"mvc_reference_uv", finite_array(s.mvc_reference_uv)},
                      {"set_peak_uv", finite_array(s.set_peak_uv)}};
  if (s.mvc_trial) {
    j["mvc_trial"] = {{"muscle", std::string(to_string(s.mvc_trial->muscle))},
                      {"side", std::string(to_string(s.mvc_trial->side))}};
  }
  {
    std::lock_guard lock(mutex_);
    if (server_ != nullptr) {
      const WebCounters c = server_->counters();
      j["web"] = {{"clients", c.clients_connected},
                  {"clients_dropped", c.clients_dropped},
                  {"clients_closed_bad_message", c.clients_closed_bad_message},
                  {"inbox_dropped", c.inbox_dropped},
                  {"trace_frames_sent", c.binary_sent}};
    }
    status_ = j.dump();
  }
  send(false, j.dump());
}

void LiveFeed::on_live_rep(const pipeline::LiveRep& rep) {
  const exercise::RepScore& r = rep.score;
  nlohmann::json j = {
      {"type", "rep"},
      {"set_index", rep.set_index},
      {"exercise", std::string(to_string(rep.exercise))},
      {"light", std::string(traffic_light(r))},
      {"line", rep.line},
      {"normalisation",
       rep.normalisation.kind == exercise::NormalisationKind::mvic ? "%MVIC" : "% of peak within the rep"},
      {"glute_to_es",
       num(rep.exercise == Exercise::clamshell ? r.gmed_to_es.ratio_of_means : r.gmax_to_es.ratio_of_means)},
      {"end_wall_ms", num(wall_ms_of_steady(rep.end_host_clock_s))},
      {"score", exercise::to_json(r, montage_)}};
  std::string text = j.dump();
  {
    std::lock_guard lock(mutex_);
    if (reps_.size() < kMaxRepsKept) reps_.push_back(text);
  }
  send(false, std::move(text));
}

std::string LiveFeed::handle(const nlohmann::json& message) {
  const std::string type = message["type"].get<std::string>();
  if (type == "ping") return R"({"type":"pong"})";
  if (type != "control" || !message.contains("command") || !message["command"].is_string()) {
    throw std::invalid_argument("unknown message");
  }
  const std::string command = message["command"].get<std::string>();
  nlohmann::json reply = {{"type", "ack"}, {"command", command}};
  try {
    if (commands_ == nullptr) throw std::invalid_argument("this view has no operator controls");
    if (!commands_->submit(pipeline::parse_marker_command(command)))
      throw std::invalid_argument("too many commands waiting; try again");
    reply["ok"] = true;
  } catch (const std::invalid_argument& e) {
    reply["ok"] = false;  // a command the operator mistyped is answered, not a protocol violation
    reply["error"] = e.what();
  }
  return reply.dump();
}

std::vector<WebMessage> LiveFeed::snapshot() {
  std::vector<WebMessage> out;
  std::lock_guard lock(mutex_);
  auto text = [&](const std::string& s) { out.push_back({false, std::make_shared<const std::string>(s)}); };
  if (!info_.empty()) text(info_);
  for (const std::string& r : reps_) text(r);
  if (!status_.empty()) text(status_);
  return out;
}

}  // namespace glutescope::web
