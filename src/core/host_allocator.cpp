#include "sori/core/host_allocator.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace sori {

bool configure_host_allocator() {
#if defined(__GLIBC__)
  for (const char* user : {"MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES"})
    if (std::getenv(user)) return false;
  if (const char* choice = std::getenv("SORI_HOST_ALLOCATOR"); choice && std::strcmp(choice, "system") == 0) return false;
  // Blocks up to 1 GiB come from the heap and go back to it; the heap's free top is returned to
  // the system only beyond 1 GiB. mallopt takes int values.
  constexpr int kOneGiB = 1 << 30;
  return mallopt(M_MMAP_THRESHOLD, kOneGiB) == 1 && mallopt(M_TRIM_THRESHOLD, kOneGiB) == 1;
#else
  return false;
#endif
}

}  // namespace sori
