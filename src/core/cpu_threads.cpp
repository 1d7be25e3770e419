#include "sori/core/cpu_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sched.h>

#include <cstdlib>
#include <thread>

namespace sori {

namespace {

// OpenBLAS's C API, looked up in the process: LibTorch reaches OpenBLAS through libblas.so.3, so
// whether it is there at all is known only at run time.
struct OpenBlas {
  using SetThreads = void (*)(int);
  using GetInt = int (*)();
  SetThreads set_num_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  GetInt get_num_threads = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  GetInt get_parallel = reinterpret_cast<GetInt>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  // 1: its own pthreads pool (0: serial, 2: OpenMP, which shares LibTorch's runtime).
  bool own_pool = set_num_threads && get_num_threads && get_parallel && get_parallel() == 1;
  int initial_threads = own_pool ? get_num_threads() : 0;
};

// The CPUs this process may run on (taskset, cgroup cpusets), else the machine's.
int available_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

}  // namespace

int configure_cpu_threads(int n) {
  static const OpenBlas openblas;
  if (n > 0) at::set_num_threads(n);
  const int threads = at::get_num_threads();
  if (openblas.own_pool && !std::getenv("OPENBLAS_NUM_THREADS") && !std::getenv("GOTO_NUM_THREADS"))
    openblas.set_num_threads(threads >= 2 && threads >= available_cpus() ? 1 : openblas.initial_threads);
  return threads;
}

}  // namespace sori
