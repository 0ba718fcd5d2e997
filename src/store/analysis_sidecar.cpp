#include "store/analysis_sidecar.hpp"

#include <unistd.h>

#include <charconv>
#include <functional>
#include <map>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include <fmt/format.h>

#include "store/hdf5_handle.hpp"
#include "store/hdf5_watchdog.hpp"

namespace glutescope::store {
namespace {

// Objects are created without modification times so that the same image gives the same bytes.
PropListHandle untimed(hid_t cls, const Hdf5Where& where) {
  PropListHandle p(checked(H5Pcreate(cls), "create property list for", where));
  check_status(H5Pset_obj_track_times(p.get(), false), "set untimed objects for", where);
  return p;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}
std::string leaf_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_attribute(hid_t object, const SidecarAttribute& a, const Hdf5Where& where) {
  if (const auto* s = std::get_if<std::string>(&a.value)) {
    write_string_attribute(object, a.name, *s, where);
  } else if (const auto* u = std::get_if<std::uint64_t>(&a.value)) {
    write_scalar_attribute<std::uint64_t>(object, a.name, *u, where);
  } else {
    write_scalar_attribute<double>(object, a.name, std::get<double>(a.value), where);
  }
}

std::size_t values_size(const SidecarValues& values) {
  return std::visit([](const auto& v) { return v.size(); }, values);
}

DatasetHandle write_dataset(hid_t parent, const SidecarObject& o, const Hdf5Where& where) {
  if (o.shape.empty() || o.shape.size() > 3) throw std::invalid_argument(where.object + ": rank must be 1-3");
  std::uint64_t count = 1;
  for (std::uint64_t d : o.shape) count *= d;
  if (count != values_size(o.values)) {
    throw std::invalid_argument(
        fmt::format("{}: shape holds {} values, image has {}", where.object, count, values_size(o.values)));
  }
  std::vector<hsize_t> dims(o.shape.begin(), o.shape.end());
  DataspaceHandle space(checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                "create dataspace for", where));
  PropListHandle dcpl = untimed(H5P_DATASET_CREATE, where);
  const std::string name = leaf_of(o.path);
  return std::visit(
      [&](const auto& values) {
        using T = typename std::decay_t<decltype(values)>::value_type;
        DatatypeHandle string_type;
        hid_t type = -1;
        if constexpr (std::is_same_v<T, std::string>) {
          string_type = vlen_utf8_type(where);
          type = string_type.get();
        } else {
          type = native_type<T>();
        }
        DatasetHandle ds(
            checked(H5Dcreate2(parent, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                    "create dataset", where));
        if (values.empty()) return ds;
        if constexpr (std::is_same_v<T, std::string>) {
          std::vector<const char*> pointers;
          pointers.reserve(values.size());
          for (const std::string& v : values) pointers.push_back(v.c_str());
          check_status(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, pointers.data()), "write",
                       where);
        } else {
          check_status(H5Dwrite(ds.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write",
                       where);
        }
        return ds;
      },
      o.values);
}

void write_image(const SidecarImage& image, const std::filesystem::path& tmp) {
  const Hdf5Where root_where{tmp.string(), "/"};
  PropListHandle fcpl = untimed(H5P_FILE_CREATE, root_where);
  FileHandle file(
      checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, fcpl.get(), H5P_DEFAULT), "create file", root_where));
  write_string_attribute(file.get(), "format", std::string(kAnalysisFormatName), root_where);
  write_string_attribute(file.get(), "format_version",
                         fmt::format("{}.{}", kAnalysisFormatMajor, kAnalysisFormatMinor), root_where);
  for (const SidecarAttribute& a : image.root_attributes) write_attribute(file.get(), a, root_where);
  {
    // Groups stay open while their content is written; all objects close before the file does, so the
    // close below is the one that flushes (and reports a full disk).
    std::map<std::string, GroupHandle> groups;
    auto parent_id = [&](const std::string& path, const Hdf5Where& where) -> hid_t {
      const std::string parent = parent_of(path);
      if (parent.empty()) return file.get();
      const auto it = groups.find(parent);
      if (it == groups.end())
        throw std::invalid_argument(where.object + ": parent group not listed before it");
      return it->second.get();
    };
    for (const SidecarObject& o : image.objects) {
      const Hdf5Where where{tmp.string(), "/" + o.path};
      const hid_t parent = parent_id(o.path, where);
      if (o.is_group) {
        PropListHandle gcpl = untimed(H5P_GROUP_CREATE, where);
        GroupHandle g(
            checked(H5Gcreate2(parent, leaf_of(o.path).c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                    "create group", where));
        for (const SidecarAttribute& a : o.attributes) write_attribute(g.get(), a, where);
        groups.emplace(o.path, std::move(g));
      } else {
        DatasetHandle ds = write_dataset(parent, o, where);
        for (const SidecarAttribute& a : o.attributes) write_attribute(ds.get(), a, where);
        if (!ds.reset()) throw_hdf5_error("close dataset", where.object, where.file);
      }
    }
  }
  if (H5Fflush(file.get(), H5F_SCOPE_GLOBAL) < 0) throw_hdf5_error("flush", "/", tmp.string());
  if (!file.reset()) throw_hdf5_error("close", "/", tmp.string());
}

// Element type check for SidecarReader::read.
template <typename T>
bool type_matches(hid_t stored) {
  const H5T_class_t cls = H5Tget_class(stored);
  if constexpr (std::is_same_v<T, std::string>) {
    return cls == H5T_STRING && H5Tis_variable_str(stored) > 0;
  } else if constexpr (std::is_floating_point_v<T>) {
    return cls == H5T_FLOAT && H5Tget_size(stored) == sizeof(T);
  } else {
    return cls == H5T_INTEGER && H5Tget_size(stored) == sizeof(T) && H5Tget_sign(stored) == H5T_SGN_NONE;
  }
}

template <typename T>
std::string_view type_name() {
  if constexpr (std::is_same_v<T, std::string>)
    return "variable-length strings";
  else if constexpr (std::is_same_v<T, double>)
    return "64-bit floats";
  else if constexpr (std::is_same_v<T, float>)
    return "32-bit floats";
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return "unsigned 32-bit integers";
  else
    return "unsigned 8-bit integers";
}

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, " x "));
}

}  // namespace

