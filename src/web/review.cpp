#include "web/review.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "exercise/session_analysis.hpp"
#include "web/live_feed.hpp"

namespace glutescope::web {
namespace {

constexpr double kMarginS = 1.0;       // shown before the rep's start and after its end
constexpr std::size_t kColumns = 800;  // raw EMG and angle points per channel at most

nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }

// Raw µV of one channel over [begin, end) samples as min/max per column of `step` samples.
nlohmann::json raw_columns(const exercise::SessionData& data, std::size_t channel, std::size_t begin,
                           std::size_t end, std::size_t step) {
  const std::size_t channels = data.emg_channels();
  const double scale = data.device.emg[channel].microvolts_per_count;
  nlohmann::json lo = nlohmann::json::array(), hi = nlohmann::json::array();
  for (std::size_t n = begin; n < end; n += step) {
    std::int32_t a = data.emg_counts[n * channels + channel], b = a;
    for (std::size_t k = n; k < std::min(end, n + step); ++k) {
      a = std::min(a, data.emg_counts[k * channels + channel]);
      b = std::max(b, data.emg_counts[k * channels + channel]);
    }
    lo.push_back(a * scale);
    hi.push_back(b * scale);
  }
  return {{"min_uv", lo}, {"max_uv", hi}};
}

}  // namespace

SessionReview::SessionReview(const std::filesystem::path& session,
                             const pipeline::AnalysisPipelineSettings& settings)
    : session_(pipeline::load_session(session)), result_(pipeline::analyse(session_, settings)) {
  nlohmann::json analysis = exercise::to_json(result_.analysis, result_.montage);
  nlohmann::json lights = nlohmann::json::array();
  for (const exercise::SetAnalysis& set : result_.analysis.sets) {
    nlohmann::json l = nlohmann::json::array();
    for (const exercise::RepScore& r : set.reps) l.push_back(std::string(traffic_light(r)));
    lights.push_back(l);
  }
  nlohmann::json hello = {{"type", "review"},
                          {"mode", "review"},
                          {"file", session.filename().string()},
                          {"subject", result_.subject_id},
                          {"start_time", result_.session_start_time},
                          {"channels", montage_json(result_.montage)},
                          {"emg_rate_hz", session_.data.device.emg_rate_hz},
                          {"lights", lights},
                          {"analysis", analysis}};
  hello_ = hello.dump();
}

std::string SessionReview::handle(const nlohmann::json& message) const {
  if (message["type"] == "ping") return R"({"type":"pong"})";
  if (message["type"] != "rep_detail" || !message.contains("set") || !message.contains("rep") ||
      !message["set"].is_number_unsigned() || !message["rep"].is_number_unsigned()) {
    throw std::invalid_argument("unknown message");
  }
  const auto set = message["set"].get<std::uint64_t>();
  const auto rep = message["rep"].get<std::uint64_t>();
  const auto& sets = result_.analysis.sets;
  if (set >= sets.size() || rep >= sets[set].reps.size()) {
    return nlohmann::json({{"type", "error"}, {"error", "no such set or rep"}}).dump();
  }
  return rep_detail(set, rep).dump();
}

nlohmann::json SessionReview::rep_detail(std::size_t set_index, std::size_t rep_index) const {
  const exercise::SetAnalysis& set = result_.analysis.sets[set_index];
  const exercise::RepScore& rep = set.reps[rep_index];
  const exercise::SessionData& data = session_.data;
  const double rate = data.device.emg_rate_hz;
  const double t0 = std::max(0.0, rep.start_s - kMarginS);
  const std::size_t samples = data.emg_samples();
  const std::size_t begin = std::min(samples, static_cast<std::size_t>(t0 * rate));
  const std::size_t end = std::min(samples, static_cast<std::size_t>((rep.end_s + kMarginS) * rate));
  const std::size_t step = std::max<std::size_t>(1, (end - begin + kColumns - 1) / kColumns);
  nlohmann::json raw = nlohmann::json::array(), env = nlohmann::json::array(),
                 onsets = nlohmann::json::array();
  const std::size_t channels = result_.channels();
  const double env_rate = result_.envelope_rate_hz;
  const std::size_t env_rows = channels == 0 ? 0 : result_.envelopes_uv.size() / channels;
  const auto e0 = std::min(env_rows, static_cast<std::size_t>(t0 * env_rate));
  const auto e1 = std::min(env_rows, static_cast<std::size_t>((rep.end_s + kMarginS) * env_rate));
  for (std::size_t c = 0; c < channels; ++c) {
    raw.push_back(raw_columns(data, c, begin, end, step));
    nlohmann::json e = nlohmann::json::array();
    for (std::size_t k = e0; k < e1; ++k) e.push_back(result_.envelopes_uv[k * channels + c]);
    env.push_back(e);
    onsets.push_back(c < rep.channels.size() ? num(rep.channels[c].onset_s) : nlohmann::json(nullptr));
  }
  nlohmann::json angle_t = nlohmann::json::array(), angle = nlohmann::json::array();
  const std::size_t a_step = std::max<std::size_t>(1, set.angle_time_s.size() / (4 * kColumns));
  for (std::size_t k = 0; k < set.angle_time_s.size() && k < set.driving_angle_deg.size(); k += a_step) {
    const double t = set.angle_time_s[k];
    if (t < t0 || t > rep.end_s + kMarginS) continue;
    angle_t.push_back(t);
    angle.push_back(num(set.driving_angle_deg[k]));
  }
  return {{"type", "rep_detail"},
          {"set", set_index},
          {"rep", rep_index},
          {"raw_t0_s", static_cast<double>(begin) / rate},
          {"raw_column_s", static_cast<double>(step) / rate},
          {"raw", raw},
          {"envelope_t0_s", env_rate > 0 ? static_cast<double>(e0) / env_rate : 0.0},
          {"envelope_rate_hz", env_rate},
          {"envelope_uv", env},
          {"angle_t_s", angle_t},
          {"angle_deg", angle},
          {"onset_s", onsets},
          {"phases_s", {rep.start_s, rep.concentric_end_s, rep.hold_end_s, rep.end_s}},
          {"light", std::string(traffic_light(rep))},
          {"score", exercise::to_json(rep, result_.montage)}};
}

}  // namespace glutescope::web
