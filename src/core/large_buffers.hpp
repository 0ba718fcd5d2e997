#pragma once
// Large buffers on transparent huge pages (docs/PERFORMANCE.md, "Huge pages").
//
// A 1-hour session's analysis touches about 1 GB. On 4-KiB pages that is about 277 000 page faults, each a
// trip into the kernel (costly in a virtual machine), and a TLB miss for almost every access of a long
// strided pass over the [samples x lanes] group buffers. A 2-MiB page covers 512 of them. Linux gives a
// mapping huge pages only where transparent huge pages are "always" or, in the common "madvise" setting,
// where the program asks with madvise(MADV_HUGEPAGE). glibc's malloc asks only if the glibc.malloc.hugetlb
// tunable is in the environment when the process starts, which a program cannot arrange for itself; so the
// glutescope executable's operator new asks for every allocation of at least kHugePageAdviceBytes
// (src/core/operator_new.cpp).
//
// The advice changes no byte of the buffer. Where huge pages are disabled ("never"), unavailable, or the call
// fails, the buffer stays on small pages and everything works as before.
#include <cstddef>

// Sanitizer builds keep the toolchain's operator new (ASan's checks that new and delete pair up).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GLUTESCOPE_SANITIZED_NEW 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define GLUTESCOPE_SANITIZED_NEW 1
#endif
#endif

namespace glutescope::core {

#ifdef GLUTESCOPE_SANITIZED_NEW
inline constexpr bool kReplacesOperatorNew = false;
#else
// Whether src/core/operator_new.cpp replaces operator new in the executables that link it.
inline constexpr bool kReplacesOperatorNew = true;
#endif

// Allocations smaller than this are left alone: they share pages with others.
inline constexpr std::size_t kHugePageAdviceBytes = std::size_t{4} << 20;

// Ask for huge pages on the pages that [data, data + bytes) touches. Call it before the buffer is first
// written: pages already touched stay small until the kernel's background collapse (khugepaged) merges them.
// Returns true if advice was given (false: smaller than kHugePageAdviceBytes, or the kernel refused).
bool advise_huge_pages(void* data, std::size_t bytes) noexcept;

// Make glibc's malloc serve every allocation of at least kHugePageAdviceBytes from a mapping of its own (a
// fixed mmap threshold: by default glibc raises its threshold, up to 32 MiB, whenever such a mapping is
// freed, and serves later ones from its heap). Advice on part of a heap splits the heap's mapping and misses
// most 2-MiB-aligned ranges; a mapping of its own gets huge pages throughout and returns to the system when
// freed. The trim threshold is set to twice that, as glibc's dynamic rule would. Returns true if glibc
// accepted both settings.
bool fix_malloc_mmap_threshold() noexcept;

// Have the kernel map (and clear) every whole page of [data, data + bytes) now, on the calling thread, so
// that whoever writes the buffer later does not stop for page faults: madvise(MADV_POPULATE_WRITE),
// Linux 5.14. It writes no byte a program could see (a page already mapped is left as it is), so it may run
// while another thread writes the buffer. The partly covered first and last pages are left to fault as usual.
// Returns false where the kernel does not support it or refuses (the buffer then faults page by page as
// before).
bool populate_pages(void* data, std::size_t bytes) noexcept;

}  // namespace glutescope::core
