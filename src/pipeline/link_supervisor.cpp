#include "pipeline/link_supervisor.hpp"

#include <algorithm>
#include <stdexcept>

namespace glutescope::pipeline {

LinkSupervisor::LinkSupervisor(LinkSettings settings)
    : settings_(settings), backoff_s_(settings.retry_initial_s) {
  if (!(settings_.stall_timeout_s > 0.0)) throw std::invalid_argument("stall timeout must be > 0 s");
  if (!(settings_.retry_initial_s > 0.0)) throw std::invalid_argument("retry delay must be > 0 s");
  if (settings_.retry_max_s < settings_.retry_initial_s) {
    throw std::invalid_argument("retry cap must be >= the first retry delay");
  }
}

void LinkSupervisor::on_opened(double now_s) noexcept {
  port_open_ = true;
  opened_at_s_ = now_s;
  last_data_s_ = now_s;
  if (state_ == State::connecting) state_ = State::connected;
  // A reopened port during an outage stays `lost` until data flows again.
}

void LinkSupervisor::on_open_failed(double now_s) noexcept {
  port_open_ = false;
  next_open_s_ = now_s + backoff_s_;
  backoff_s_ = std::min(backoff_s_ * 2.0, settings_.retry_max_s);
}

bool LinkSupervisor::on_data(double now_s) noexcept {
  last_data_s_ = now_s;
  ever_streamed_ = true;
  const bool ends_outage = in_outage_;
  in_outage_ = false;
  state_ = State::streaming;
  backoff_s_ = settings_.retry_initial_s;
  return ends_outage;
}

bool LinkSupervisor::on_closed(double now_s) noexcept {
  port_open_ = false;
  next_open_s_ = now_s + backoff_s_;
  backoff_s_ = std::min(backoff_s_ * 2.0, settings_.retry_max_s);
  if (in_outage_ || !ever_streamed_) {
    if (state_ != State::lost) state_ = State::connecting;
    return false;
  }
  in_outage_ = true;
  outage_started_s_ = now_s;
  state_ = State::lost;
  return true;
}

bool LinkSupervisor::stalled(double now_s) const noexcept {
  return port_open_ && now_s - last_data_s_ >= settings_.stall_timeout_s;
}

bool LinkSupervisor::open_due(double now_s) const noexcept { return !port_open_ && now_s >= next_open_s_; }

}  // namespace glutescope::pipeline
