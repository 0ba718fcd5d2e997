// Small file helpers shared by tests: a fresh per-process temporary folder and whole-file reads.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace glutescope::test {

// A new empty folder under the system temporary folder, unique per test process.
inline std::filesystem::path fresh_temp_dir(const std::string& prefix, const std::string& name) {
  const auto d =
      std::filesystem::temp_directory_path() / (prefix + "-" + name + "-" + std::to_string(::getpid()));
  std::filesystem::remove_all(d);
  std::filesystem::create_directories(d);
  return d;
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace glutescope::test
