#include "sori/core/host_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SORI_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SORI_ASAN 1
#endif

// The tuning applies on glibc unless the user chose otherwise (the speed-up itself is measured by
// bench/run_export_cpu.sh and bench/compare_step.sh, never timed here).
TEST(HostAllocator, TunesGlibcUnlessTheUserChoseOtherwise) {
  ::setenv("SORI_HOST_ALLOCATOR", "system", 1);
  EXPECT_FALSE(sori::configure_host_allocator());
  ::unsetenv("SORI_HOST_ALLOCATOR");
  ::setenv("MALLOC_TRIM_THRESHOLD_", "1000000", 1);
  EXPECT_FALSE(sori::configure_host_allocator());
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
#if defined(__GLIBC__) && !defined(SORI_ASAN)  // ASan's malloc ignores mallopt
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_") && !std::getenv("GLIBC_TUNABLES")) EXPECT_TRUE(sori::configure_host_allocator());
#endif
}
