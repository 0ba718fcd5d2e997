// Small RAII owners for HDF5 C API identifiers (hid_t) and the error handling of the store module.
//
// Why the C API: it is the only HDF5 API covered by the thread-safe build and the only one exposing SWMR and
// H5Fget_vfd_handle (research/imu-and-hdf5.md §2.4). Every failing call becomes an Hdf5Error whose message
// names the file, the object and the action, followed by HDF5's own error stack; the library's automatic
// printing to stderr is switched off (silence_hdf5_errors) so a user sees one message, not a page of traces.
//
// Threading: HDF5 keeps its error stack per thread. These helpers may be used from any thread, but the
// session writer's contract is that one thread owns one file (see session_writer.hpp).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "store/error_detail.hpp"

namespace glutescope::store {

// An HDF5 call failed. what() = "<action> <object> in <file>: <HDF5's innermost reason>" (one line of at most
// ~200 characters); with set_hdf5_error_detail(true) (the CLI's --verbose) the whole HDF5 error stack
// follows.
class Hdf5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Turn off HDF5's automatic error printing for the calling thread (idempotent, cheap). HDF5 keeps this
// setting per thread in a thread-safe build, so every entry point that may run on a new thread calls it
// first.
void silence_hdf5_errors() noexcept;

// The calling thread's HDF5 error stack as one line ("H5Dwrite: can't write data; ..."), then cleared.
std::string take_hdf5_error_stack();

// The calling thread's HDF5 error, read through H5Ewalk2 (never by searching the stack's text), then cleared:
// `reason` is the innermost record's description and minor message ("incorrect metadata checksum after all
// read attempts"), what an operator can act on; `stack` is the whole stack on one line, for --verbose.
struct Hdf5ErrorText {
  std::string reason;
  std::string stack;
  hid_t innermost_minor = H5I_INVALID_HID;  // HDF5 minor error class of the innermost record
};
Hdf5ErrorText take_hdf5_error();

// "<reason>" or, with hdf5_error_detail(), "<reason> [HDF5: <stack>]": the text an error message appends.
std::string take_hdf5_error_for_message();

// Throws Hdf5Error("<action> <object> in <file>: <stack>").
[[noreturn]] void throw_hdf5_error(std::string_view action, std::string_view object, std::string_view file);

// Owner of one hid_t closed with Close (H5Fclose, H5Dclose, ...). Move-only; a negative id means empty.
template <herr_t (*Close)(hid_t)>
class Hid {
 public:
  Hid() noexcept = default;
  explicit Hid(hid_t id) noexcept : id_(id) {}
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  ~Hid() { reset(); }

  [[nodiscard]] hid_t get() const noexcept { return id_; }
  [[nodiscard]] bool valid() const noexcept { return id_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Close now; returns false if HDF5 reported an error while closing (e.g. a final flush on a full disk).
  bool reset() noexcept {
    bool ok = true;
    if (id_ >= 0) ok = Close(id_) >= 0;
    id_ = H5I_INVALID_HID;
    return ok;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

using FileHandle = Hid<H5Fclose>;
using GroupHandle = Hid<H5Gclose>;
using DatasetHandle = Hid<H5Dclose>;
using DataspaceHandle = Hid<H5Sclose>;
using DatatypeHandle = Hid<H5Tclose>;
using PropListHandle = Hid<H5Pclose>;
using AttributeHandle = Hid<H5Aclose>;

// Where an error happened, for messages: the file path and the object path inside it.
struct Hdf5Where {
  std::string file;
  std::string object;
};

// id < 0 → Hdf5Error naming the file and object; otherwise returns id (use to construct a handle).
inline hid_t checked(hid_t id, std::string_view action, const Hdf5Where& where) {
  if (id < 0) throw_hdf5_error(action, where.object, where.file);
  return id;
}
inline void check_status(herr_t status, std::string_view action, const Hdf5Where& where) {
  if (status < 0) throw_hdf5_error(action, where.object, where.file);
}

// Native HDF5 memory type of a C++ arithmetic type.
template <typename T>
hid_t native_type() noexcept {
  if constexpr (std::is_same_v<T, std::int8_t>)
    return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, std::uint8_t>)
    return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::int16_t>)
    return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, std::uint16_t>)
    return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::int32_t>)
    return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::uint32_t>)
    return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int64_t>)
    return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>)
    return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, float>)
    return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>)
    return H5T_NATIVE_DOUBLE;
  else
    static_assert(sizeof(T) == 0, "no native HDF5 type for T");
}

