// CPU threads: LibTorch's intra-op threads, and OpenBLAS's beside them.
//
// OpenBLAS's pthreads build (Debian's libopenblas0-pthread, which LibTorch's matmuls go to) keeps a
// thread pool of its own, one thread per core, next to LibTorch's OpenMP threads. With two or more
// intra-op threads both pools compete for the cores, and the OpenMP threads spin while OpenBLAS
// works: on the 2-core VM a training step took 1.9-2.7x as long with LibTorch's default of 2
// threads as with 1 (docs/PERFORMANCE.md). So with 2+ intra-op threads OpenBLAS runs on the
// thread that calls it; with 1, it keeps its pool, and a matmul still uses every core.
#pragma once

namespace sori {

// n > 0 sets LibTorch's intra-op threads; 0 keeps them. Then OpenBLAS's threads follow, as above,
// unless OpenBLAS is another build (OpenMP, serial), absent (MKL, as in PyTorch's wheels), or the
// user chose its threads (OPENBLAS_NUM_THREADS set). Returns the intra-op threads. Not for a
// moment when other threads run LibTorch operations.
int configure_cpu_threads(int n);

}  // namespace sori
