// The c10d half of the compat layer (declared in sori/core/torch_compat.h). Built with
// SORI_C10D_GLOO when Gloo headers match the LibTorch in use, SORI_C10D_NCCL with a CUDA LibTorch
// (our own macros: a PyTorch wheel defines USE_C10D_GLOO for every user although it ships no Gloo
// headers; c10d's headers still need USE_C10D_*, which CMakeLists.txt sets beside ours).
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/version.h>

#include <cstdlib>
#include <type_traits>

#ifdef SORI_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef SORI_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "sori/core/error.h"
#include "sori/core/torch_compat.h"

namespace sori::compat {

namespace {

using GroupPtr = c10::intrusive_ptr<c10d::ProcessGroup>;
using StorePtr = c10::intrusive_ptr<c10d::Store>;

#if TORCH_VERSION_MAJOR >= 2
// 2.x: a ProcessGroup that routes `device_type` tensors to `backend`. Its constructor lost the
// Options argument in 2.4; templates let the branch that does not apply go uninstantiated.
template <class PG = c10d::ProcessGroup, class BackendPtr>
GroupPtr wrap_backend(const StorePtr& store, int rank, int size, const char* name, std::chrono::milliseconds timeout,
                      typename PG::BackendType type, c10::DeviceType device_type, const BackendPtr& backend) {
  c10::intrusive_ptr<PG> group;
  if constexpr (std::is_constructible_v<PG, const StorePtr&, int, int>) {
    group = c10::make_intrusive<PG>(store, rank, size);
  } else {
    group = c10::make_intrusive<PG>(store, rank, size, c10::make_intrusive<typename PG::Options>(name, timeout));
  }
  group->setDefaultBackend(type);
  group->setBackend(device_type, type, backend);
  return group;
}
#endif

}  // namespace

bool gloo_available() {
#ifdef SORI_C10D_GLOO
  return true;
#else
  return false;
#endif
}

bool nccl_available() {
#ifdef SORI_C10D_NCCL
  return true;
#else
  return false;
#endif
}

GroupPtr new_gloo_group(const StorePtr& store, int rank, int size, std::chrono::milliseconds timeout,
                        const std::string& hostname) {
#ifdef SORI_C10D_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(hostname.empty() ? c10d::ProcessGroupGloo::createDefaultDevice()
                                              : c10d::ProcessGroupGloo::createDeviceForHostname(hostname));
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, options);
#if TORCH_VERSION_MAJOR >= 2
  return wrap_backend(store, rank, size, "gloo", timeout, c10d::ProcessGroup::BackendType::GLOO, c10::DeviceType::CPU,
                      gloo);
#else
  return gloo;
#endif
#else
  (void)store, (void)rank, (void)size, (void)timeout, (void)hostname;
  SORI_FAIL("data-parallel training on CPU needs c10d Gloo, which this build lacks (Debian: libgloo-dev; "
            "a PyTorch wheel without Gloo headers builds without it)");
#endif
}

GroupPtr new_nccl_group(const StorePtr& store, int rank, int size, std::chrono::milliseconds timeout) {
#ifdef SORI_C10D_NCCL
#if TORCH_VERSION_MAJOR < 2
  // 1.13 leaves a timed-out NCCL collective hanging unless this is set; 2.x handles it by default.
  ::setenv("NCCL_ASYNC_ERROR_HANDLING", "1", /*overwrite=*/0);
#endif
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, options);
#if TORCH_VERSION_MAJOR >= 2
  return wrap_backend(store, rank, size, "nccl", timeout, c10d::ProcessGroup::BackendType::NCCL, c10::DeviceType::CUDA,
                      nccl);
#else
  return nccl;
#endif
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  SORI_FAIL("data-parallel training on CUDA needs NCCL: build against a CUDA LibTorch");
#endif
}

namespace {

// The Reducer's constructor by LibTorch version: 1.13 takes per-bucket size limits after the
// buckets; 2.x dropped them and later appended skip_all_reduce_unused_params and
// use_python_reducer, then bucket_bytes_cap_list (with batched_grad_copy defaulted).
template <class R = c10d::Reducer>
std::unique_ptr<R> construct_reducer(std::vector<at::Tensor> params, std::vector<std::vector<std::size_t>> buckets,
                                     std::vector<std::size_t> limits, GroupPtr group, std::int64_t cap,
                                     std::int64_t first_cap) {
  std::vector<bool> sparse(params.size(), false);
  std::unordered_map<std::size_t, std::string> names;
  const bool find_unused = false, as_view = true;
  using Params = std::vector<at::Tensor>;
  using Buckets = std::vector<std::vector<std::size_t>>;
  using Limits = std::vector<std::size_t>;
  using Sparse = std::vector<bool>;
  using Names = std::unordered_map<std::size_t, std::string>;
  if constexpr (std::is_constructible_v<R, Params, Buckets, Limits, GroupPtr, Sparse, std::int64_t, bool, bool, Names,
                                        std::int64_t>) {
    return std::make_unique<R>(std::move(params), std::move(buckets), std::move(limits), std::move(group),
                               std::move(sparse), cap, find_unused, as_view, std::move(names), first_cap);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, GroupPtr, Sparse, std::int64_t, bool, bool, Names,
                                               std::int64_t, bool, bool, std::vector<std::int64_t>>) {
    std::vector<std::int64_t> caps(limits.begin(), limits.end());
    return std::make_unique<R>(std::move(params), std::move(buckets), std::move(group), std::move(sparse), cap,
                               find_unused, as_view, std::move(names), first_cap, /*skip_all_reduce_unused_params=*/false,
                               /*use_python_reducer=*/false, std::move(caps));
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, GroupPtr, Sparse, std::int64_t, bool, bool, Names,
                                               std::int64_t, bool, bool>) {
    return std::make_unique<R>(std::move(params), std::move(buckets), std::move(group), std::move(sparse), cap,
                               find_unused, as_view, std::move(names), first_cap, false, false);
  } else {
    return std::make_unique<R>(std::move(params), std::move(buckets), std::move(group), std::move(sparse), cap,
                               find_unused, as_view, std::move(names), first_cap);
  }
}

}  // namespace

std::unique_ptr<c10d::Reducer> new_reducer(const std::vector<torch::Tensor>& params,
                                           const std::vector<std::vector<std::size_t>>& buckets,
                                           const std::vector<std::size_t>& bucket_size_limits, const GroupPtr& group,
                                           std::int64_t bucket_bytes_cap, std::int64_t first_bucket_bytes_cap) {
  return construct_reducer(params, buckets, bucket_size_limits, group, bucket_bytes_cap, first_bucket_bytes_cap);
}

}  // namespace sori::compat
