// How much of HDF5's error text a store error carries: the public switch behind the CLI's --verbose, in a
// header that does not expose HDF5 (modules above store never see <hdf5.h>; docs/ARCHITECTURE.md).
#pragma once

namespace glutescope::store {

// Append HDF5's whole error stack to every Hdf5Error message (process-wide; default off). The CLI sets it for
// --verbose: the stack helps whoever debugs HDF5, the one-line reason is what an operator can act on.
void set_hdf5_error_detail(bool on) noexcept;
[[nodiscard]] bool hdf5_error_detail() noexcept;

}  // namespace glutescope::store
