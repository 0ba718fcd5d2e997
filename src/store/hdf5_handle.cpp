#include "store/hdf5_handle.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>

namespace glutescope::store {
namespace {

std::atomic<bool> g_error_detail{false};

// One record as "<desc> (<minor message>)"; HDF5's descriptions are short fixed phrases.
std::string describe_record(const H5E_error2_t* error) {
  std::string desc = error->desc != nullptr ? error->desc : "";
  char minor[128] = {};
  const bool has_minor = H5Eget_msg(error->min_num, nullptr, minor, sizeof minor) > 0;
  if (!has_minor) return desc;
  return desc.empty() ? std::string(minor) : desc + " (" + minor + ")";
}

// The innermost record's reason for an operator: its description when short (HDF5's fixed phrases), else
// (the sec2 driver's formatted "file write failed: time = ..., filename = ..." runs to 300 characters) its
// minor message ("Write failed").
std::string reason_of(const H5E_error2_t* error) {
  std::string text = describe_record(error);
  if (text.size() <= 100) return text;
  char minor[128] = {};
  return H5Eget_msg(error->min_num, nullptr, minor, sizeof minor) > 0 ? std::string(minor) : text;
}

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* client_data) {
  auto& out = *static_cast<Hdf5ErrorText*>(client_data);
  if (!out.stack.empty()) out.stack += "; ";
  out.stack += error->func_name != nullptr ? error->func_name : "?";
  out.stack += ": ";
  out.stack += describe_record(error);
  // Walking downward (API call first), the last record is the innermost: the cause, not its consequences.
  out.reason = reason_of(error);
  out.innermost_minor = error->min_num;
  return 0;
}

// Keeps a message to one line of bounded length: HDF5 descriptions never hold newlines, but file names may.
std::string one_line(std::string text, std::size_t max_chars) {
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (text.size() > max_chars) text = text.substr(0, max_chars - 3) + "...";
  return text;
}

Hdf5Where at(const Hdf5Where& where, const std::string& name) {
  return Hdf5Where{where.file,
                   where.object + (where.object.empty() || where.object.back() == '/' ? "" : "/") + name};
}

DataspaceHandle scalar_space(const Hdf5Where& where) {
  return DataspaceHandle(checked(H5Screate(H5S_SCALAR), "create dataspace for", where));
}

DataspaceHandle vector_space(std::size_t n, const Hdf5Where& where) {
  const hsize_t dims[1] = {n};
  return DataspaceHandle(checked(H5Screate_simple(1, dims, nullptr), "create dataspace for", where));
}

AttributeHandle replace_attribute(hid_t object, const std::string& name, hid_t type, hid_t space,
                                  const Hdf5Where& where) {
  if (has_attribute(object, name)) {
    check_status(H5Adelete(object, name.c_str()), "delete old attribute", at(where, "@" + name));
  }
  return AttributeHandle(checked(H5Acreate2(object, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT),
                                 "create attribute", at(where, "@" + name)));
}

std::size_t element_count(hid_t space) {
  const hssize_t n = H5Sget_simple_extent_npoints(space);
  return n < 0 ? 0 : static_cast<std::size_t>(n);
}

[[noreturn]] void throw_damaged(const Hdf5Where& where, const std::string& problem) {
  throw Hdf5Error(where.file + ": " + where.object + " " + problem);
}

std::string type_class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "floating-point";
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "variable-length";
    case H5T_REFERENCE:
      return "reference";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_BITFIELD:
      return "bitfield";
    case H5T_TIME:
      return "time";
    default:
      return "unknown";
  }
}

// A table column (1-D dataset) or array attribute: rank 1 (or scalar, for one value) and a bounded size.
// Attributes must be rank ≤ 1; datasets are read flat (the analysis sidecar stores [reps x channels] tables),
// so their rank is the caller's to check (SessionReader does, for every table column).
std::size_t checked_vector_count(hid_t object, bool is_attribute, std::size_t element_bytes,
                                 const Hdf5Where& where) {
  DataspaceHandle space(
      checked(is_attribute ? H5Aget_space(object) : H5Dget_space(object), "get dataspace of", where));
  const std::vector<hsize_t> dims = dataspace_dims(space.get(), where);
  if (is_attribute && dims.size() > 1) {
    throw_damaged(where, "has rank " + std::to_string(dims.size()) + ", expected 1");
  }
  const std::size_t n = element_count(space.get());
  check_logical_size(object, n, element_bytes, where);
  return n;
}

