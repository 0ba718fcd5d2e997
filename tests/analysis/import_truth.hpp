// Test helpers shared by the import tests: the simulator's set markers as import event labels, and the
// comparison of an imported (or re-annotated) set's reps with the native session's.
#pragma once

#include <cstddef>
#include <string>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "core/montage.hpp"
#include "core/session_types.hpp"
#include "exercise/session_analysis.hpp"

namespace glutescope::test {

// The set and MVC markers as labels of the import's event vocabulary (store/import_motion.hpp); empty for
// other events.
inline std::string marker_label(const Event& e) {
  if (e.kind == EventKind::set_start && e.exercise == Exercise::mvc)
    return fmt::format("mvc_start:{}:{}", to_string(e.muscle), to_string(e.side));
  if (e.kind == EventKind::set_start) return fmt::format("set_start:{}", to_string(e.exercise));
  if (e.kind == EventKind::set_stop) return e.exercise == Exercise::mvc ? "mvc_stop" : "set_stop";
  return {};
}

// Same rep count, boundaries within `tolerance_s`, identical verdict states.
inline void expect_same_reps(const exercise::SetAnalysis& got, const exercise::SetAnalysis& want,
                             double tolerance_s) {
  ASSERT_EQ(got.reps.size(), want.reps.size());
  for (std::size_t k = 0; k < want.reps.size(); ++k) {
    EXPECT_NEAR(got.reps[k].start_s, want.reps[k].start_s, tolerance_s) << k;
    EXPECT_NEAR(got.reps[k].end_s, want.reps[k].end_s, tolerance_s) << k;
    for (std::size_t v = 0; v < exercise::kVerdictCount; ++v) {
      EXPECT_EQ(exercise::verdict_at(got.reps[k].verdicts, v).state,
                exercise::verdict_at(want.reps[k].verdicts, v).state)
          << k << " " << exercise::kVerdictNames[v];
    }
  }
}

}  // namespace glutescope::test
