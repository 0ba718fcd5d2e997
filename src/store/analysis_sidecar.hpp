// The analysis sidecar FILE.analysis.h5 on disk (layout: docs/SESSION_FORMAT.md, "Analysis sidecar"), in
// plain types: the store knows HDF5, not the exercise module's results. pipeline/analysis_file.cpp maps an
// analysis result to a SidecarImage and back.
//
// Writing: write_sidecar() creates the objects in the image's order with no modification times, so the
// same image gives the same bytes (bit-identical reruns, --jobs N == --jobs 1). It writes
// `<out>.tmp-<pid>-<thread>` and renames it onto `out` (atomic within a file system), so a reader sees the
// previous complete file or the new one, never a partial one; a failed write removes its temporary file.
//
// Reading: the file is untrusted. SidecarReader checks the format name and the numeric format version when
// it opens, and every read checks the dataset's rank, shape and element type against what the caller
// expects before allocating; the element count is bounded by the bytes the dataset actually stores.
//
// Threading: any thread; one SidecarReader or write per file at a time (HDF5 is the thread-safe build).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace glutescope::store {

inline constexpr std::string_view kAnalysisFormatName = "glutescope-analysis";
inline constexpr int kAnalysisFormatMajor = 2;  // readers accept 2.x; x only adds objects
// 2.1: reps/onset_state, sets/onset_baseline_* (issue 14); 2.2: sets/motion_source, sets/motion_detail,
// sets/exercise_name (issue 13)
inline constexpr int kAnalysisFormatMinor = 2;
inline constexpr std::string_view kAnalysisSuffix = ".analysis.h5";

// FILE.h5 → FILE.analysis.h5 (any other name: NAME.analysis.h5).
std::filesystem::path analysis_path_for(const std::filesystem::path& session_path);

// A format version "MAJOR.MINOR" as numbers ("10.0" > "2.0"). Throws std::invalid_argument for anything
// else (signs, spaces, missing or extra parts, values over 9999).
struct FormatVersion {
  int major = 0;
  int minor = 0;
  friend auto operator<=>(const FormatVersion&, const FormatVersion&) = default;
};
FormatVersion parse_format_version(std::string_view text);

// Element values of one dataset, row-major.
using SidecarValues = std::variant<std::vector<std::uint8_t>, std::vector<std::uint32_t>, std::vector<double>,
                                   std::vector<float>, std::vector<std::string>>;
using SidecarAttributeValue = std::variant<std::string, std::uint64_t, double>;

struct SidecarAttribute {
  std::string name;
  SidecarAttributeValue value;
};

// A group (shape empty, values unused) or a dataset, at `path` below the root ("sets/start_s").
struct SidecarObject {
  std::string path;
  bool is_group = false;
  std::vector<std::uint64_t> shape;  // datasets: rank 1-3, product = number of values
  SidecarValues values;
  std::vector<SidecarAttribute> attributes;
};

// Everything a sidecar holds, in creation order. `format` and `format_version` are written by
// write_sidecar, before root_attributes.
struct SidecarImage {
  std::vector<SidecarAttribute> root_attributes;
  std::vector<SidecarObject> objects;  // a group is listed before anything inside it

  SidecarObject& group(std::string path);
  SidecarObject& dataset(std::string path, std::vector<std::uint64_t> shape, SidecarValues values);
};

// Throws store::Hdf5Error (or std::invalid_argument for an inconsistent image) naming the file.
void write_sidecar(const SidecarImage& image, const std::filesystem::path& out);

// A dataset read back with its shape.
template <typename T>
struct SidecarArray {
  std::vector<std::uint64_t> shape;
  std::vector<T> values;
};

// Any extent: the dimension is taken from the file (bounded by the stored bytes).
inline constexpr std::optional<std::uint64_t> kAnyExtent = std::nullopt;

// The settings TOML a sidecar of any format version was made with (attribute settings_toml), so that a
// stale or older sidecar can be replaced by an analysis with the same settings. Throws std::runtime_error
// naming the path for a missing, non-HDF5 or foreign file or a missing attribute.
std::string sidecar_settings_toml(const std::filesystem::path& path);

class SidecarReader {
 public:
  // Throws std::runtime_error naming the path for a missing, non-HDF5 or foreign file, a version it cannot
  // read (older: "re-run glutescope analyze"; newer: "newer than this glutescope").
  explicit SidecarReader(const std::filesystem::path& path);
  ~SidecarReader();
  SidecarReader(const SidecarReader&) = delete;
  SidecarReader& operator=(const SidecarReader&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept;
  [[nodiscard]] FormatVersion format_version() const noexcept;

  // Attribute `name` of the object at `path` ("" = root). Throws naming the file, object and attribute
  // when missing or of another type.
  [[nodiscard]] std::string string_attribute(const std::string& path, const std::string& name) const;
  [[nodiscard]] std::uint64_t u64_attribute(const std::string& path, const std::string& name) const;
  [[nodiscard]] double f64_attribute(const std::string& path, const std::string& name) const;

  // The dataset at `path`, after checking that its rank is shape.size(), that every given extent matches
  // and that its element type is T's (unsigned integers of T's size, IEEE floats of T's size, or variable-
  // length strings for std::string). Throws std::runtime_error naming the file and dataset otherwise.
  template <typename T>
  [[nodiscard]] SidecarArray<T> read(const std::string& path,
                                     const std::vector<std::optional<std::uint64_t>>& shape) const;

 private:
  void check_version();  // the constructor's open and version check, inside its watch
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

extern template SidecarArray<std::uint8_t> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
extern template SidecarArray<std::uint32_t> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
extern template SidecarArray<double> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
extern template SidecarArray<float> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
extern template SidecarArray<std::string> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;

}  // namespace glutescope::store
