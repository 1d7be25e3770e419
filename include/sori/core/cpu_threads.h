// CPU threads: LibTorch's intra-op threads, and OpenBLAS's beside them.
//
// OpenBLAS's pthreads build (Debian's libopenblas0-pthread, which LibTorch's matmuls go to) keeps a
// thread pool of its own, one thread per CPU, next to LibTorch's OpenMP threads. When LibTorch's
// threads alone fill every CPU, the two pools compete for them and the OpenMP threads spin while
// OpenBLAS works: on the 2-core VM a training step at 2 intra-op threads took 1.6-2.5x as long as
// with OpenBLAS on the calling thread (docs/PERFORMANCE.md). So then OpenBLAS runs on the calling
// thread. With fewer intra-op threads than CPUs OpenBLAS keeps its pool: a matmul alone on one
// core would cost more on a machine with many (not measured here, where LibTorch 1.13's default
// is 1 thread: it takes half the logical CPUs on x86-64, assuming hyperthreads).
#pragma once

namespace sori {

// n > 0 sets LibTorch's intra-op threads; 0 keeps them. Then OpenBLAS's threads follow, as above,
// unless OpenBLAS is another build (OpenMP, serial), absent (MKL, as in PyTorch's wheels), or the
// user chose its threads (OPENBLAS_NUM_THREADS or GOTO_NUM_THREADS set). Returns the intra-op
// threads. Not for a moment when other threads run LibTorch operations.
int configure_cpu_threads(int n);

}  // namespace sori
