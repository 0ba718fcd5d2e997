// Loader for the scipy reference vectors written by tests/dsp/reference/generate.py.
#pragma once

#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glutescope::dsp::test {

class ReferenceVectors {
 public:
  ReferenceVectors() {
    const std::string dir = std::string(GLUTESCOPE_SOURCE_DIR) + "/tests/dsp/reference/";
    std::ifstream index(dir + "reference.json");
    if (!index) throw std::runtime_error("cannot open " + dir + "reference.json");
    index_ = nlohmann::json::parse(index);
    std::ifstream bin(dir + "reference.bin", std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(bin)), std::istreambuf_iterator<char>());
    data_.resize(bytes.size() / sizeof(double));
    std::memcpy(data_.data(), bytes.data(),
                data_.size() * sizeof(double));  // little-endian host assumed (x86)
  }

  [[nodiscard]] const nlohmann::json& entries() const { return index_.at("entries"); }
  [[nodiscard]] const nlohmann::json& params(const std::string& name) const {
    return entries().at(name).at("params");
  }

  [[nodiscard]] std::vector<double> get(const std::string& name) const {
    const auto& e = entries().at(name);
    std::size_t count = 1;
    for (const auto& d : e.at("shape")) count *= d.get<std::size_t>();
    const auto offset = e.at("offset").get<std::size_t>();
    if (offset + count > data_.size()) throw std::runtime_error("reference entry out of range: " + name);
    return {data_.begin() + static_cast<std::ptrdiff_t>(offset),
            data_.begin() + static_cast<std::ptrdiff_t>(offset + count)};
  }

 private:
  nlohmann::json index_;
  std::vector<double> data_;
};

inline const ReferenceVectors& reference() {
  static const ReferenceVectors vectors;
  return vectors;
}

}  // namespace glutescope::dsp::test
