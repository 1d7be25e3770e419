#include "sori/core/cpu_threads.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>

#include <cstdlib>

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

}  // namespace

int configure_cpu_threads(int n) {
  static const OpenBlas openblas;
  if (n > 0) at::set_num_threads(n);
  const int threads = at::get_num_threads();
  if (openblas.own_pool && !std::getenv("OPENBLAS_NUM_THREADS"))
    openblas.set_num_threads(threads > 1 ? 1 : openblas.initial_threads);
  return threads;
}

}  // namespace sori
