// The host memory allocator, tuned once at process start for tensor workloads.
//
// LibTorch's CPU tensors come from malloc. glibc serves blocks above its mmap threshold (at most
// 32 MiB, adjusted at run time) with fresh mmap()s and unmaps them on free, so every large
// activation of every step faults its pages in again: on the 2-core VM a 62 MB tensor costs
// ~40 ms to allocate and touch instead of ~15 ms (docs/PERFORMANCE.md). Keeping freed blocks in
// the heap for reuse, as ONNX Runtime's arena does, removes that. The price: the process keeps
// its peak host memory instead of returning it to the system.
#pragma once

namespace sori {

// Call first thing in main(). A no-op without glibc, or when the user tunes malloc already
// (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_ or GLIBC_TUNABLES set) or opts out with
// SORI_HOST_ALLOCATOR=system. Returns whether it changed anything.
bool configure_host_allocator();

}  // namespace sori
