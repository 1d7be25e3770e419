#include "sori/core/torch_compat.h"

#include <cmath>
#include <cstdio>
#include <optional>

#ifdef SORI_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace sori::compat {

void release_cached_device_memory(const torch::Device& device) {
#ifdef SORI_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
  (void)device;
}

bool bf16_supported(const torch::Device& device) {
#ifdef SORI_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0)->major >= 8;
#endif
  (void)device;
  return false;
}

std::string device_name(const torch::Device& device) {
#ifdef SORI_WITH_CUDA
  if (device.is_cuda()) {
    const auto* p = at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0);
    char memory[32];
    std::snprintf(memory, sizeof memory, "%.1f GiB", static_cast<double>(p->totalGlobalMem) / (1ull << 30));
    return std::string(p->name) + ", " + memory;
  }
#endif
  (void)device;
  return "";
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define SORI_FOREACH_MUL_TENSOR 1
#endif

std::vector<torch::Tensor> foreach_norm(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return {};  // the multi-tensor ops dispatch on their first tensor
  return at::_foreach_norm(tensors, 2);
}

void foreach_mul_(const std::vector<torch::Tensor>& tensors, const torch::Tensor& factor) {
  if (tensors.empty()) return;
#ifdef SORI_FOREACH_MUL_TENSOR
  at::_foreach_mul_(tensors, factor.to(tensors.front().scalar_type()));
#else
  const auto f = factor.to(tensors.front().scalar_type());
  for (const auto& t : tensors) t.mul_(f);
#endif
}

bool fused_adamw(const torch::Device& device) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return device.is_cuda() || device.is_cpu();
#elif TORCH_VERSION_MAJOR == 2
  return device.is_cuda();
#else
  (void)device;
  return false;
#endif
}

void adamw_step(const std::vector<torch::Tensor>& params, const std::vector<torch::Tensor>& grads,
                const std::vector<torch::Tensor>& exp_avgs, const std::vector<torch::Tensor>& exp_avg_sqs,
                std::int64_t step, double lr, double beta1, double beta2, double weight_decay, double eps) {
  if (params.empty()) return;
#if TORCH_VERSION_MAJOR >= 2
  if (fused_adamw(params.front().device())) {
    // The kernel reads each parameter's step from state_steps; ours share one.
    const auto s = torch::full({}, static_cast<double>(step), params.front().options().dtype(torch::kFloat32));
    const std::vector<torch::Tensor> steps(params.size(), s);
    at::_fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, /*max_exp_avg_sqs=*/{}, steps, lr, beta1, beta2,
                      weight_decay, eps, /*amsgrad=*/false, /*maximize=*/false);
    return;
  }
#endif
  // torch::optim::AdamW's arithmetic, tensor group by tensor group.
  if (weight_decay != 0) at::_foreach_mul_(params, 1 - lr * weight_decay);
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
  at::_foreach_mul_(exp_avgs, beta1);
  at::_foreach_add_(exp_avgs, grads, 1 - beta1);
  at::_foreach_mul_(exp_avg_sqs, beta2);
  at::_foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2);
  auto denom = at::_foreach_sqrt(exp_avg_sqs);
  at::_foreach_div_(denom, std::sqrt(bias_correction2));
  at::_foreach_add_(denom, eps);
  at::_foreach_addcdiv_(params, exp_avgs, denom, -lr / bias_correction1);
}

torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const torch::Tensor& attn_mask, double dropout_p) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (q.is_cuda()) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 5)
    // cuDNN's kernel, LibTorch's first choice on sm90 for half types with a mask, gives NaN query
    // gradients where every key of a query is masked and T % 128 == 64 (pytorch#196678, 2.11):
    // our padded queries are such rows. It is kept out while the kernel is chosen (the forward's
    // choice fixes the backward's), which leaves the memory-efficient kernel.
    struct CudnnAttentionOff {
      bool was = at::globalContext().userEnabledCuDNNSDP();
      CudnnAttentionOff() { at::globalContext().setSDPUseCuDNN(false); }
      ~CudnnAttentionOff() { at::globalContext().setSDPUseCuDNN(was); }
    };
    std::optional<CudnnAttentionOff> off;
    if (at::GradMode::is_enabled()) off.emplace();
#endif
    return at::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p);
  }
  // The CPU's fused kernel gives no gradient for the mask (its backward returns q, k and v's only),
  // so a mask that needs one takes the written-out path there.
  if (!attn_mask.requires_grad()) return at::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p);
#endif
  auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  auto weights = torch::softmax(scores + attn_mask, -1);
  if (dropout_p > 0) weights = torch::dropout(weights, dropout_p, /*train=*/true);
  return torch::matmul(weights, v);
}

torch::Tensor staging_tensor(at::IntArrayRef sizes, at::ScalarType dtype, const torch::Device& target) {
  return torch::empty(sizes, torch::TensorOptions().dtype(dtype).pinned_memory(target.is_cuda()));
}

}  // namespace sori::compat