// Variable-length UTF-8 string type: h5py reads such attributes as `str` (docs.h5py.org, strings).
DatatypeHandle vlen_utf8_type(const Hdf5Where& where);

// --- attributes (created or replaced; the file must not be in SWMR-write mode) ---
void write_string_attribute(hid_t object, const std::string& name, const std::string& value,
                            const Hdf5Where& where);
void write_string_array_attribute(hid_t object, const std::string& name,
                                  const std::vector<std::string>& values, const Hdf5Where& where);
template <typename T>
void write_scalar_attribute(hid_t object, const std::string& name, T value, const Hdf5Where& where);
template <typename T>
void write_array_attribute(hid_t object, const std::string& name, const std::vector<T>& values,
                           const Hdf5Where& where);

[[nodiscard]] bool has_attribute(hid_t object, const std::string& name);
std::string read_string_attribute(hid_t object, const std::string& name, const Hdf5Where& where);
template <typename T>
T read_scalar_attribute(hid_t object, const std::string& name, const Hdf5Where& where);
template <typename T>
std::vector<T> read_array_attribute(hid_t object, const std::string& name, const Hdf5Where& where);

// --- whole 1-D datasets (tables written once: channel table, events, gaps) ---
template <typename T>
void write_column(hid_t group, const std::string& name, const std::vector<T>& values, const Hdf5Where& where);
void write_string_column(hid_t group, const std::string& name, const std::vector<std::string>& values,
                         const Hdf5Where& where);
template <typename T>
std::vector<T> read_column(hid_t group, const std::string& name, const Hdf5Where& where);
std::vector<std::string> read_string_column(hid_t group, const std::string& name, const Hdf5Where& where);

[[nodiscard]] bool has_link(hid_t group, const std::string& path);

// --- checks of untrusted files (every file is untrusted input) ---

// Dimensions of a dataset or attribute dataspace: the rank is queried first (a file may declare any rank up
// to H5S_MAX_RANK = 32), then exactly that many dimensions are read. Scalar → empty.
std::vector<hsize_t> dataspace_dims(hid_t space, const Hdf5Where& where);
std::vector<hsize_t> dataset_dims(hid_t dataset, const Hdf5Where& where);

// Bound on what a dataset of a file may expand to in memory: deflate's maximum compression ratio is 1032:1
// (zlib technical details, "Maximum compression factor"), the only filter glutescope writes; plus one 1 MiB
// chunk of fill values a crashed writer may have declared but not written. A dataset claiming more elements
// than that is damaged (or hostile) and is refused before anything is allocated.
inline constexpr std::uint64_t kMaxDeflateExpansion = 1032;
inline constexpr std::uint64_t kFillValueAllowanceBytes = 1U << 20;
void check_logical_size(hid_t object, std::uint64_t elements, std::size_t element_bytes,
                        const Hdf5Where& where);

// Throws Hdf5Error("<file>: <object> <problem>") unless the dataset's type has class `type_class`
// (H5T_INTEGER, H5T_FLOAT, H5T_STRING) and, for numbers, at most `max_bytes` bytes per element.
void check_type_class(hid_t dataset, H5T_class_t type_class, std::size_t max_bytes, const Hdf5Where& where);

}  // namespace glutescope::store