std::vector<std::string> read_vlen_strings(hid_t object, bool is_attribute, const Hdf5Where& where) {
  // 16 bytes: what one variable-length string occupies at least in the file (its heap ID).
  const std::size_t n = checked_vector_count(object, is_attribute, 16, where);
  DatatypeHandle stored(
      checked(is_attribute ? H5Aget_type(object) : H5Dget_type(object), "get type of", where));
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    throw Hdf5Error("read " + where.object + " in " + where.file + ": expected a string, found another type");
  }
  // The dataspace is the file's claim: every element occupies at least one stored byte (a variable-length
  // reference 16, a fixed-length string its size), so more elements than stored bytes is damage, not a
  // reason to allocate (session_reader fuzzer finding: 6.6e12 strings claimed by a 33 KB file).
  const hsize_t stored_bytes = is_attribute ? H5Aget_storage_size(object) : H5Dget_storage_size(object);
  std::size_t element_bytes =
      H5Tis_variable_str(stored.get()) > 0 ? 1 : std::max<std::size_t>(1, H5Tget_size(stored.get()));
  // An attribute's values are stored whole in its object header, so there the bound is exact: a
  // variable-length string is its global-heap reference, a 4-byte length, the heap collection's address and a
  // 4-byte object index (HDF5 File Format Specification 2.0, "Global Heap ID"; the address size is the
  // superblock's). HDF5 1.10.8 copies elements × that size out of the stored bytes without checking
  // (session_reader fuzzer, December 2026: a heap-buffer-overflow in H5A__read), so fewer stored bytes is
  // refused here. A dataset may be compressed, so only the one-byte bound above applies to it.
  if (is_attribute && H5Tis_variable_str(stored.get()) > 0) {
    FileHandle file(checked(H5Iget_file_id(object), "get file of", where));
    PropListHandle creation(checked(H5Fget_create_plist(file.get()), "get creation properties of", where));
    std::size_t address_bytes = 0;
    check_status(H5Pget_sizes(creation.get(), &address_bytes, nullptr), "get address size of", where);
    element_bytes = 4 + address_bytes + 4;
  }
  if (n > stored_bytes / element_bytes) {
    throw Hdf5Error("read " + where.object + " in " + where.file + ": claims " + std::to_string(n) +
                    " strings but stores " + std::to_string(stored_bytes) + " bytes (damaged file)");
  }
  std::vector<std::string> out;
  out.reserve(n);
  if (H5Tis_variable_str(stored.get()) > 0) {
    DatatypeHandle memtype = vlen_utf8_type(where);
    std::vector<char*> raw(n, nullptr);
    const herr_t status = is_attribute
                              ? H5Aread(object, memtype.get(), raw.data())
                              : H5Dread(object, memtype.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    check_status(status, "read strings", where);
    for (char* s : raw) out.emplace_back(s != nullptr ? s : "");
    for (char* s : raw) H5free_memory(s);
  } else {
    // Fixed-length strings (written by other tools, e.g. MATLAB): read as given, trim NUL padding.
    const std::size_t size = H5Tget_size(stored.get());
    check_logical_size(object, n, size, where);
    std::vector<char> raw(n * size);
    const herr_t status = is_attribute
                              ? H5Aread(object, stored.get(), raw.data())
                              : H5Dread(object, stored.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data());
    check_status(status, "read strings", where);
    for (std::size_t i = 0; i < n; ++i) {
      std::string s(raw.data() + i * size, size);
      s.erase(s.find_last_not_of('\0') + 1);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

void silence_hdf5_errors() noexcept {
  // H5Eset_auto2 acts on the calling thread's error stack only (thread-safe build): once per thread suffices.
  thread_local bool silenced = false;
  if (!silenced) silenced = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
}

std::vector<hsize_t> dataspace_dims(hid_t space, const Hdf5Where& where) {
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) throw_hdf5_error("get rank of", where.object, where.file);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0 && H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    throw_hdf5_error("get dimensions of", where.object, where.file);
  }
  return dims;
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const Hdf5Where& where) {
  DataspaceHandle space(checked(H5Dget_space(dataset), "get dataspace of", where));
  return dataspace_dims(space.get(), where);
}

void check_logical_size(hid_t object, std::uint64_t elements, std::size_t element_bytes,
                        const Hdf5Where& where) {
  FileHandle file(checked(H5Iget_file_id(object), "get the file of", where));
  hsize_t file_bytes = 0;
  check_status(H5Fget_filesize(file.get(), &file_bytes), "get the size of the file of", where);
  const std::uint64_t limit = kMaxDeflateExpansion * file_bytes + kFillValueAllowanceBytes;
  if (element_bytes != 0 && elements > limit / element_bytes) {
    throw_damaged(where, "claims " + std::to_string(elements) + " elements, more than a " +
                             std::to_string(file_bytes) + "-byte file can hold");
  }
}

void check_type_class(hid_t dataset, H5T_class_t type_class, std::size_t max_bytes, const Hdf5Where& where) {
  DatatypeHandle type(checked(H5Dget_type(dataset), "get type of", where));
  const H5T_class_t found = H5Tget_class(type.get());
  if (found != type_class) {
    throw_damaged(where,
                  "holds " + type_class_name(found) + " values, expected " + type_class_name(type_class));
  }
  const std::size_t size = H5Tget_size(type.get());
  if (type_class != H5T_STRING && (size == 0 || size > max_bytes)) {
    throw_damaged(where, "has " + std::to_string(size) + "-byte elements, expected at most " +
                             std::to_string(max_bytes));
  }
}

void set_hdf5_error_detail(bool on) noexcept { g_error_detail = on; }
bool hdf5_error_detail() noexcept { return g_error_detail; }

Hdf5ErrorText take_hdf5_error() {
  // errno as the failing system call left it (HDF5's sec2 driver reports pwrite/open failures through it):
  // read before anything else can change it.
  const int system_error = errno;
  Hdf5ErrorText text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &text);
  // A failed read, write, seek or open of the file itself: the system's reason is what the operator can act
  // on ("No space left on device", "Permission denied").
  const hid_t io_errors[] = {H5E_WRITEERROR, H5E_READERROR, H5E_SEEKERROR, H5E_CANTOPENFILE};
  if (system_error != 0 &&
      std::find(std::begin(io_errors), std::end(io_errors), text.innermost_minor) != std::end(io_errors)) {
    text.reason += std::string(": ") + std::strerror(system_error);
  }
  H5Eclear2(H5E_DEFAULT);
  if (text.reason.empty()) text.reason = "no HDF5 error detail";
  if (text.stack.empty()) text.stack = text.reason;
  return text;
}

