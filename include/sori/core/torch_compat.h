// The one place where LibTorch 1.13 and 2.x differ for us. Everything else calls these.
#pragma once

#include <torch/torch.h>

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <chrono>
#include <memory>
#include <sstream>
#include <type_traits>
#include <utility>
#include <string>
#include <vector>

namespace c10d {
class Store;
class ProcessGroup;
class Reducer;
}  // namespace c10d

namespace sori::compat {

// Centred STFT with zero ("constant") padding and a complex result. 1.13 and 2.x share the
// stft.center overload; return_complex must be given explicitly on 2.x.
inline torch::Tensor stft_centered(const torch::Tensor& x, int64_t n_fft, int64_t hop, int64_t win_length,
                                   const torch::Tensor& window) {
  return torch::stft(x, n_fft, hop, win_length, window, /*center=*/true, /*pad_mode=*/"constant",
                     /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
}

inline bool cuda_available() { return torch::cuda::is_available(); }

// "auto" picks CUDA when present; "cpu", "cuda" and "cuda:N" are taken as written.
inline torch::Device parse_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  return torch::Device(name);
}

// ---- Autocast (CUDA only; we never enable CPU autocast). The API changed in LibTorch 2.4 from
// is_enabled()/get_autocast_gpu_dtype() to per-device-type functions.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
inline bool autocast_enabled_cuda() { return at::autocast::is_autocast_enabled(at::kCUDA); }
inline void set_autocast_enabled_cuda(bool on) { at::autocast::set_autocast_enabled(at::kCUDA, on); }
inline at::ScalarType autocast_dtype_cuda() { return at::autocast::get_autocast_dtype(at::kCUDA); }
inline void set_autocast_dtype_cuda(at::ScalarType t) { at::autocast::set_autocast_dtype(at::kCUDA, t); }
#else
inline bool autocast_enabled_cuda() { return at::autocast::is_enabled(); }
inline void set_autocast_enabled_cuda(bool on) { at::autocast::set_enabled(on); }
inline at::ScalarType autocast_dtype_cuda() { return at::autocast::get_autocast_gpu_dtype(); }
inline void set_autocast_dtype_cuda(at::ScalarType t) { at::autocast::set_autocast_gpu_dtype(t); }
#endif

inline bool autocast_enabled(const torch::Device& device) { return device.is_cuda() && autocast_enabled_cuda(); }
inline at::ScalarType autocast_dtype(const torch::Device& device) {
  return device.is_cuda() ? autocast_dtype_cuda() : torch::kFloat32;
}

// Enters and leaves autocast the way Python's torch.autocast does: saves the previous state,
// counts nesting, and clears the cast cache when the outermost region ends. On a CPU device it
// does nothing.
class AutocastGuard {
 public:
  AutocastGuard(const torch::Device& device, bool enabled, at::ScalarType dtype) : active_(device.is_cuda()) {
    if (!active_) return;
    prev_enabled_ = autocast_enabled_cuda();
    prev_dtype_ = autocast_dtype_cuda();
    prev_cache_ = at::autocast::is_autocast_cache_enabled();
    set_autocast_enabled_cuda(enabled);
    set_autocast_dtype_cuda(dtype);
    at::autocast::increment_nesting();
    at::autocast::set_autocast_cache_enabled(true);
  }
  ~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast_enabled_cuda(prev_enabled_);
    set_autocast_dtype_cuda(prev_dtype_);
    at::autocast::set_autocast_cache_enabled(prev_cache_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_;
  bool prev_enabled_ = false, prev_cache_ = true;
  at::ScalarType prev_dtype_ = at::kHalf;
};

// ---- Multi-tensor ops (src/core/torch_compat.cpp). One kernel launch per group of tensors on
// CUDA instead of one per tensor; on Debian's 1.13 CPU build they loop, with the same arithmetic
// as the per-tensor code they replace.
// The L2 norm of each tensor (float32 results for float32 inputs).
std::vector<torch::Tensor> foreach_norm(const std::vector<torch::Tensor>& tensors);
// Multiplies every tensor in place by the 0-dim tensor `factor` without reading it on the host
// (the Tensor overload of _foreach_mul_ exists from 2.1).
void foreach_mul_(const std::vector<torch::Tensor>& tensors, const torch::Tensor& factor);
// One AdamW step (decoupled weight decay, no amsgrad) over parameters that share the step count
// `step` (already incremented, >= 1). CUDA parameters on 2.x: at::_fused_adamw_ (one kernel for
// all); otherwise _foreach_* ops computing exactly what torch::optim::AdamW computes per tensor.
void adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                std::int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps);
// Whether adamw_step takes the fused kernel for tensors on `device`.
bool fused_adamw(const torch::Device& device);

// softmax(q k^T / sqrt(dk) + attn_mask) v, with dropout_p applied to the weights when > 0.
// q [B, H, Tq, dk], k and v [B, H, Tk, dk], attn_mask additive and broadcastable to [B, H, Tq, Tk]
// (it may require gradients). LibTorch >= 2.1: at::scaled_dot_product_attention (on CUDA the
// memory-efficient kernel, mask gradients included; cuDNN's is kept out while training), except on
// the CPU for a mask that requires gradients; elsewhere the same arithmetic in separate ops.
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const torch::Tensor& attn_mask, double dropout_p);

