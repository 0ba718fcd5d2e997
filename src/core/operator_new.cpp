// The executables' global operator new: the standard behaviour (malloc, the new-handler,
// std::bad_alloc), and every allocation of at least core::kHugePageAdviceBytes advised onto transparent huge
// pages before its caller first touches it, with glibc's mmap threshold fixed at that size so that each
// such allocation is a mapping of its own (core/large_buffers.hpp, docs/PERFORMANCE.md "Huge pages").
//
// Only executables that link the object library glutescope::operator_new replace operator new: glutescope,
// bench_analysis (which measures what glutescope runs) and test_large_allocations. NumPy
// gives its own arrays of 4 MiB or more the same advice by default (NUMPY_MADVISE_HUGEPAGE, numpy.org's
// "Runtime environment variables"), so scipy's side of compare.py has had huge pages all along. Libraries
// and the other tests keep the toolchain's operator new; so do sanitizer builds (core::kReplacesOperatorNew).
#include <cstdlib>
#include <new>
#include <string_view>

#include "core/large_buffers.hpp"

#ifndef GLUTESCOPE_SANITIZED_NEW

namespace {

// Set once, before main (allocations by earlier static initialisers get no advice). GLUTESCOPE_HUGE_PAGES=0
// in the environment turns both off, so that a benchmark can measure the same binary without them
// (tools/bench/compare.py).
bool huge_pages_wanted() {
  const char* v = std::getenv("GLUTESCOPE_HUGE_PAGES");
  return v == nullptr || std::string_view(v) != "0";
}
const bool kAdvise = huge_pages_wanted() && (glutescope::core::fix_malloc_mmap_threshold(), true);

void* allocate(std::size_t bytes) {
  const std::size_t size = bytes == 0 ? 1 : bytes;
  void* p = std::malloc(size);
  while (p == nullptr) {  // as the standard's: the new-handler frees memory, or there is none
    const std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) throw std::bad_alloc();
    handler();
    p = std::malloc(size);
  }
  if (kAdvise && bytes >= glutescope::core::kHugePageAdviceBytes)
    glutescope::core::advise_huge_pages(p, bytes);
  return p;
}

}  // namespace

// The array, nothrow and sized forms of libstdc++ call these two.
void* operator new(std::size_t bytes) { return allocate(bytes); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t /*bytes*/) noexcept { std::free(p); }

#endif
