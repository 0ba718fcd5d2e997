#include <gtest/gtest.h>

#include "pipeline/link_supervisor.hpp"

namespace glutescope::pipeline {
namespace {

TEST(LinkSupervisor, StallThenBackoffThenReconnectGivesOneOutage) {
  LinkSupervisor link(LinkSettings{2.0, 0.1, 0.4});
  EXPECT_TRUE(link.open_due(0.0));
  link.on_opened(0.0);
  EXPECT_FALSE(link.on_data(0.1));  // first data: not a reconnect
  EXPECT_EQ(link.state(), LinkSupervisor::State::streaming);
  EXPECT_FALSE(link.stalled(2.0));
  EXPECT_TRUE(link.stalled(2.1));
  EXPECT_TRUE(link.on_closed(2.1));  // outage starts
  EXPECT_EQ(link.state(), LinkSupervisor::State::lost);
  EXPECT_FALSE(link.open_due(2.15));
  EXPECT_TRUE(link.open_due(2.2));
  link.on_open_failed(2.2);  // next after 0.2
  EXPECT_NEAR(link.next_open_s(), 2.4, 1e-12);
  link.on_open_failed(2.4);  // next after 0.4 (cap)
  EXPECT_NEAR(link.next_open_s(), 2.8, 1e-12);
  link.on_open_failed(2.8);  // capped at 0.4
  EXPECT_NEAR(link.next_open_s(), 3.2, 1e-12);
  link.on_opened(3.2);
  EXPECT_EQ(link.state(), LinkSupervisor::State::lost);  // open but no data yet
  EXPECT_TRUE(link.stalled(5.2));  // reopened port stays silent: close again, same outage
  EXPECT_FALSE(link.on_closed(5.2));
  link.on_opened(5.6);
  EXPECT_TRUE(link.on_data(5.7));  // outage over
  EXPECT_DOUBLE_EQ(link.outage_started_s(), 2.1);
  EXPECT_EQ(link.state(), LinkSupervisor::State::streaming);
  EXPECT_TRUE(link.on_closed(9.0));  // backoff reset to the first delay after success
  EXPECT_NEAR(link.next_open_s(), 9.1, 1e-12);
}

TEST(LinkSupervisor, ClosingBeforeAnyDataIsNoOutage) {
  LinkSupervisor link;
  link.on_opened(0.0);
  EXPECT_FALSE(link.on_closed(0.5));
  EXPECT_FALSE(link.on_data(1.0));
}

TEST(LinkSupervisor, RejectsBadSettings) {
  EXPECT_THROW(LinkSupervisor(LinkSettings{0.0, 0.1, 2.0}), std::invalid_argument);
  EXPECT_THROW(LinkSupervisor(LinkSettings{2.0, 0.0, 2.0}), std::invalid_argument);
  EXPECT_THROW(LinkSupervisor(LinkSettings{2.0, 1.0, 0.5}), std::invalid_argument);
}

}  // namespace
}  // namespace glutescope::pipeline
