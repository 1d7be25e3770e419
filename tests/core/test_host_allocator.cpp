#include "sori/core/host_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "sori/core/sanitizer.h"

// The tuning applies on glibc unless the user chose otherwise (the speed-up itself is measured by
// bench/run_export_cpu.sh and bench/compare_step.sh, never timed here).
TEST(HostAllocator, TunesGlibcUnlessTheUserChoseOtherwise) {
  ::setenv("SORI_HOST_ALLOCATOR", "system", 1);
  EXPECT_FALSE(sori::configure_host_allocator());
  ::unsetenv("SORI_HOST_ALLOCATOR");
  ::setenv("MALLOC_TRIM_THRESHOLD_", "1000000", 1);
  EXPECT_FALSE(sori::configure_host_allocator());
  ::unsetenv("MALLOC_TRIM_THRESHOLD_");
#if defined(__GLIBC__)
  // ASan's malloc ignores mallopt.
  if (!sori::kAddressSanitizer && !std::getenv("MALLOC_MMAP_THRESHOLD_") && !std::getenv("GLIBC_TUNABLES"))
    EXPECT_TRUE(sori::configure_host_allocator());
#endif
}
