#include "pipeline/markers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <stdexcept>

#include <fmt/core.h>

namespace glutescope::pipeline {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) s.remove_suffix(1);
  return s;
}

// Splits off the first blank-separated word.
std::string_view next_word(std::string_view& s) {
  s = trim(s);
  const auto end = s.find_first_of(" \t");
  const std::string_view word = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view{} : trim(s.substr(end));
  return word;
}

constexpr const char* kForms =
    "expected 'start bridge', 'start clamshell', 'start mvc <muscle> <side>', 'stop', 'note <text>' or "
    "'marker [text]'";

}  // namespace

MarkerCommand parse_marker_command(std::string_view line) {
  std::string_view rest = trim(line);
  const std::string_view verb = next_word(rest);
  MarkerCommand c;
  if (verb == "start") {
    c.verb = MarkerCommand::Verb::start;
    const std::string_view exercise = next_word(rest);
    const auto parsed = parse_exercise(exercise);
    if (!parsed || *parsed == Exercise::other) {
      throw std::invalid_argument(
          fmt::format("unknown exercise '{}' in '{}': {}", exercise, trim(line), kForms));
    }
    c.exercise = *parsed;
    if (c.exercise == Exercise::mvc) {
      const std::string_view muscle = next_word(rest);
      const std::string_view side = next_word(rest);
      const auto m = parse_muscle(muscle);
      const auto sd = parse_side(side);
      if (!m || *m == Muscle::other) {
        throw std::invalid_argument(fmt::format(
            "MVC needs a muscle (gluteus_maximus, gluteus_medius, erector_spinae_lumbar, biceps_femoris, "
            "tensor_fasciae_latae), got '{}' in '{}'",
            muscle, trim(line)));
      }
      if (!sd || *sd == Side::unknown) {
        throw std::invalid_argument(
            fmt::format("MVC needs a side (left, right, midline), got '{}' in '{}'", side, trim(line)));
      }
      c.muscle = *m;
      c.side = *sd;
    }
    if (!rest.empty()) {
      throw std::invalid_argument(
          fmt::format("unexpected '{}' after '{}'", rest, trim(line.substr(0, line.size() - rest.size()))));
    }
    return c;
  }
  if (verb == "stop") {
    c.verb = MarkerCommand::Verb::stop;
  } else if (verb == "note") {
    c.verb = MarkerCommand::Verb::note;
    if (rest.empty()) throw std::invalid_argument("'note' needs a text: note <text>");
  } else if (verb == "marker") {
    c.verb = MarkerCommand::Verb::marker;
  } else {
    throw std::invalid_argument(fmt::format("unknown command '{}': {}", trim(line), kForms));
  }
  c.text = std::string(rest);
  return c;
}

std::vector<ScriptedMarker> load_marker_script(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot read marker script {}", path));
  std::vector<ScriptedMarker> script;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view rest = trim(line);
    if (rest.empty() || rest.front() == '#') continue;
    const std::string_view time_word = next_word(rest);
    double t = 0.0;
    const auto [ptr, ec] = std::from_chars(time_word.data(), time_word.data() + time_word.size(), t);
    if (ec != std::errc{} || ptr != time_word.data() + time_word.size() || !(t >= 0.0)) {
      throw std::runtime_error(
          fmt::format("{}:{}: expected '<seconds> <command>', got '{}'", path, line_no, trim(line)));
    }
    try {
      script.push_back({t, parse_marker_command(rest)});
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(fmt::format("{}:{}: {}", path, line_no, e.what()));
    }
  }
  std::stable_sort(script.begin(), script.end(),
                   [](const ScriptedMarker& a, const ScriptedMarker& b) { return a.time_s < b.time_s; });
  return script;
}

