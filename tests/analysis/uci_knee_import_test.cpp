// Issue 13 deliverable 4: the UCI lower-limb recordings imported as other:knee_extension (seated) and
// other:knee_flexion (standing) with the goniometer FX as the knee angle give one repetition per movement.
// tests/analysis/uci_knee_import.py does the import and analysis with the glutescope binary and counts the
// movements independently from FX (scipy.signal.find_peaks; the method is in its docstring).
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/files.hpp"

namespace fs = std::filesystem;

TEST(UciKneeImport, OneRepetitionPerGoniometerMovement) {
  const fs::path data =
      fs::path(GLUTESCOPE_SOURCE_DIR) / ".." / "shared" / "datasets-real" / "uci_lower_limb_subset";
  ASSERT_TRUE(fs::exists(data / "1Nsen.txt"))
      << "the real recordings are expected beside the clone: " << data.string();
  const fs::path work = glutescope::test::make_temp_dir("gs-uci-import");
  const std::string cmd = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + GLUTESCOPE_SOURCE_DIR +
                          "/tests/analysis/uci_knee_import.py --glutescope " +
                          glutescope::test::glutescope_binary() + " --data " + data.string() + " --work " +
                          work.string() + " --tolerance 0";
  const int status = std::system(cmd.c_str());
  EXPECT_EQ(status, 0) << cmd;
  fs::remove_all(work);
}
