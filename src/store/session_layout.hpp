// Internal to src/store: names of groups/datasets of format v1 and the enum label maps written beside uint8
// columns. Documented in docs/SESSION_FORMAT.md; keep the two in step.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/session_types.hpp"

namespace glutescope::store::layout {

inline constexpr const char* kEmgGroup = "/acquisition/emg";
inline constexpr const char* kImuGroup = "/acquisition/imu";
inline constexpr const char* kAngleGroup = "/acquisition/angle";  // format 1.2, optional
inline constexpr const char* kChannels = "/general/channels";
inline constexpr const char* kImuSensors = "/general/imu_sensors";
inline constexpr const char* kDevice = "/general/device";
inline constexpr const char* kSubject = "/general/subject";
inline constexpr const char* kTimingFit = "/general/timing_fit";
inline constexpr const char* kStatistics = "/general/statistics";
inline constexpr const char* kEvents = "/intervals/events";
inline constexpr const char* kGaps = "/intervals/gaps";

using LabelMap = std::vector<std::pair<std::uint8_t, std::string>>;

LabelMap event_kind_labels();
LabelMap exercise_labels();
LabelMap muscle_labels();
LabelMap side_labels();
LabelMap stream_labels();

}  // namespace glutescope::store::layout