std::optional<std::string> SetTracker::apply(const MarkerCommand& command, double time_s,
                                             std::vector<Event>& events) {
  auto set_event = [&](EventKind kind, const MarkerCommand& set, std::string text) {
    // Operator text must never read as the device's tag (sets_for_analysis tells the sources apart by it).
    if (text == kDeviceSetEventText) text = "operator: " + text;
    Event e;
    e.time_s = time_s;
    e.kind = kind;
    e.exercise = set.exercise;
    e.muscle = set.muscle;
    e.side = set.side;
    e.text = std::move(text);
    events.push_back(std::move(e));
  };
  switch (command.verb) {
    case MarkerCommand::Verb::start:
      if (open_) set_event(EventKind::set_stop, *open_, "stopped by the next start");
      set_event(EventKind::set_start, command, command.text);
      open_ = command;
      return std::nullopt;
    case MarkerCommand::Verb::stop:
      if (!open_) return std::string("'stop' ignored: no set is open");
      set_event(EventKind::set_stop, *open_, command.text);
      open_.reset();
      return std::nullopt;
    case MarkerCommand::Verb::note:
    case MarkerCommand::Verb::marker: {
      Event e;
      e.time_s = time_s;
      e.kind = command.verb == MarkerCommand::Verb::note ? EventKind::note : EventKind::marker;
      if (open_) e.exercise = open_->exercise;  // which set the note or marker belongs to
      e.text = command.text;
      events.push_back(std::move(e));
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string describe(const Event& event) {
  std::string what;
  if (event.exercise == Exercise::mvc) {
    what = fmt::format("MVC {} {}", to_string(event.muscle), to_string(event.side));
  } else {
    what = fmt::format("{} set", to_string(event.exercise));
  }
  switch (event.kind) {
    case EventKind::set_start:
      return fmt::format("{} started", what);
    case EventKind::set_stop:
      return fmt::format("{} stopped", what);
    case EventKind::note:
      return fmt::format("note: {}", event.text);
    case EventKind::marker:
      return event.text.empty() ? std::string("marker") : fmt::format("marker: {}", event.text);
    case EventKind::disconnect:
      return fmt::format("disconnected: {}", event.text);
    case EventKind::reconnect:
      return fmt::format("reconnected: {}", event.text);
    default:
      return event.text;
  }
}

bool is_device_set_event(const Event& event) noexcept {
  return (event.kind == EventKind::set_start || event.kind == EventKind::set_stop) &&
         event.text == kDeviceSetEventText;
}

std::vector<Event> sets_for_analysis(const std::vector<Event>& events) {
  struct Interval {
    double start_s, stop_s;
    std::vector<std::size_t> members;  // indices into `events`
  };
  // Pairs one source's set events in time order: a start opens, a stop closes, a start while open closes
  // the open set first; a stop with nothing open is an interval of its own (a point).
  auto pair_source = [&](bool device) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      if ((e.kind == EventKind::set_start || e.kind == EventKind::set_stop) &&
          is_device_set_event(e) == device) {
        order.push_back(i);
      }
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return events[a].time_s < events[b].time_s; });
    std::vector<Interval> out;
    std::optional<Interval> open;
    constexpr double kOpenEnd = std::numeric_limits<double>::infinity();
    for (const std::size_t i : order) {
      const Event& e = events[i];
      if (e.kind == EventKind::set_start) {
        if (open) {
          open->stop_s = e.time_s;
          out.push_back(std::move(*open));
        }
        open = Interval{e.time_s, kOpenEnd, {i}};
      } else if (open) {
        open->stop_s = e.time_s;
        open->members.push_back(i);
        out.push_back(std::move(*open));
        open.reset();
      } else {
        out.push_back(Interval{e.time_s, e.time_s, {i}});
      }
    }
    if (open) out.push_back(std::move(*open));
    return out;
  };
  const std::vector<Interval> device = pair_source(true);
  std::vector<bool> drop(events.size(), false);
  if (!device.empty()) {
    for (const Interval& op : pair_source(false)) {
      const bool overlaps = std::any_of(device.begin(), device.end(), [&](const Interval& d) {
        return op.start_s <= d.stop_s && d.start_s <= op.stop_s;
      });
      if (overlaps) {
        for (const std::size_t i : op.members) drop[i] = true;
      }
    }
  }
  std::vector<Event> out;
  out.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!drop[i]) out.push_back(events[i]);
  }
  return out;
}

}  // namespace glutescope::pipeline
