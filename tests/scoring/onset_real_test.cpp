// Runs tools/bench/onset_real_data.py (Debian's python3, numpy and scipy only) on the UCI lower-limb
// recordings in ../shared/datasets-real/uci_lower_limb_subset (beside the clone, as in CI). The script
// prints the per-subject and pooled tables of docs/VALIDATION.md "Real recordings" and exits non-zero when a
// target it is asked to check is missed. This test checks all four issue-14 targets, pooled over the four
// subjects: >= 85 % of repetitions with an onset within +-300 ms of movement onset or flagged, at most 5 %
// flagged, no onset pinned at a window edge, at most 5 spurious onsets per minute.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace fs = std::filesystem;

TEST(OnsetRealData, UciLowerLimbOnsetsMeetTheFourTargetsOfIssue14) {
  const fs::path data =
      fs::path(GLUTESCOPE_SOURCE_DIR) / ".." / "shared" / "datasets-real" / "uci_lower_limb_subset";
  ASSERT_TRUE(fs::exists(data / "1Nsen.txt"))
      << "the real recordings are expected beside the clone: " << data.string();
  const std::string cmd = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + GLUTESCOPE_SOURCE_DIR +
                          "/tools/bench/onset_real_data.py --driver " + ONSET_REAL_DRIVER + " --data " +
                          data.string() + " --check";
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(status, 0) << cmd;
}