// torch::optim keys its per-parameter state by the parameter's TensorImpl: a string of the address
// in 1.13, the address itself in later versions.
template <class Key = std::decay_t<decltype(std::declval<torch::optim::Optimizer&>().state())>::key_type>
Key optimizer_state_key(const torch::Tensor& param) {
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream os;
    os << param.unsafeGetTensorImpl();
    return os.str();
  } else {
    return static_cast<Key>(param.unsafeGetTensorImpl());
  }
}

// Host memory for a tensor about to be copied to `target`: pinned when `target` is CUDA, so that
// `.to(target, /*non_blocking=*/true)` neither stages nor waits for the device.
torch::Tensor staging_tensor(at::IntArrayRef sizes, at::ScalarType dtype, const torch::Device& target);

// Returns the caching allocator's unused blocks to the device after an out-of-memory error (CUDA
// only; nothing elsewhere).
void release_cached_device_memory(const torch::Device& device);

// torch.cuda.is_bf16_supported(): compute capability >= 8.0. False on CPU-only builds.
bool bf16_supported(const torch::Device& device);

// The GPU's name and memory ("NVIDIA H100 80GB HBM3, 79.1 GiB"); "" for the CPU.
std::string device_name(const torch::Device& device);

// ---- c10d (src/core/torch_compat_c10d.cpp). In 1.13 ProcessGroupGloo/NCCL are ProcessGroups;
// in 2.x they are Backends registered inside a ProcessGroup, and the Reducer's constructor
// changed its arguments several times. Callers see one signature.
bool gloo_available();  // built with c10d Gloo (Debian's libgloo-dev, or a LibTorch that ships it)
bool nccl_available();  // built against a CUDA LibTorch
// `hostname`: the address this rank's Gloo transport binds (loopback for single-node tests).
c10::intrusive_ptr<c10d::ProcessGroup> new_gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                      int size, std::chrono::milliseconds timeout,
                                                      const std::string& hostname);
c10::intrusive_ptr<c10d::ProcessGroup> new_nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                                      int size, std::chrono::milliseconds timeout);
// DDP's gradient reducer over `params` with the given buckets (indices into params), gradients as
// bucket views, every parameter expected to receive a gradient.
std::unique_ptr<c10d::Reducer> new_reducer(const std::vector<torch::Tensor>& params,
                                           const std::vector<std::vector<std::size_t>>& buckets,
                                           const std::vector<std::size_t>& bucket_size_limits,
                                           const c10::intrusive_ptr<c10d::ProcessGroup>& group,
                                           std::int64_t bucket_bytes_cap, std::int64_t first_bucket_bytes_cap);

}  // namespace sori::compat
