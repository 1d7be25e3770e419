#include "sori/train/grad_scaler.h"

#include <torch/torch.h>

namespace sori {

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  std::vector<torch::Tensor> norms;
  for (const auto& p : params)
    if (p.grad().defined()) norms.push_back(p.grad().detach().to(torch::kFloat32).norm(2));
  if (norms.empty()) return torch::zeros({});
  auto total = torch::stack(norms).norm(2);
  if (max_norm > 0) {
    // clamp(max_norm / (norm + 1e-6), max=1): a no-op when the norm is small, NaN-safe otherwise.
    auto coef = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(coef.to(p.grad().scalar_type()));
  }
  return total;
}

GradScaler::GradScaler(Options options, const torch::Device& device) : options_(options) {
  auto f = torch::TensorOptions().device(device);
  scale_ = torch::full({}, options_.enabled ? options_.init_scale : 1.0, f.dtype(torch::kFloat32));
  growth_tracker_ = torch::zeros({}, f.dtype(torch::kInt64));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  return options_.enabled ? loss * scale_ : loss;
}

std::pair<torch::Tensor, torch::Tensor> GradScaler::unscale_and_clip(const std::vector<torch::Tensor>& params,
                                                                     double max_norm) {
  if (options_.enabled) {
    const auto inv = scale_.reciprocal();
    for (const auto& p : params)
      if (p.grad().defined()) p.grad().mul_(inv.to(p.grad().scalar_type()));
  }
  // The global norm is inf/NaN exactly when some gradient is: one reduction serves both.
  auto norm = clip_grad_norm(params, max_norm);
  return {norm, torch::logical_not(torch::isfinite(norm))};
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
