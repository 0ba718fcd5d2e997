// Ground truth of a simulated session as JSON (schema in docs/SIMULATOR.md §Ground truth).
#pragma once

#include <nlohmann/json.hpp>

#include "simulator/session.hpp"

namespace glutescope::sim {

inline constexpr int kTruthSchemaVersion = 1;

nlohmann::json settings_to_json(const SimulatorSettings& settings);
nlohmann::json truth_to_json(const SimulatedSession& session);

}  // namespace glutescope::sim
