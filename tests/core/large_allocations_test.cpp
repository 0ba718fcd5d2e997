// core/large_buffers and the executables' operator new (src/core/operator_new.cpp, linked
// into this test): what the kernel records for the buffers, read back from /proc/self/smaps.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include "core/large_buffers.hpp"

namespace {

using glutescope::core::advise_huge_pages;
using glutescope::core::kHugePageAdviceBytes;
using glutescope::core::kReplacesOperatorNew;

// One mapping of /proc/self/smaps: its address range and VmFlags.
struct Mapping {
  std::uintptr_t begin = 0, end = 0;
  std::vector<std::string> flags;
  [[nodiscard]] bool has(const std::string& flag) const {
    for (const std::string& f : flags)
      if (f == flag) return true;
    return false;
  }
};

std::vector<Mapping> mappings() {
  std::ifstream in("/proc/self/smaps");
  std::vector<Mapping> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmFlags:", 0) == 0) {
      if (out.empty()) continue;
      std::istringstream words(line.substr(8));
      for (std::string w; words >> w;) out.back().flags.push_back(w);
      continue;
    }
    const std::size_t dash = line.find('-');
    const std::size_t space = line.find(' ');
    if (dash == std::string::npos || space == std::string::npos || dash > space) continue;
    if (line.find(':') < dash) continue;  // a "Key: value" line
    Mapping m;
    m.begin = std::stoull(line.substr(0, dash), nullptr, 16);
    m.end = std::stoull(line.substr(dash + 1, space - dash - 1), nullptr, 16);
    out.push_back(m);
  }
  return out;
}

// The mappings that [p, p + bytes) overlaps, in address order.
std::vector<Mapping> mappings_of(const void* p, std::size_t bytes) {
  const auto begin = reinterpret_cast<std::uintptr_t>(p);
  std::vector<Mapping> out;
  for (const Mapping& m : mappings())
    if (m.begin < begin + bytes && begin < m.end) out.push_back(m);
  return out;
}

// Whether this kernel has transparent huge pages at all (MADV_HUGEPAGE fails with EINVAL without them).
bool kernel_has_thp() { return std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good(); }

TEST(LargeBuffers, AdviceCoversEveryPageOfTheBufferAndNothingIsWritten) {
  // Deliberately not page-aligned at either end: the partly covered first and last pages must be advised
  // too, or the mapping would be split inside a 2-MiB range.
  const std::size_t bytes = kHugePageAdviceBytes + 12345;
  const std::unique_ptr<unsigned char[]> owner(new unsigned char[bytes + 64]);
  unsigned char* p = owner.get() + 40;
  for (std::size_t i = 0; i < bytes; i += 4096) p[i] = static_cast<unsigned char>(i / 4096 * 7);
  ASSERT_EQ(advise_huge_pages(p, bytes), kernel_has_thp());
  const std::vector<Mapping> covering = mappings_of(p, bytes);
  ASSERT_FALSE(covering.empty());
  for (const Mapping& m : covering)
    EXPECT_EQ(m.has("hg"), kernel_has_thp()) << std::hex << m.begin << "-" << m.end;
  EXPECT_LE(covering.front().begin, reinterpret_cast<std::uintptr_t>(p));
  EXPECT_GE(covering.back().end, reinterpret_cast<std::uintptr_t>(p) + bytes);
  for (std::size_t i = 0; i < bytes; i += 4096) ASSERT_EQ(p[i], static_cast<unsigned char>(i / 4096 * 7));
}

TEST(LargeBuffers, SmallBuffersAndNullAreLeftAlone) {
  std::vector<unsigned char> small(kHugePageAdviceBytes - 1);
  EXPECT_FALSE(advise_huge_pages(small.data(), small.size()));
  EXPECT_FALSE(advise_huge_pages(nullptr, kHugePageAdviceBytes * 2));
}

