// Unit tests of the web module's pure parts: bind parsing, loopback detection, the trace frame encoding
// (decoded here independently, byte by byte), the traffic light rule and the asset table.
#include <cstring>

#include <gtest/gtest.h>

#include "web/live_feed.hpp"
#include "web/web_server.hpp"

namespace glutescope::web {
namespace {

TEST(WebBind, ParsesPortAddressAndDefault) {
  EXPECT_EQ(parse_bind(""), std::make_pair(std::string("127.0.0.1"), static_cast<unsigned short>(8080)));
  EXPECT_EQ(parse_bind("9000"), std::make_pair(std::string("127.0.0.1"), static_cast<unsigned short>(9000)));
  EXPECT_EQ(parse_bind("0.0.0.0:0"), std::make_pair(std::string("0.0.0.0"), static_cast<unsigned short>(0)));
  EXPECT_EQ(parse_bind("[::1]:81"), std::make_pair(std::string("::1"), static_cast<unsigned short>(81)));
  for (const char* bad : {"70000", "host:", ":80", "80a", "1.2.3.4:123456", "x:-1"}) {
    EXPECT_THROW(parse_bind(bad), std::invalid_argument) << bad;
  }
}

TEST(WebBind, LoopbackOnlyForLoopbackAddresses) {
  EXPECT_TRUE(is_loopback("127.0.0.1"));
  EXPECT_TRUE(is_loopback("127.3.2.1"));
  EXPECT_TRUE(is_loopback("::1"));
  EXPECT_TRUE(is_loopback("localhost"));
  EXPECT_FALSE(is_loopback("0.0.0.0"));
  EXPECT_FALSE(is_loopback("192.168.1.10"));
  EXPECT_FALSE(is_loopback("::"));
  EXPECT_FALSE(is_loopback("not an address"));
}

TEST(WebServer, NonLoopbackWithoutTokenIsRefused) {
  WebServerSettings s;
  s.address = "0.0.0.0";
  s.port = 0;
  EXPECT_THROW(WebServer(s, nullptr, nullptr), std::invalid_argument);
  s.token = make_token();
  EXPECT_EQ(s.token.size(), 32u);
  WebServer server(s, nullptr, nullptr);
  EXPECT_GT(server.port(), 0);
  EXPECT_NE(server.url().find("?token=" + s.token), std::string::npos);
}

TEST(WebAssets, PageAndUplotAreEmbeddedAndLookupIsExact) {
  ASSERT_NE(find_asset("/"), nullptr);
  EXPECT_EQ(find_asset("/")->path, "/index.html");
  ASSERT_NE(find_asset("/uPlot.esm.js"), nullptr);
  EXPECT_GT(find_asset("/uPlot.esm.js")->bytes.size(), 10000u);
  EXPECT_EQ(find_asset("/index.html/"), nullptr);
  EXPECT_EQ(find_asset("/../index.html"), nullptr);
  EXPECT_EQ(find_asset("index.html"), nullptr);
}

template <typename T>
T read_at(const std::string& s, std::size_t at) {
  T v;
  std::memcpy(&v, s.data() + at, sizeof(T));
  return v;
}

TEST(WebFeed, TraceFrameLayout) {
  pipeline::LiveTraceColumns cols;
  cols.first_column = 77;
  cols.column_samples = 20;
  cols.channels = 2;
  cols.min_uv = {-1.f, -2.f, -3.f, -4.f};
  cols.max_uv = {1.f, 2.f, 3.f, 4.f};
  cols.rms_uv = {0.5f, 0.25f, 0.125f, 2.f};
  const std::string f = encode_columns(cols, 1234.5);
  ASSERT_EQ(f.size(), 24u + 2 * 2 * 12);
  EXPECT_EQ(f.substr(0, 4), "GSC1");
  EXPECT_EQ(read_at<std::uint32_t>(f, 4), 77u);
  EXPECT_EQ(read_at<std::uint16_t>(f, 8), 2u);
  EXPECT_EQ(read_at<std::uint16_t>(f, 10), 2u);
  EXPECT_EQ(read_at<std::uint32_t>(f, 12), 20u);
  EXPECT_EQ(read_at<double>(f, 16), 1234.5);
  // Column 1, channel 0: min -3, max 3, rms 0.125.
  const std::size_t at = 24 + (1 * 2 + 0) * 12;
  EXPECT_EQ(read_at<float>(f, at), -3.f);
  EXPECT_EQ(read_at<float>(f, at + 4), 3.f);
  EXPECT_EQ(read_at<float>(f, at + 8), 0.125f);
}

TEST(WebFeed, TrafficLight) {
  using exercise::VerdictState;
  exercise::RepScore r;
  r.verdicts.glute_fired.state = VerdictState::yes;
  EXPECT_EQ(traffic_light(r), "green");
  r.verdicts.late_glute.state = VerdictState::yes;
  EXPECT_EQ(traffic_light(r), "amber");
  r.verdicts.lumbar_dominant.state = VerdictState::yes;
  EXPECT_EQ(traffic_light(r), "red");
  exercise::RepScore not_fired;
  not_fired.verdicts.glute_fired.state = VerdictState::no;
  EXPECT_EQ(traffic_light(not_fired), "red");
  exercise::RepScore unknown;  // glute_fired not available
  EXPECT_EQ(traffic_light(unknown), "amber");
  unknown.valid = false;
  EXPECT_EQ(traffic_light(unknown), "grey");
}

TEST(WebFeed, ControlMessagesReachTheMarkerInbox) {
  pipeline::RemoteCommands commands;
  LiveFeed feed(&commands);
  const auto reply = nlohmann::json::parse(feed.handle({{"type", "control"}, {"command", "start bridge"}}));
  EXPECT_TRUE(reply["ok"].get<bool>());
  const auto bad = nlohmann::json::parse(feed.handle({{"type", "control"}, {"command", "start yoga"}}));
  EXPECT_FALSE(bad["ok"].get<bool>());
  EXPECT_THROW(feed.handle({{"type", "shutdown"}}), std::invalid_argument);
  EXPECT_THROW(feed.handle({{"type", "control"}, {"command", 3}}), std::invalid_argument);
  const std::vector<pipeline::TimedCommand> taken = commands.take();
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].command.verb, pipeline::MarkerCommand::Verb::start);
  EXPECT_EQ(taken[0].command.exercise, Exercise::bridge);
  for (std::size_t i = 0; i < pipeline::RemoteCommands::kCapacity; ++i)
    EXPECT_TRUE(commands.submit(pipeline::parse_marker_command("note x")));
  EXPECT_FALSE(commands.submit(pipeline::parse_marker_command("note x")));  // bounded
}

}  // namespace
}  // namespace glutescope::web
