// A researcher's view: tests/store/check_session.py opens a session with h5py (no glutescope code) and checks
// the documented layout, dtypes, attributes and values against its own implementation of the test signal.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "session_fixture.hpp"

namespace glutescope::store {
namespace {

TEST(H5pyLayout, ReferenceSessionMatchesTheDocumentedFormat) {
  testing::TempDir dir;
  SessionWriterOptions options;
  options.chunk_duration_s = 0.25;
  options.deflate_level = 1;  // the compressed variant must read the same in h5py
  testing::write_reference_session(dir / "session.h5", options);
  const std::string command = std::string(GLUTESCOPE_SYSTEM_PYTHON) + " " + GLUTESCOPE_SOURCE_DIR +
                              "/tests/store/check_session.py " + (dir / "session.h5").string() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int status = ::pclose(pipe);
  ASSERT_TRUE(WIFEXITED(status)) << output;
  EXPECT_EQ(WEXITSTATUS(status), 0) << command << "\n" << output;
}

}  // namespace
}  // namespace glutescope::store
