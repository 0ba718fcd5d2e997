#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pipeline/markers.hpp"

namespace glutescope::pipeline {
namespace {

TEST(MarkerCommand, ParsesEveryForm) {
  auto c = parse_marker_command("  start bridge ");
  EXPECT_EQ(c.verb, MarkerCommand::Verb::start);
  EXPECT_EQ(c.exercise, Exercise::bridge);
  c = parse_marker_command("start clamshell");
  EXPECT_EQ(c.exercise, Exercise::clamshell);
  c = parse_marker_command("start mvc gluteus_maximus left");
  EXPECT_EQ(c.exercise, Exercise::mvc);
  EXPECT_EQ(c.muscle, Muscle::gluteus_maximus);
  EXPECT_EQ(c.side, Side::left);
  c = parse_marker_command("stop");
  EXPECT_EQ(c.verb, MarkerCommand::Verb::stop);
  c = parse_marker_command("note knee valgus on rep 3");
  EXPECT_EQ(c.verb, MarkerCommand::Verb::note);
  EXPECT_EQ(c.text, "knee valgus on rep 3");
  c = parse_marker_command("marker");
  EXPECT_EQ(c.verb, MarkerCommand::Verb::marker);
  EXPECT_EQ(c.text, "");
}

TEST(MarkerCommand, RejectsBadInputWithAUsefulMessage) {
  EXPECT_THROW(parse_marker_command("start squat"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("start mvc"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("start mvc gluteus_maximus"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("start mvc biceps left"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("start bridge now"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("note"), std::invalid_argument);
  EXPECT_THROW(parse_marker_command("jump"), std::invalid_argument);
  try {
    parse_marker_command("start squat");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("squat"), std::string::npos);
  }
}

TEST(SetTracker, StartStopAndImplicitStop) {
  SetTracker tracker;
  std::vector<Event> events;
  EXPECT_FALSE(tracker.apply(parse_marker_command("start bridge"), 1.0, events));
  EXPECT_FALSE(tracker.apply(parse_marker_command("note slow"), 2.0, events));
  EXPECT_FALSE(tracker.apply(parse_marker_command("start mvc gluteus_medius right"), 3.0, events));
  EXPECT_FALSE(tracker.apply(parse_marker_command("stop"), 4.0, events));
  EXPECT_TRUE(tracker.apply(parse_marker_command("stop"), 5.0, events).has_value());
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[0].kind, EventKind::set_start);
  EXPECT_EQ(events[0].exercise, Exercise::bridge);
  EXPECT_EQ(events[1].kind, EventKind::note);
  EXPECT_EQ(events[1].exercise, Exercise::bridge);
  EXPECT_EQ(events[1].text, "slow");
  EXPECT_EQ(events[2].kind, EventKind::set_stop);  // bridge closed by the MVC start
  EXPECT_EQ(events[2].exercise, Exercise::bridge);
  EXPECT_DOUBLE_EQ(events[2].time_s, 3.0);
  EXPECT_EQ(events[3].kind, EventKind::set_start);
  EXPECT_EQ(events[3].muscle, Muscle::gluteus_medius);
  EXPECT_EQ(events[3].side, Side::right);
  EXPECT_EQ(events[4].kind, EventKind::set_stop);
  EXPECT_EQ(events[4].exercise, Exercise::mvc);
  EXPECT_EQ(events[4].muscle, Muscle::gluteus_medius);
  EXPECT_DOUBLE_EQ(events[4].time_s, 4.0);
}

TEST(MarkerScript, LoadsSortedAndReportsLineNumbers) {
  const auto dir = std::filesystem::temp_directory_path();
  const auto good = dir / "glutescope_markers_good.txt";
  const auto bad = dir / "glutescope_markers_bad.txt";
  std::ofstream(good) << "# session plan\n2.5 stop\n\n0.5 start bridge\n1 note hello world\n";
  std::ofstream(bad) << "0.5 start bridge\nsoon stop\n";
  const auto script = load_marker_script(good.string());
  ASSERT_EQ(script.size(), 3u);
  EXPECT_DOUBLE_EQ(script[0].time_s, 0.5);
  EXPECT_EQ(script[0].command.exercise, Exercise::bridge);
  EXPECT_DOUBLE_EQ(script[1].time_s, 1.0);
  EXPECT_EQ(script[1].command.text, "hello world");
  EXPECT_EQ(script[2].command.verb, MarkerCommand::Verb::stop);
  try {
    load_marker_script(bad.string());
    FAIL() << "bad script accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(":2:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_marker_script((dir / "glutescope_no_such_script.txt").string()), std::runtime_error);
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

}  // namespace
}  // namespace glutescope::pipeline

namespace glutescope::pipeline {
namespace {

Event set_event(double t, EventKind kind, Exercise exercise, bool device, Muscle muscle = Muscle::other,
                Side side = Side::unknown) {
  Event e;
  e.time_s = t;
  e.kind = kind;
  e.exercise = exercise;
  e.muscle = muscle;
  e.side = side;
  if (device) e.text = std::string(kDeviceSetEventText);
  return e;
}

std::vector<double> times_of(const std::vector<Event>& events) {
  std::vector<double> t;
  for (const Event& e : events) t.push_back(e.time_s);
  return t;
}

TEST(SetsForAnalysis, DeviceSetsWinOverOverlappingOperatorSetsAndOthersAreKept) {
  using K = EventKind;
  std::vector<Event> events = {
      // Operator MVC trial (keyboard) that no device set overlaps: kept.
      set_event(1.0, K::set_start, Exercise::mvc, false, Muscle::gluteus_maximus, Side::left),
      set_event(4.0, K::set_stop, Exercise::mvc, false, Muscle::gluteus_maximus, Side::left),
      // The same bridge set marked twice: device 10.0-40.0, operator 10.3-40.4 (pressed a little late).
      set_event(10.0, K::set_start, Exercise::bridge, true),
      set_event(10.3, K::set_start, Exercise::bridge, false),
      set_event(40.0, K::set_stop, Exercise::bridge, true),
      set_event(40.4, K::set_stop, Exercise::bridge, false),
      // A note and an operator stop with nothing open inside the device's open clamshell set: the note is
      // kept.
      set_event(50.0, K::set_start, Exercise::clamshell, true),
      set_event(55.0, K::note, Exercise::clamshell, false),
      set_event(56.0, K::set_stop, Exercise::clamshell, false),
  };
  const std::vector<Event> kept = sets_for_analysis(events);
  EXPECT_EQ(times_of(kept), (std::vector<double>{1.0, 4.0, 10.0, 40.0, 50.0, 55.0}));
  EXPECT_EQ(kept[0].exercise, Exercise::mvc);
  EXPECT_FALSE(is_device_set_event(kept[0]));
  EXPECT_TRUE(is_device_set_event(kept[2]));
  EXPECT_EQ(kept[5].kind, EventKind::note);
}

TEST(SetsForAnalysis, WithoutDeviceSetsOperatorSetsAreUsedAsTheyAre) {
  std::vector<Event> events = {set_event(2.0, EventKind::set_start, Exercise::bridge, false),
                               set_event(9.0, EventKind::set_stop, Exercise::bridge, false)};
  EXPECT_EQ(times_of(sets_for_analysis(events)), (std::vector<double>{2.0, 9.0}));
}

TEST(SetTracker, OperatorTextNeverPosesAsTheDeviceTag) {
  SetTracker sets;
  std::vector<Event> events;
  sets.apply(parse_marker_command("start bridge"), 1.0, events);
  sets.apply(parse_marker_command(std::string("stop ") + std::string(kDeviceSetEventText)), 2.0, events);
  ASSERT_EQ(events.size(), 2u);
  for (const Event& e : events) EXPECT_FALSE(is_device_set_event(e)) << e.text;
  EXPECT_EQ(events[1].text, "operator: device");
}

}  // namespace
}  // namespace glutescope::pipeline
