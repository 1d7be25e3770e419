#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "sori/core/cpu_threads.h"

namespace {

int openblas_threads() { return reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"))(); }

void set_openblas_threads(int n) { reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))(n); }

bool openblas_has_own_pool() {
  const auto parallel = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  return parallel && parallel() == 1 && dlsym(RTLD_DEFAULT, "openblas_get_num_threads") &&
         dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
}

// Environment variables and thread counts as they were, whatever the test does.
class SavedThreadState {
 public:
  SavedThreadState() : torch_(at::get_num_threads()), openblas_(openblas_threads()) {
    for (auto* name : {"OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS"})
      if (const char* v = std::getenv(name)) env_.emplace_back(name, v);
  }
  ~SavedThreadState() {
    unsetenv("OPENBLAS_NUM_THREADS");
    unsetenv("GOTO_NUM_THREADS");
    for (const auto& [name, value] : env_) setenv(name.c_str(), value.c_str(), 1);
    at::set_num_threads(torch_);
    set_openblas_threads(openblas_);
  }

 private:
  int torch_, openblas_;
  std::vector<std::pair<std::string, std::string>> env_;
};

}  // namespace

TEST(CpuThreads, OpenBlasRunsOnTheCallingThreadWhenLibTorchsThreadsFillEveryCpu) {
  if (!openblas_has_own_pool()) GTEST_SKIP() << "LibTorch's BLAS here is not a pthreads OpenBLAS";
  const SavedThreadState saved;
  unsetenv("OPENBLAS_NUM_THREADS");
  unsetenv("GOTO_NUM_THREADS");
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const int cpus = CPU_COUNT(&set);

  // One intra-op thread: OpenBLAS has its own pool, whatever was set in between.
  EXPECT_EQ(sori::configure_cpu_threads(1), 1);
  const int own_pool = openblas_threads();
  set_openblas_threads(own_pool + 1);
  sori::configure_cpu_threads(1);
  EXPECT_EQ(openblas_threads(), own_pool);

  // As many intra-op threads as CPUs (at least 2): OpenBLAS runs on the calling thread.
  const int filling = std::max(2, cpus);
  set_openblas_threads(2);
  EXPECT_EQ(sori::configure_cpu_threads(filling), filling);
  EXPECT_EQ(openblas_threads(), 1);
  EXPECT_EQ(sori::configure_cpu_threads(0), filling);  // 0 keeps the intra-op threads
  EXPECT_EQ(openblas_threads(), 1);

  // Fewer intra-op threads than CPUs (2 or more): OpenBLAS keeps its pool.
  if (cpus >= 3) {
    sori::configure_cpu_threads(cpus - 1);
    EXPECT_EQ(openblas_threads(), own_pool);
  }

  // The user's choice stands.
  setenv("OPENBLAS_NUM_THREADS", "2", 1);
  set_openblas_threads(2);
  sori::configure_cpu_threads(filling);
  EXPECT_EQ(openblas_threads(), 2);
}
