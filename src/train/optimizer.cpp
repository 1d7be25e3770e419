#include "sori/train/optimizer.h"

#include <torch/torch.h>

#include <sstream>

#include "sori/core/error.h"

namespace sori {

Optimizer::Optimizer(const OptimConfig& o, std::vector<torch::Tensor> params) : params_(std::move(params)) {
  SORI_CHECK(o.name == "adamw", "model.optim.name: only adamw is supported, found '", o.name, "'");
  SORI_CHECK(o.betas.size() == 2, "model.optim.betas: expected two values, found ", o.betas.size());
  adamw_ = std::make_unique<torch::optim::AdamW>(
      params_, torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
}

void Optimizer::set_lr(double lr) {
  for (auto& group : adamw_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

void Optimizer::zero_grad() {
  torch::NoGradGuard no_grad;
  for (auto& p : params_)
    if (p.grad().defined()) p.grad().zero_();
}

void Optimizer::step() { adamw_->step(); }

std::string Optimizer::save() const {
  torch::serialize::OutputArchive archive;
  adamw_->save(archive);
  std::ostringstream os;
  archive.save_to(os);
  return os.str();
}

void Optimizer::load(const std::string& bytes, const torch::Device& device, const std::string& source) {
  std::istringstream in(bytes);
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(in, device);
    adamw_->load(archive);
  } catch (const c10::Error& e) {
    SORI_FAIL(source, ": optimizer state does not fit this model (", e.what_without_backtrace(), ")");
  }
}

}  // namespace sori
