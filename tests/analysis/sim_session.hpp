// Test helper: a simulated session (tools/simulator, with ground truth) written to a real v1 session file
// through the store's SessionWriter, as the recorder would.
#pragma once

#include <filesystem>
#include <string>

#include "simulator/session.hpp"
#include "store/session_writer.hpp"

namespace glutescope::test {

inline sim::SimulatedSession write_simulated_session(
    const std::filesystem::path& path, const sim::SimulatorSettings& s, const std::string& subject = "S001",
    const std::string& start_time = "2024-01-01T10:00:00+00:00") {
  sim::SimulatedSession session = sim::simulate(s);
  store::SessionWriterOptions o;
  o.force = true;
  o.journal = false;
  o.session_start_time = start_time;  // fixed by default: identical inputs give identical files
  store::SessionWriter writer(path, session.device_info, session.montage, subject, o);
  for (const EmgBlock& b : session.emg) writer.append(b);
  for (const ImuBlock& b : session.imu) writer.append(b);
  for (const Event& e : session.events) writer.add_event(e);
  writer.close();
  return session;
}

}  // namespace glutescope::test
