// The live view's feed (docs/CLINICIAN.md "Messages"): pipeline::LiveAnalysis's display callbacks turned
// into WebSocket messages, and the page's operator controls turned into marker commands.
//
//   text   {"type":"info", ...}    montage (label, muscle, side, role), EMG rate, column width
//   binary "GSC1" trace frame      new display columns: per column and channel min, max, RMS of the
//                                  filtered EMG (float32, µV), see encode_columns
//   text   {"type":"status", ...}  set, phase and its start, reps in the set, lead-off, battery, losses,
//                                  MVC references and set peaks (the bars' normalisation), web counters
//   text   {"type":"rep", ...}     one scored rep: exercise::to_json(RepScore), traffic light, clinician
//                                  line, glute:ES ratio, normalisation unit, device end time → wall clock
//   from the page: {"type":"control","command":"start bridge"|"stop"|"note TEXT"|...} (markers.hpp syntax),
//                  {"type":"ping"}; anything else closes that connection (WebServer).
//
// Threading contract: the LiveObserver callbacks run on the live analysis worker; they encode, keep the
// latest info/status and the reps for late-joining clients under a short mutex, and hand the message to
// WebServer::publish (non-blocking). handle() and snapshot() run on the server thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/control_input.hpp"
#include "pipeline/live_analysis.hpp"
#include "web/web_server.hpp"

namespace glutescope::web {

using exercise::traffic_light;  // the rule lives with the verdicts (exercise/rep_scores.hpp)
// The display role of a muscle: "glute", "compensator" (ES, hamstrings, TFL) or "other".
std::string_view muscle_role(Muscle muscle) noexcept;
// Montage as JSON for the page: [{label, muscle, side, role}].
nlohmann::json montage_json(const Montage& montage);
// The binary trace frame: "GSC1", u32 first column, u16 channels, u16 columns, u32 samples per column,
// f64 wall-clock ms of the newest sample (NaN if unknown), then f32 [columns][channels][min, max, rms].
// Little-endian.
std::string encode_columns(const pipeline::LiveTraceColumns& columns, double newest_wall_ms);
// The steady clock time `steady_s` (s) as wall-clock ms since the epoch (NaN stays NaN).
double wall_ms_of_steady(double steady_s) noexcept;

class LiveFeed final : public pipeline::LiveObserver {
 public:
  // `commands` receives the page's operator controls (null: the page shows none).
  explicit LiveFeed(pipeline::RemoteCommands* commands) : commands_(commands) {}
  // Before the live analysis starts; `server` must outlive it (the feed is detached by attach(nullptr)).
  void attach(WebServer* server);

  void on_live_start(const Montage& montage, const DeviceInfo& device) override;
  void on_live_columns(const pipeline::LiveTraceColumns& columns) override;
  void on_live_status(const pipeline::LiveStatus& status) override;
  void on_live_rep(const pipeline::LiveRep& rep) override;

  // Server thread: a control message → the reply text. Throws std::invalid_argument for an unknown type.
  std::string handle(const nlohmann::json& message);
  std::vector<WebMessage> snapshot();

 private:
  void send(bool binary, std::string payload);

  pipeline::RemoteCommands* commands_;
  std::mutex mutex_;
  WebServer* server_ = nullptr;     // guarded by mutex_
  Montage montage_;                 // worker thread (set by on_live_start)
  std::string info_, status_;       // latest, guarded by mutex_
  std::vector<std::string> reps_;   // guarded by mutex_
  std::uint64_t trace_frames_ = 0;  // trace frames handed to publish(), worker thread
};

}  // namespace glutescope::web
