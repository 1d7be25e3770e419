#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "sori/core/cpu_threads.h"

namespace {

int openblas_threads() {
  const auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return get ? get() : -1;
}

void set_openblas_threads(int n) { reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))(n); }

bool openblas_has_own_pool() {
  const auto parallel = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  return parallel && parallel() == 1;
}

}  // namespace

TEST(CpuThreads, OpenBlasRunsOnTheCallingThreadBesideSeveralIntraOpThreads) {
  if (!openblas_has_own_pool()) GTEST_SKIP() << "LibTorch's BLAS here is not a pthreads OpenBLAS";
  const int before = at::get_num_threads();
  unsetenv("OPENBLAS_NUM_THREADS");
  // A pool of 2 as on a 2-core machine (ctest's OMP_NUM_THREADS=1 made it 1), in case this is the
  // process's first call, which records the pool it restores.
  set_openblas_threads(2);
  EXPECT_EQ(sori::configure_cpu_threads(1), 1);
  const int own_pool = openblas_threads();
  EXPECT_GE(own_pool, 1);
  EXPECT_EQ(sori::configure_cpu_threads(2), 2);
  EXPECT_EQ(openblas_threads(), 1);
  EXPECT_EQ(sori::configure_cpu_threads(0), 2);  // 0 keeps the intra-op threads
  EXPECT_EQ(openblas_threads(), 1);
  EXPECT_EQ(sori::configure_cpu_threads(1), 1);
  EXPECT_EQ(openblas_threads(), own_pool);  // one intra-op thread: OpenBLAS's pool is back
  // The user's choice stands.
  setenv("OPENBLAS_NUM_THREADS", "1", 1);
  set_openblas_threads(2);
  sori::configure_cpu_threads(2);
  EXPECT_EQ(openblas_threads(), 2);
  unsetenv("OPENBLAS_NUM_THREADS");
  sori::configure_cpu_threads(before);
}
