// File helpers shared by every test: one way to get a fresh temporary folder, and whole-file reads.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace glutescope::test {

// A new empty folder "glutescope-<name>-XXXXXX" under the system temporary folder (TMPDIR honoured),
// unique even across parallel test processes and repeated calls (mkdtemp). The caller removes it.
inline std::filesystem::path make_temp_dir(const std::string& name) {
  std::string templ = (std::filesystem::temp_directory_path() / ("glutescope-" + name + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  }
  return templ;
}

// make_temp_dir removed with its content at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& name = "test") : path_(make_temp_dir(name)) {}
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace glutescope::test
