#include "core/large_buffers.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace glutescope::core {

bool advise_huge_pages(void* data, std::size_t bytes) noexcept {
#ifdef MADV_HUGEPAGE
  if (data == nullptr || bytes < kHugePageAdviceBytes) return false;
  const long page_size = sysconf(_SC_PAGESIZE);
  if (page_size <= 0) return false;
  const auto page = static_cast<std::uintptr_t>(page_size);
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  // The whole pages the buffer touches, partly covered ones included: madvise needs a page-aligned start, and
  // a range that stopped short of the mapping's first or last page would split the mapping, so that the
  // 2-MiB page around the split could only be served with small pages (512 faults at each end of every
  // buffer). Advice on the neighbouring bytes of those pages (malloc's chunk header) changes nothing in them.
  const std::uintptr_t first = begin / page * page;
  const std::uintptr_t last = (begin + bytes + page - 1) / page * page;
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the address comes from a pointer of this process
  return madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE) == 0;
#else
  (void)data;
  (void)bytes;
  return false;
#endif
}

bool populate_pages(void* data, std::size_t bytes) noexcept {
#ifndef MADV_POPULATE_WRITE
  constexpr int MADV_POPULATE_WRITE = 23;  // linux/mman.h, Linux 5.14; older kernels answer EINVAL
#endif
  const long page_size = sysconf(_SC_PAGESIZE);
  if (data == nullptr || page_size <= 0) return false;
  const auto page = static_cast<std::uintptr_t>(page_size);
  const auto begin = reinterpret_cast<std::uintptr_t>(data);
  const std::uintptr_t first = (begin + page - 1) / page * page;  // whole pages only: the neighbours' bytes
  const std::uintptr_t last = (begin + bytes) / page * page;      // in the partial ones are not ours
  if (last <= first) return false;
  // NOLINTNEXTLINE(performance-no-int-to-ptr): the address comes from a pointer of this process
  return madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE) == 0;
}

bool fix_malloc_mmap_threshold() noexcept {
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)
  // A fixed mmap threshold also stops glibc from raising its trim threshold with it (to twice the mmap
  // threshold), which would leave the trim threshold at 128 KiB: every free at the top of a heap would then
  // give memory back that the next allocation faults in again. Set it as glibc's own rule would.
  return mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHugePageAdviceBytes)) == 1 &&
         mallopt(M_TRIM_THRESHOLD, static_cast<int>(2 * kHugePageAdviceBytes)) == 1;
#else
  return false;
#endif
}

}  // namespace glutescope::core
