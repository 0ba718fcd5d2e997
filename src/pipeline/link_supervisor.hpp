// Reconnect state machine for a transport that can vanish (USB unplugged, pty closed, BLE out of
// range) or go silent (device stalled, battery, firmware hang): research/acquisition.md §6 rule 6.
// Pure logic on a clock the caller passes in, so it is tested without ports or sleeps.
//
//   connecting ──open ok──▶ connected ──data──▶ streaming ──closed / no data for stall_timeout──▶ lost
//       ▲  └─open failed: retry after backoff (initial, ×2, capped)                                │
//       └──────────────────────────────────────────────────────────────────────────────────────────┘
//
// Threading contract: one thread (the acquisition thread).
#pragma once

#include <string>

namespace glutescope::pipeline {

struct LinkSettings {
  double stall_timeout_s = 2.0;  // no bytes for this long while open = stalled (s)
  double retry_initial_s = 0.1;  // first reopen delay after a loss (s)
  double retry_max_s = 2.0;      // backoff cap (s)
};
inline constexpr LinkSettings kDefaultLinkSettings{};

class LinkSupervisor {
 public:
  enum class State { connecting, connected, streaming, lost };

  // Throws std::invalid_argument for non-positive times or retry_max_s < retry_initial_s.
  explicit LinkSupervisor(LinkSettings settings = kDefaultLinkSettings);

  // The port opened at `now_s`.
  void on_opened(double now_s) noexcept;
  // An open attempt failed; the next one is due after the current backoff, which then doubles.
  void on_open_failed(double now_s) noexcept;
  // Bytes arrived. Returns true when this ends an outage (the caller records the reconnect).
  bool on_data(double now_s) noexcept;
  // The transport reported the peer gone. Returns true if this starts an outage (caller records
  // the disconnect; false while already lost, so a flapping port gives one event per outage).
  bool on_closed(double now_s) noexcept;
  // True if the port is open but silent for stall_timeout_s; the caller closes it and then calls on_closed.
  [[nodiscard]] bool stalled(double now_s) const noexcept;
  // Whether an open attempt is due now (state connecting or lost and the backoff has elapsed).
  [[nodiscard]] bool open_due(double now_s) const noexcept;
  [[nodiscard]] double next_open_s() const noexcept { return next_open_s_; }
  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool port_open() const noexcept { return port_open_; }
  // Whether data has ever flowed (a first connection that never streamed is not an outage).
  [[nodiscard]] bool ever_streamed() const noexcept { return ever_streamed_; }
  [[nodiscard]] double outage_started_s() const noexcept { return outage_started_s_; }

 private:
  LinkSettings settings_;
  State state_ = State::connecting;
  bool port_open_ = false;
  bool ever_streamed_ = false;
  bool in_outage_ = false;
  double last_data_s_ = 0.0;
  double opened_at_s_ = 0.0;
  double next_open_s_ = 0.0;
  double backoff_s_ = 0.0;
  double outage_started_s_ = 0.0;
};

}  // namespace glutescope::pipeline