std::string take_hdf5_error_stack() { return take_hdf5_error().stack; }

std::string take_hdf5_error_for_message() {
  const Hdf5ErrorText text = take_hdf5_error();
  // 100 characters hold every innermost description of HDF5 1.10 (H5Edefin.h) with its minor message.
  std::string out = one_line(text.reason, 100);
  if (hdf5_error_detail()) out += " [HDF5: " + one_line(text.stack, 4000) + "]";
  return out;
}

void throw_hdf5_error(std::string_view action, std::string_view object, std::string_view file) {
  std::string message(action);
  if (!object.empty()) message.append(" ").append(object);
  message.append(" in ").append(file).append(": ").append(take_hdf5_error_for_message());
  throw Hdf5Error(message);
}

DatatypeHandle vlen_utf8_type(const Hdf5Where& where) {
  DatatypeHandle type(checked(H5Tcopy(H5T_C_S1), "copy string type for", where));
  check_status(H5Tset_size(type.get(), H5T_VARIABLE), "make variable-length string type for", where);
  check_status(H5Tset_cset(type.get(), H5T_CSET_UTF8), "set UTF-8 on string type for", where);
  return type;
}

bool has_attribute(hid_t object, const std::string& name) { return H5Aexists(object, name.c_str()) > 0; }