// Operator new of the executable: large allocations get a mapping of their own, advised, even after a freed
// larger one (by default glibc then raises its mmap threshold and serves the next ones from its heap).
// populate_pages maps every whole page of the range at once (mincore: resident) and leaves the partly
// covered first and last pages alone; nothing is written: what another thread wrote stays, the rest reads 0.
TEST(LargeBuffers, PopulateMapsTheWholePagesWithoutWritingThem) {
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  constexpr std::size_t kPages = 64;
  void* const map = mmap(nullptr, kPages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(map, MAP_FAILED);
  auto* const bytes = static_cast<unsigned char*>(map);
  bytes[5 * page + 7] = 42;  // written before: kept
  std::vector<unsigned char> resident(kPages);
  ASSERT_EQ(mincore(map, kPages * page, resident.data()), 0);
  std::size_t before = 0;
  for (const unsigned char r : resident) before += r & 1U;
  EXPECT_EQ(before, 1U);  // only the page written to
  // From the middle of page 1 to the middle of page 60: whole pages 2..59.
  ASSERT_TRUE(glutescope::core::populate_pages(bytes + page + 100, 59 * page));
  ASSERT_EQ(mincore(map, kPages * page, resident.data()), 0);
  for (std::size_t k = 0; k < kPages; ++k) {
    const bool expected = (k >= 2 && k < 60) || k == 5;
    EXPECT_EQ((resident[k] & 1U) != 0, expected) << "page " << k;
  }
  std::size_t nonzero = 0;
  for (std::size_t i = 0; i < kPages * page; ++i) nonzero += bytes[i] != 0 ? 1 : 0;
  EXPECT_EQ(nonzero, 1U);
  EXPECT_EQ(bytes[5 * page + 7], 42);
  EXPECT_FALSE(glutescope::core::populate_pages(bytes + 1, page / 2));  // no whole page
  EXPECT_FALSE(glutescope::core::populate_pages(nullptr, page));
  munmap(map, kPages * page);
}

TEST(LargeAllocations, LargeNewIsAnAdvisedMappingOfItsOwnAfterALargerFree) {
  const bool advised = kReplacesOperatorNew && kernel_has_thp();
  {  // written and read through a volatile pointer, so that the compiler cannot elide the pair
    double* volatile larger = new double[(std::size_t{16} << 20) / sizeof(double)];
    larger[0] = 1.0;
    EXPECT_EQ(larger[0], 1.0);
    delete[] larger;
  }
  const std::size_t bytes = kHugePageAdviceBytes + std::size_t{4096} * 3 + 8;
  const std::unique_ptr<std::byte[]> buffer(new std::byte[bytes]);
  const std::vector<Mapping> covering = mappings_of(buffer.get(), bytes);
  ASSERT_EQ(covering.size(), 1U);
  EXPECT_EQ(covering.front().has("hg"), advised);
  if (!kReplacesOperatorNew) return;  // asserted above: the toolchain's operator new gives no advice
  // Its own mapping: it starts in the buffer's first page (malloc's chunk header) and ends in its last.
  const auto p = reinterpret_cast<std::uintptr_t>(buffer.get());
  EXPECT_LE(covering.front().begin, p);
  EXPECT_LT(p - covering.front().begin, 4096U);
  EXPECT_LT(covering.front().end - (p + bytes), 2 * 4096U);
}

TEST(LargeAllocations, AVectorOfLargeSizeIsAdvisedAndASmallOneIsNot) {
  const bool advised = kReplacesOperatorNew && kernel_has_thp();
  std::vector<double> v(kHugePageAdviceBytes / sizeof(double) * 3);
  const std::vector<Mapping> covering = mappings_of(v.data(), v.size() * sizeof(double));
  ASSERT_FALSE(covering.empty());
  for (const Mapping& m : covering) EXPECT_EQ(m.has("hg"), advised);
  // A small allocation comes from malloc's heap, which no advice has touched.
  const std::vector<double> small(1000, 2.0);
  const std::vector<Mapping> heap = mappings_of(small.data(), small.size() * sizeof(double));
  ASSERT_EQ(heap.size(), 1U);
  EXPECT_FALSE(heap.front().has("hg"));
  v.assign(v.size(), 1.5);
  EXPECT_EQ(v[v.size() / 2], 1.5);
}

TEST(LargeAllocations, FailureStillThrowsBadAllocAndNothrowStillReturnsNull) {
  // Sanitizer builds keep their own operator new, which stops the process on an absurd request by design
  // (ASan's allocator_may_return_null); the replacement's failure path is what this test is about.
  if constexpr (!kReplacesOperatorNew) return;
  const std::size_t absurd = std::numeric_limits<std::size_t>::max() / 2;
  void* volatile single = nullptr;
  EXPECT_THROW(single = ::operator new(absurd), std::bad_alloc);
  ::operator delete(single);  // null: nothing to free
  EXPECT_EQ(::operator new(absurd, std::nothrow), nullptr);
  // Kept from being elided: the count is unknown to the compiler and the pointer is stored.
  const volatile std::size_t count = absurd / sizeof(double) - 1;
  double* volatile array = nullptr;
  EXPECT_THROW(array = new double[count], std::bad_alloc);
  EXPECT_EQ(array, nullptr);
}

}  // namespace