std::filesystem::path analysis_path_for(const std::filesystem::path& session_path) {
  std::filesystem::path p = session_path;
  if (p.extension() == ".h5") p.replace_extension();
  p += std::string(kAnalysisSuffix);
  return p;
}

FormatVersion parse_format_version(std::string_view text) {
  const auto number = [&](std::string_view part) {
    int value = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || part.size() > 4 || ec != std::errc() || end != part.data() + part.size() ||
        part[0] == '-')
      throw std::invalid_argument(fmt::format("format version '{}' is not MAJOR.MINOR", text));
    return value;
  };
  const std::size_t dot = text.find('.');
  if (dot == std::string_view::npos)
    throw std::invalid_argument(fmt::format("format version '{}' is not MAJOR.MINOR", text));
  return {number(text.substr(0, dot)), number(text.substr(dot + 1))};
}

SidecarObject& SidecarImage::group(std::string path) {
  SidecarObject o;
  o.path = std::move(path);
  o.is_group = true;
  return objects.emplace_back(std::move(o));
}

SidecarObject& SidecarImage::dataset(std::string path, std::vector<std::uint64_t> shape,
                                     SidecarValues values) {
  SidecarObject o;
  o.path = std::move(path);
  o.shape = std::move(shape);
  o.values = std::move(values);
  return objects.emplace_back(std::move(o));
}

void write_sidecar(const SidecarImage& image, const std::filesystem::path& out) {
  silence_hdf5_errors();
  const std::filesystem::path tmp = fmt::format("{}.tmp-{}-{}", out.string(), ::getpid(),
                                                std::hash<std::thread::id>{}(std::this_thread::get_id()));
  try {
    write_image(image, tmp);
    std::filesystem::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw;
  }
}

namespace {

// Opens an existing glutescope analysis file read-only (format name checked, version not).
FileHandle open_sidecar(const std::filesystem::path& path) {
  silence_hdf5_errors();
  const std::string name = path.string();
  if (!std::filesystem::exists(path)) {
    throw std::runtime_error(fmt::format("{}: no analysis file (run glutescope analyze first)", name));
  }
  if (H5Fis_hdf5(path.c_str()) <= 0) throw std::runtime_error(fmt::format("{}: not an HDF5 file", name));
  FileHandle file(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "open", {name, "/"}));
  if (!has_attribute(file.get(), "format") ||
      read_string_attribute(file.get(), "format", {name, "/"}) != kAnalysisFormatName) {
    throw std::runtime_error(fmt::format("{}: not a glutescope analysis file", name));
  }
  return file;
}

}  // namespace