bool has_link(hid_t group, const std::string& path) {
  // Check each path component: H5Lexists fails (not false) when an intermediate group is missing.
  std::string prefix;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t slash = path.find('/', start);
    const std::string part =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!part.empty()) {
      prefix += (prefix.empty() ? "" : "/") + part;
      if (H5Lexists(group, prefix.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return true;
}

void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const Hdf5Where& where) {
  DatatypeHandle type = vlen_utf8_type(where);
  DataspaceHandle space = scalar_space(where);
  AttributeHandle attribute = replace_attribute(object, name, type.get(), space.get(), where);
  const char* data = value.c_str();
  check_status(H5Awrite(attribute.get(), type.get(), &data), "write attribute", at(where, "@" + name));
}

void write_string_array_attribute(hid_t object, const std::string& name,
                                  const std::vector<std::string>& values, const Hdf5Where& where) {
  DatatypeHandle type = vlen_utf8_type(where);
  DataspaceHandle space = vector_space(values.size(), where);
  AttributeHandle attribute = replace_attribute(object, name, type.get(), space.get(), where);
  std::vector<const char*> data;
  data.reserve(values.size());
  for (const auto& v : values) data.push_back(v.c_str());
  check_status(H5Awrite(attribute.get(), type.get(), data.data()), "write attribute", at(where, "@" + name));
}

template <typename T>
void write_scalar_attribute(hid_t object, const std::string& name, T value, const Hdf5Where& where) {
  DataspaceHandle space = scalar_space(where);
  AttributeHandle attribute = replace_attribute(object, name, native_type<T>(), space.get(), where);
  check_status(H5Awrite(attribute.get(), native_type<T>(), &value), "write attribute", at(where, "@" + name));
}

template <typename T>
void write_array_attribute(hid_t object, const std::string& name, const std::vector<T>& values,
                           const Hdf5Where& where) {
  DataspaceHandle space = vector_space(values.size(), where);
  AttributeHandle attribute = replace_attribute(object, name, native_type<T>(), space.get(), where);
  check_status(H5Awrite(attribute.get(), native_type<T>(), values.data()), "write attribute",
               at(where, "@" + name));
}

std::string read_string_attribute(hid_t object, const std::string& name, const Hdf5Where& where) {
  const Hdf5Where here = at(where, "@" + name);
  if (!has_attribute(object, name)) {
    throw Hdf5Error("missing attribute " + here.object + " in " + where.file);
  }
  AttributeHandle attribute(checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute", here));
  auto values = read_vlen_strings(attribute.get(), true, here);
  if (values.size() != 1)
    throw Hdf5Error("attribute " + here.object + " in " + where.file + " is not scalar");
  return values.front();
}

template <typename T>
T read_scalar_attribute(hid_t object, const std::string& name, const Hdf5Where& where) {
  const Hdf5Where here = at(where, "@" + name);
  if (!has_attribute(object, name)) {
    throw Hdf5Error("missing attribute " + here.object + " in " + where.file);
  }
  AttributeHandle attribute(checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute", here));
  {
    // H5Aread writes every element: an array attribute read into one value would overrun it.
    DataspaceHandle space(checked(H5Aget_space(attribute.get()), "get dataspace of", here));
    if (element_count(space.get()) != 1) {
      throw_damaged(here, "holds " + std::to_string(element_count(space.get())) + " values, expected one");
    }
    DatatypeHandle type(checked(H5Aget_type(attribute.get()), "get type of", here));
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != H5T_INTEGER && c != H5T_FLOAT) {
      throw_damaged(here, "holds " + type_class_name(c) + " values, expected a number");
    }
  }
  T value{};
  check_status(H5Aread(attribute.get(), native_type<T>(), &value), "read attribute", here);
  return value;
}

template <typename T>
std::vector<T> read_array_attribute(hid_t object, const std::string& name, const Hdf5Where& where) {
  const Hdf5Where here = at(where, "@" + name);
  if (!has_attribute(object, name)) {
    throw Hdf5Error("missing attribute " + here.object + " in " + where.file);
  }
  AttributeHandle attribute(checked(H5Aopen(object, name.c_str(), H5P_DEFAULT), "open attribute", here));
  std::vector<T> values(checked_vector_count(attribute.get(), true, sizeof(T), here));
  if (!values.empty()) {
    check_status(H5Aread(attribute.get(), native_type<T>(), values.data()), "read attribute", here);
  }
  return values;
}

template <typename T>
void write_column(hid_t group, const std::string& name, const std::vector<T>& values,
                  const Hdf5Where& where) {
  const Hdf5Where here = at(where, name);
  DataspaceHandle space = vector_space(values.size(), here);
  DatasetHandle dataset(checked(
      H5Dcreate2(group, name.c_str(), native_type<T>(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      "create dataset", here));
  if (!values.empty()) {
    check_status(H5Dwrite(dataset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                 "write dataset", here);
  }
}

void write_string_column(hid_t group, const std::string& name, const std::vector<std::string>& values,
                         const Hdf5Where& where) {
  const Hdf5Where here = at(where, name);
  DatatypeHandle type = vlen_utf8_type(here);
  DataspaceHandle space = vector_space(values.size(), here);
  DatasetHandle dataset(
      checked(H5Dcreate2(group, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              "create dataset", here));
  std::vector<const char*> data;
  data.reserve(values.size());
  for (const auto& v : values) data.push_back(v.c_str());
  if (!data.empty()) {
    check_status(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
                 "write dataset", here);
  }
}

// A dataset's dataspace is the file's claim. Its elements cannot need more bytes than are stored, times
// deflate's largest compression ratio (1032:1, zlib technical details) when the dataset is filtered, so a
// larger claim is damage, not a size to allocate (session_reader fuzzer finding: a 64 GB column).
void check_element_claim(hid_t dataset, std::size_t elements, std::size_t element_bytes,
                         const Hdf5Where& here) {
  const hsize_t stored = H5Dget_storage_size(dataset);
  PropListHandle dcpl(checked(H5Dget_create_plist(dataset), "get creation properties of", here));
  const double ratio = H5Pget_nfilters(dcpl.get()) > 0 ? 1032.0 : 1.0;
  if (static_cast<double>(elements) * static_cast<double>(element_bytes) >
      static_cast<double>(stored) * ratio) {
    throw Hdf5Error("read " + here.object + " in " + here.file + ": claims " + std::to_string(elements) +
                    " values but stores " + std::to_string(stored) + " bytes (damaged file)");
  }
}

template <typename T>
std::vector<T> read_column(hid_t group, const std::string& name, const Hdf5Where& where) {
  const Hdf5Where here = at(where, name);
  if (!has_link(group, name)) throw Hdf5Error("missing dataset " + here.object + " in " + where.file);
  DatasetHandle dataset(checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open dataset", here));
  {
    DatatypeHandle type(checked(H5Dget_type(dataset.get()), "get type of", here));
    const H5T_class_t c = H5Tget_class(type.get());
    if (c != H5T_INTEGER && c != H5T_FLOAT) {
      throw_damaged(here, "holds " + type_class_name(c) + " values, expected numbers");
    }
  }
  std::vector<T> values(checked_vector_count(dataset.get(), false, sizeof(T), here));
  if (!values.empty()) {
    check_status(H5Dread(dataset.get(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                 "read dataset", here);
  }
  return values;
}

std::vector<std::string> read_string_column(hid_t group, const std::string& name, const Hdf5Where& where) {
  const Hdf5Where here = at(where, name);
  if (!has_link(group, name)) throw Hdf5Error("missing dataset " + here.object + " in " + where.file);
  DatasetHandle dataset(checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open dataset", here));
  return read_vlen_strings(dataset.get(), false, here);
}

#define GLUTESCOPE_STORE_INSTANTIATE(T)                                                              \
  template void write_scalar_attribute<T>(hid_t, const std::string&, T, const Hdf5Where&);           \
  template void write_array_attribute<T>(hid_t, const std::string&, const std::vector<T>&,           \
                                         const Hdf5Where&);                                          \
  template T read_scalar_attribute<T>(hid_t, const std::string&, const Hdf5Where&);                  \
  template std::vector<T> read_array_attribute<T>(hid_t, const std::string&, const Hdf5Where&);      \
  template void write_column<T>(hid_t, const std::string&, const std::vector<T>&, const Hdf5Where&); \
  template std::vector<T> read_column<T>(hid_t, const std::string&, const Hdf5Where&);

GLUTESCOPE_STORE_INSTANTIATE(std::uint8_t)
GLUTESCOPE_STORE_INSTANTIATE(std::uint16_t)
GLUTESCOPE_STORE_INSTANTIATE(std::int32_t)
GLUTESCOPE_STORE_INSTANTIATE(std::uint32_t)
GLUTESCOPE_STORE_INSTANTIATE(std::int64_t)
GLUTESCOPE_STORE_INSTANTIATE(std::uint64_t)
GLUTESCOPE_STORE_INSTANTIATE(double)
#undef GLUTESCOPE_STORE_INSTANTIATE

}  // namespace glutescope::store
