#include "sori/train/grad_scaler.h"

#include <torch/torch.h>

#include <map>

#include "sori/core/torch_compat.h"

namespace sori {

namespace {
std::vector<torch::Tensor> defined_grads(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad().detach());
  return grads;
}
}  // namespace

torch::Tensor grad_norm(const std::vector<torch::Tensor>& params) {
  // Grouped by dtype: a multi-tensor kernel takes one dtype; low-precision gradients count in float32.
  std::vector<torch::Tensor> wide, narrow, norms;
  for (auto& g : defined_grads(params)) (g.scalar_type() == torch::kFloat64 ? wide : narrow).push_back(g);
  for (auto& g : narrow)
    if (g.scalar_type() != torch::kFloat32) g = g.to(torch::kFloat32);
  for (const auto* group : {&narrow, &wide})
    for (auto& n : compat::foreach_norm(*group)) norms.push_back(n.to(wide.empty() ? torch::kFloat32 : torch::kFloat64));
  if (norms.empty()) return torch::zeros({});
  return torch::stack(norms).norm(2);
}

void scale_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& factor) {
  std::map<torch::ScalarType, std::vector<torch::Tensor>> by_dtype;
  for (auto& g : defined_grads(params)) by_dtype[g.scalar_type()].push_back(g);
  for (const auto& [dtype, grads] : by_dtype) compat::foreach_mul_(grads, factor);
}

GradScaler::GradScaler(Options options, const torch::Device& device) : options_(options) {
  auto f = torch::TensorOptions().device(device);
  scale_ = torch::full({}, options_.enabled ? options_.init_scale : 1.0, f.dtype(torch::kFloat32));
  growth_tracker_ = torch::zeros({}, f.dtype(torch::kInt64));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  return options_.enabled ? loss * scale_ : loss;
}

void GradScaler::update(const torch::Tensor& found_inf) {
  if (!options_.enabled) return;
  const auto inf = found_inf.to(scale_.device());
  const auto tracker = torch::where(inf, torch::zeros_like(growth_tracker_), growth_tracker_ + 1);
  const auto grow = tracker >= options_.growth_interval;
  scale_ = torch::where(inf, scale_ * options_.backoff_factor, torch::where(grow, scale_ * options_.growth_factor, scale_));
  growth_tracker_ = torch::where(grow, torch::zeros_like(tracker), tracker);
}

void GradScaler::load(const torch::Tensor& scale, const torch::Tensor& growth_tracker) {
  scale_ = scale.to(scale_.device(), torch::kFloat32).clone();
  growth_tracker_ = growth_tracker.to(growth_tracker_.device(), torch::kInt64).clone();
}

}  // namespace sori
