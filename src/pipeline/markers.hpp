// Operator markers during a recording: the command language shared by the control FIFO, the
// marker script (--markers) and the terminal keys, and the set bookkeeping that turns commands into
// session events (docs/RECORDING.md "Markers").
//
//   start bridge | start clamshell | start mvc <muscle> <side>   (a set begins; an open set is stopped first)
//   stop [text]                                                  (the open set ends)
//   note <text>                                                  (free text)
//   marker [text]                                                (a point marker)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/montage.hpp"
#include "core/session_types.hpp"

namespace glutescope::pipeline {

struct MarkerCommand {
  enum class Verb : std::uint8_t { start, stop, note, marker };
  Verb verb = Verb::marker;
  Exercise exercise = Exercise::other;  // start
  Muscle muscle = Muscle::other;        // start mvc
  Side side = Side::unknown;            // start mvc
  std::string text;                     // note, marker, stop
};

// Parses one command line (surrounding blanks ignored). Throws std::invalid_argument naming what is
// wrong and the accepted forms.
MarkerCommand parse_marker_command(std::string_view line);

// A command from a --markers script, applied when the session clock reaches time_s.
struct ScriptedMarker {
  double time_s = 0.0;
  MarkerCommand command;
};

// Reads "<seconds> <command>" lines ('#' comments and blank lines skipped), sorted by time.
// Throws std::runtime_error "FILE:LINE: ..." on a bad line or an unreadable file.
std::vector<ScriptedMarker> load_marker_script(const std::string& path);

// Tracks the open set and turns commands into events.
// Threading contract: used by one thread (the acquisition thread).
class SetTracker {
 public:
  // Appends the events for `command` at session time `time_s`. Returns a warning for the operator
  // when the command cannot apply (stop without an open set), else std::nullopt.
  std::optional<std::string> apply(const MarkerCommand& command, double time_s, std::vector<Event>& events);
  [[nodiscard]] const std::optional<MarkerCommand>& open_set() const noexcept { return open_; }

 private:
  std::optional<MarkerCommand> open_;
};

// One line for the operator: "bridge set started", "MVC gluteus_maximus left stopped".
std::string describe(const Event& event);

// True for a set_start/set_stop the device sent (EVENT SET_START/SET_STOP; text kDeviceSetEventText).
bool is_device_set_event(const Event& event) noexcept;

// Device and operator set events in one session (docs/RECORDING.md "Device and operator sets"): the file
// stores both; for analysis the device's sets win. Returns `events` (order kept) without the operator
// set_start/set_stop events that would collide with a device set: an operator set (start to its stop, or
// to the next operator start) whose interval overlaps a device set interval, and unpaired operator set
// events inside one. Operator sets that no device set overlaps are kept (e.g. MVC trials marked on the
// keyboard while the wearable marks the exercise sets). A device set without a stop runs to the end.
std::vector<Event> sets_for_analysis(const std::vector<Event>& events);

}  // namespace glutescope::pipeline