namespace {

// Size of the file for the watchdog's limit (0 when it cannot be told; the open then fails anyway).
std::uint64_t size_of(const std::filesystem::path& path) {
  std::error_code ec;
  const std::uintmax_t bytes = std::filesystem::file_size(path, ec);
  return ec ? 0 : bytes;
}

}  // namespace

std::string sidecar_settings_toml(const std::filesystem::path& path) {
  const std::string name = path.string();
  const Hdf5Watch watch(name, size_of(path));
  const FileHandle file = open_sidecar(path);
  if (!has_attribute(file.get(), "settings_toml")) {
    throw std::runtime_error(fmt::format("{}: missing attribute /@settings_toml", path.string()));
  }
  return read_string_attribute(file.get(), "settings_toml", {path.string(), "/"});
}

struct SidecarReader::Impl {
  std::filesystem::path path;
  std::string path_text;  // path.string(), for the watchdog
  std::uint64_t file_bytes = 0;
  FileHandle file;
  FormatVersion version;

  [[nodiscard]] Hdf5Watch watch() const noexcept { return Hdf5Watch(path_text, file_bytes); }

  [[nodiscard]] Hdf5Where where(const std::string& object) const { return {path.string(), "/" + object}; }

  // The object at `object` ("" = root) opened for attribute reads.
  [[nodiscard]] Hid<H5Oclose> open(const std::string& object) const {
    const std::string name = object.empty() ? "." : object;
    if (!object.empty() && !has_link(file.get(), object)) {
      throw std::runtime_error(fmt::format("{}: missing /{}", path.string(), object));
    }
    return Hid<H5Oclose>(checked(H5Oopen(file.get(), name.c_str(), H5P_DEFAULT), "open", where(object)));
  }

  template <typename T>
  T scalar_attribute(const std::string& object, const std::string& name) const {
    const Hid<H5Oclose> o = open(object);
    const Hdf5Where w = where(object);
    if (!has_attribute(o.get(), name)) {
      throw std::runtime_error(fmt::format("{}: missing attribute /{}@{}", path.string(), object, name));
    }
    AttributeHandle a(checked(H5Aopen(o.get(), name.c_str(), H5P_DEFAULT), "open attribute", w));
    DataspaceHandle space(checked(H5Aget_space(a.get()), "get dataspace of", w));
    DatatypeHandle type(checked(H5Aget_type(a.get()), "get type of", w));
    if (H5Sget_simple_extent_npoints(space.get()) != 1 || !type_matches<T>(type.get())) {
      throw std::runtime_error(fmt::format("{}: attribute /{}@{} is not one value of {}", path.string(),
                                           object, name, type_name<T>()));
    }
    T value{};
    check_status(H5Aread(a.get(), native_type<T>(), &value), "read attribute", w);
    return value;
  }
};

SidecarReader::SidecarReader(const std::filesystem::path& path) : impl_(std::make_unique<Impl>()) {
  impl_->path = path;
  const std::string name = path.string();
  impl_->path_text = name;
  impl_->file_bytes = size_of(path);
  const Hdf5Watch watch(name, impl_->file_bytes);
  try {
    check_version();
  } catch (...) {
    impl_.reset();  // closes the file inside the watch
    throw;
  }
}

void SidecarReader::check_version() {
  const std::string& name = impl_->path_text;
  impl_->file = open_sidecar(impl_->path);
  const hid_t root = impl_->file.get();
  const std::string version = read_string_attribute(root, "format_version", {name, "/"});
  try {
    impl_->version = parse_format_version(version);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("{}: {}", name, e.what()));
  }
  if (impl_->version.major != kAnalysisFormatMajor) {
    const bool older = impl_->version.major < kAnalysisFormatMajor;
    throw std::runtime_error(
        fmt::format("{}: analysis format version {} is {} the one this glutescope reads ({}.x){}", name,
                    version, older ? "older than" : "newer than", kAnalysisFormatMajor,
                    older ? "; re-run glutescope analyze to rewrite it" : "; use a newer glutescope"));
  }
}

SidecarReader::~SidecarReader() {
  if (!impl_) return;
  const std::string name = impl_->path_text;
  const Hdf5Watch watch(name, impl_->file_bytes);
  impl_.reset();
}

const std::filesystem::path& SidecarReader::path() const noexcept { return impl_->path; }
FormatVersion SidecarReader::format_version() const noexcept { return impl_->version; }

