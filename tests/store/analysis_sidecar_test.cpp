// The analysis sidecar's HDF5 layer (store/analysis_sidecar.hpp) against real files: round trip of every
// value type, identical bytes for identical images, numeric format versions, and a reader that refuses a
// dataset of the wrong rank, shape or element type, or one that claims more values than it stores, before
// allocating for it. Files are altered with the HDF5 C API (independent of the reader under test).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "session_fixture.hpp"
#include "store/analysis_sidecar.hpp"
#include "store/hdf5_handle.hpp"
#include "support/files.hpp"

namespace glutescope::store {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using Shape = std::vector<std::optional<std::uint64_t>>;

SidecarImage sample_image() {
  SidecarImage img;
  img.root_attributes = {{"settings_toml", "[emg]\n"}, {"emg_gap_samples", std::uint64_t{7}}};
  img.dataset("warnings", {2}, std::vector<std::string>{"one", "two ü"});
  img.group("sets").attributes = {{"rate_hz", 12.5}, {"unit", "uV"}};
  img.dataset("sets/start_s", {3, 1}, std::vector<double>{0.5, 1.5, NAN});
  img.dataset("sets/status", {3, 1}, std::vector<std::uint8_t>{0, 1, 3});
  img.dataset("sets/counts", {3, 2, 4}, std::vector<std::uint32_t>(24, 9)).attributes = {{"states", "a,b"}};
  img.group("sets/inner");
  img.dataset("sets/inner/envelope", {2, 2}, std::vector<float>{1.f, 2.f, 3.f, 4.f});
  img.dataset("sets/empty", {0, 1}, std::vector<double>{});
  return img;
}

// Rewrites the root attribute `name` of an existing file with HDF5 directly.
void set_root_string(const std::filesystem::path& path, const std::string& name, const std::string& value) {
  const Hdf5Where w{path.string(), "/"};
  FileHandle f(checked(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "open", w));
  write_string_attribute(f.get(), name, value, w);
}

// Adds a 1-D dataset of `dims` doubles whose storage is never written (HDF5 allocates it late).
void add_unwritten_dataset(const std::filesystem::path& path, const std::string& name, hsize_t dims) {
  const Hdf5Where w{path.string(), "/" + name};
  FileHandle f(checked(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "open", w));
  DataspaceHandle space(checked(H5Screate_simple(1, &dims, nullptr), "space", w));
  PropListHandle dcpl(checked(H5Pcreate(H5P_DATASET_CREATE), "dcpl", w));
  check_status(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_LATE), "alloc time", w);
  DatasetHandle ds(checked(
      H5Dcreate2(f.get(), name.c_str(), H5T_NATIVE_DOUBLE, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "create", w));
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(AnalysisSidecar, EveryValueTypeReadsBackWithItsShape) {
  TempDir dir;
  write_sidecar(sample_image(), dir / "a.analysis.h5");
  EXPECT_FALSE(std::filesystem::exists(dir / "a.analysis.h5.tmp")) << "temporary file left behind";
  const SidecarReader in(dir / "a.analysis.h5");
  EXPECT_EQ(in.format_version(), (FormatVersion{kAnalysisFormatMajor, kAnalysisFormatMinor}));
  EXPECT_EQ(in.string_attribute("", "settings_toml"), "[emg]\n");
  EXPECT_EQ(in.u64_attribute("", "emg_gap_samples"), 7u);
  EXPECT_EQ(in.f64_attribute("sets", "rate_hz"), 12.5);
  EXPECT_EQ(in.string_attribute("sets/counts", "states"), "a,b");
  EXPECT_EQ(in.read<std::string>("warnings", {kAnyExtent}).values,
            (std::vector<std::string>{"one", "two ü"}));
  const auto start = in.read<double>("sets/start_s", {3, 1});
  EXPECT_EQ(start.shape, (std::vector<std::uint64_t>{3, 1}));
  EXPECT_EQ(start.values[1], 1.5);
  EXPECT_TRUE(std::isnan(start.values[2]));
  EXPECT_EQ(in.read<std::uint8_t>("sets/status", {kAnyExtent, 1}).values,
            (std::vector<std::uint8_t>{0, 1, 3}));
  EXPECT_EQ(in.read<std::uint32_t>("sets/counts", {3, 2, 4}).values, std::vector<std::uint32_t>(24, 9));
  EXPECT_EQ(in.read<float>("sets/inner/envelope", {2, 2}).values, (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
  EXPECT_TRUE(in.read<double>("sets/empty", {0, 1}).values.empty());
}

TEST(AnalysisSidecar, SameImageGivesTheSameBytes) {
  TempDir dir;
  write_sidecar(sample_image(), dir / "a.h5");
  write_sidecar(sample_image(), dir / "b.h5");
  const std::string a = glutescope::test::slurp(dir / "a.h5");
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == glutescope::test::slurp(dir / "b.h5")) << "sidecar bytes depend on more than the image";
}

TEST(AnalysisSidecar, FormatVersionsCompareAsNumbers) {
  EXPECT_GT(parse_format_version("10.0"), parse_format_version("2.0"));
  EXPECT_GT(parse_format_version("2.10"), parse_format_version("2.9"));
  EXPECT_EQ(parse_format_version("2.0"), (FormatVersion{2, 0}));
  for (const char* bad : {"", "2", "2.", ".1", "a.b", "-1.0", "2.0.1", " 2.0", "99999.0"}) {
    EXPECT_THROW((void)parse_format_version(bad), std::invalid_argument) << bad;
  }
}

TEST(AnalysisSidecar, OtherMajorVersionsAreRefusedByNumberNotText) {
  TempDir dir;
  const auto path = dir / "v.analysis.h5";
  write_sidecar(sample_image(), path);
  set_root_string(path, "format_version", "10.0");  // "10.0" < "2.0" as text: must still read as newer
  EXPECT_THAT(error_of([&] { SidecarReader in(path); }), HasSubstr("10.0 is newer than"));
  set_root_string(path, "format_version", "1.9");
  EXPECT_THAT(error_of([&] { SidecarReader in(path); }), HasSubstr("re-run glutescope analyze"));
  set_root_string(path, "format_version", "2.7");  // a later minor only adds objects
  EXPECT_NO_THROW(SidecarReader in(path));
  set_root_string(path, "format_version", "two");
  EXPECT_THAT(error_of([&] { SidecarReader in(path); }), HasSubstr("v.analysis.h5: format version 'two'"));
  set_root_string(path, "format", "something-else");
  EXPECT_THAT(error_of([&] { SidecarReader in(path); }), HasSubstr("not a glutescope analysis file"));
}

TEST(AnalysisSidecar, ReaderChecksRankShapeAndTypeBeforeUse) {
  TempDir dir;
  const auto path = dir / "s.analysis.h5";
  write_sidecar(sample_image(), path);
  const SidecarReader in(path);
  EXPECT_THAT(error_of([&] { (void)in.read<double>("sets/start_s", {3}); }),
              HasSubstr("/sets/start_s has rank 2, expected 1"));
  EXPECT_THAT(error_of([&] {
                (void)in.read<double>("sets/start_s", {4, 1});
              }),
              HasSubstr("/sets/start_s has shape [3 x 1], expected [4 x 1]"));
  EXPECT_THAT(error_of([&] {
                (void)in.read<std::uint8_t>("sets/start_s", {3, 1});
              }),
              HasSubstr("does not hold unsigned 8-bit integers"));
  EXPECT_THAT(error_of([&] { (void)in.read<float>("sets/start_s", {3, 1}); }), HasSubstr("32-bit floats"));
  EXPECT_THAT(error_of([&] { (void)in.read<std::string>("sets/status", {3, 1}); }), HasSubstr("strings"));
  EXPECT_THAT(error_of([&] { (void)in.read<double>("warnings", {2}); }), HasSubstr("64-bit floats"));
  EXPECT_THAT(error_of([&] { (void)in.read<double>("sets/nope", {1}); }),
              HasSubstr("s.analysis.h5: missing dataset /sets/nope"));
  EXPECT_THAT(error_of([&] { (void)in.u64_attribute("sets", "rate_hz"); }), HasSubstr("/sets@rate_hz"));
  EXPECT_THAT(error_of([&] { (void)in.string_attribute("", "nope"); }),
              HasSubstr("missing attribute /@nope"));
}

TEST(AnalysisSidecar, ExtentBeyondTheStoredBytesIsRefusedWithoutAllocating) {
  TempDir dir;
  const auto path = dir / "big.analysis.h5";
  write_sidecar(sample_image(), path);
  add_unwritten_dataset(path, "huge", hsize_t{1} << 40);  // 8 TiB if it were allocated
  const SidecarReader in(path);
  EXPECT_THAT(error_of([&] { (void)in.read<double>("huge", {kAnyExtent}); }),
              HasSubstr("/huge claims 1099511627776 values but stores 0 bytes"));
}

TEST(AnalysisSidecar, InconsistentImageIsRefusedAndLeavesNoFile) {
  TempDir dir;
  SidecarImage img;
  img.dataset("x", {3, 2}, std::vector<double>{1.0});
  EXPECT_THAT(error_of([&] { write_sidecar(img, dir / "x.h5"); }),
              HasSubstr("shape holds 6 values, image has 1"));
  SidecarImage orphan;
  orphan.dataset("g/x", {1}, std::vector<double>{1.0});
  EXPECT_THAT(error_of([&] { write_sidecar(orphan, dir / "x.h5"); }), HasSubstr("parent group"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

}  // namespace
}  // namespace glutescope::store