std::string SidecarReader::string_attribute(const std::string& path, const std::string& name) const {
  const Hdf5Watch watch = impl_->watch();
  const Hid<H5Oclose> o = impl_->open(path);
  if (!has_attribute(o.get(), name)) {
    throw std::runtime_error(fmt::format("{}: missing attribute /{}@{}", impl_->path.string(), path, name));
  }
  return read_string_attribute(o.get(), name, impl_->where(path));
}
std::uint64_t SidecarReader::u64_attribute(const std::string& path, const std::string& name) const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->scalar_attribute<std::uint64_t>(path, name);
}
double SidecarReader::f64_attribute(const std::string& path, const std::string& name) const {
  const Hdf5Watch watch = impl_->watch();
  return impl_->scalar_attribute<double>(path, name);
}

template <typename T>
SidecarArray<T> SidecarReader::read(const std::string& path,
                                    const std::vector<std::optional<std::uint64_t>>& expected) const {
  const Hdf5Watch watch = impl_->watch();
  const std::string file = impl_->path.string();
  const Hdf5Where w = impl_->where(path);
  if (!has_link(impl_->file.get(), path))
    throw std::runtime_error(fmt::format("{}: missing dataset /{}", file, path));
  DatasetHandle ds(checked(H5Dopen2(impl_->file.get(), path.c_str(), H5P_DEFAULT), "open dataset", w));
  DataspaceHandle space(checked(H5Dget_space(ds.get()), "get dataspace of", w));
  DatatypeHandle type(checked(H5Dget_type(ds.get()), "get type of", w));
  if (!type_matches<T>(type.get())) {
    throw std::runtime_error(fmt::format("{}: dataset /{} does not hold {}", file, path, type_name<T>()));
  }
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0 || static_cast<std::size_t>(rank) != expected.size()) {
    throw std::runtime_error(
        fmt::format("{}: dataset /{} has rank {}, expected {}", file, path, rank, expected.size()));
  }
  std::vector<hsize_t> dims(expected.size());
  check_status(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "get extent of", w);
  SidecarArray<T> out;
  out.shape.assign(dims.begin(), dims.end());
  std::uint64_t count = 1;
  bool shape_ok = true;
  for (std::size_t k = 0; k < dims.size(); ++k) {
    if (expected[k] && *expected[k] != dims[k]) shape_ok = false;
    count = dims[k] == 0 ? 0 : (count > UINT64_MAX / dims[k] ? UINT64_MAX : count * dims[k]);
  }
  if (!shape_ok) {
    std::vector<std::string> want;
    want.reserve(expected.size());
    for (const auto& e : expected) want.push_back(e ? std::to_string(*e) : std::string("any"));
    throw std::runtime_error(fmt::format("{}: dataset /{} has shape {}, expected [{}]", file, path,
                                         shape_text(out.shape), fmt::join(want, " x ")));
  }
  // Bound the allocation by what the file holds: every element we write occupies at least its type size.
  const std::uint64_t stored = H5Dget_storage_size(ds.get());
  const std::uint64_t element = H5Tget_size(type.get());
  if (count > 0 && (element == 0 || count > stored / element)) {
    throw std::runtime_error(
        fmt::format("{}: dataset /{} claims {} values but stores {} bytes", file, path, count, stored));
  }
  if (count == 0) return out;
  if constexpr (std::is_same_v<T, std::string>) {
    DatatypeHandle memory = vlen_utf8_type(w);
    std::vector<char*> raw(count, nullptr);
    const herr_t status = H5Dread(ds.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    out.values.reserve(count);
    for (char* s : raw) out.values.emplace_back(s != nullptr ? s : "");
    H5Dvlen_reclaim(memory.get(), space.get(), H5P_DEFAULT, raw.data());
    check_status(status, "read", w);
  } else {
    out.values.resize(count);
    check_status(H5Dread(ds.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.values.data()),
                 "read", w);
  }
  return out;
}

template SidecarArray<std::uint8_t> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
template SidecarArray<std::uint32_t> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;
template SidecarArray<double> SidecarReader::read(const std::string&,
                                                  const std::vector<std::optional<std::uint64_t>>&) const;
template SidecarArray<float> SidecarReader::read(const std::string&,
                                                 const std::vector<std::optional<std::uint64_t>>&) const;
template SidecarArray<std::string> SidecarReader::read(
    const std::string&, const std::vector<std::optional<std::uint64_t>>&) const;

}  // namespace glutescope::store
