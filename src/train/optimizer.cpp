#include "sori/train/optimizer.h"

#include <torch/torch.h>

#include <map>

#include "sori/core/error.h"
#include "sori/core/torch_compat.h"

namespace sori {

Optimizer::Optimizer(const OptimConfig& o, std::vector<torch::Tensor> params) : params_(std::move(params)) {
  SORI_CHECK(o.name == "adamw", "model.optim.name: only adamw is supported, found '", o.name, "'");
  SORI_CHECK(o.betas.size() == 2, "model.optim.betas: expected two values, found ", o.betas.size());
  adamw_ = std::make_unique<torch::optim::AdamW>(
      params_, torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));
}

torch::optim::AdamWOptions& Optimizer::options() const {
  return static_cast<torch::optim::AdamWOptions&>(adamw_->param_groups().front().options());
}

void Optimizer::set_lr(double lr) { options().lr(lr); }

void Optimizer::zero_grad() {
  torch::NoGradGuard no_grad;
  for (auto& p : params_)
    if (p.grad().defined()) p.grad().zero_();
}

// torch::optim::AdamW's update, but over all parameters at once (compat::adamw_step) instead of
// one parameter at a time; its state objects are kept, so checkpoints read and write as before.
void Optimizer::step() {
  struct Group {
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
  };
  std::map<std::int64_t, Group> by_step;  // one group in practice: every parameter steps together
  auto& state = adamw_->state();
  torch::NoGradGuard no_grad;
  for (const auto& p : params_) {
    if (!p.grad().defined()) continue;
    const auto key = compat::optimizer_state_key(p);
    auto it = state.find(key);
    if (it == state.end()) {
      auto fresh = std::make_unique<torch::optim::AdamWParamState>();
      fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
      it = state.emplace(key, std::move(fresh)).first;
    }
    auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
    s.step(s.step() + 1);
    auto& g = by_step[s.step()];
    g.params.push_back(p);
    g.grads.push_back(p.grad());
    g.exp_avgs.push_back(s.exp_avg());
    g.exp_avg_sqs.push_back(s.exp_avg_sq());
  }
  const auto& o = options();
  for (const auto& [step, g] : by_step)
    compat::adamw_step(g.params, g.grads, g.exp_avgs, g.exp_avg_sqs, step, o.lr(), std::get<0>(o.betas()),
                       std::get<1>(o.betas()), o.weight_decay(), o.eps());
}

torch::Tensor Optimizer::save() const {
  torch::serialize::OutputArchive archive;
  adamw_->save(archive);
  // Reserved for the state's tensors and some headroom: a large model's state is about a GB, and
  // a growing buffer would copy it several times over.
  std::size_t tensor_bytes = 0;
  for (const auto& [key, state] : adamw_->state()) {
    const auto& s = static_cast<const torch::optim::AdamWParamState&>(*state);
    for (const auto& t : {s.exp_avg(), s.exp_avg_sq(), s.max_exp_avg_sq()})
      if (t.defined()) tensor_bytes += t.numel() * t.element_size();
  }
  std::string bytes;
  bytes.reserve(tensor_bytes + tensor_bytes / 16 + (1 << 20));
  archive.save_to([&bytes](const void* data, std::size_t n) {
    bytes.append(static_cast<const char*>(data), n);
    return n;
  });
  // The tensor takes the buffer over: its deleter owns the string.
  auto owner = std::make_shared<std::string>(std::move(bytes));
  return torch::from_blob(owner->data(), {static_cast<std::int64_t>(owner->size())}, [owner](void*) {}, torch::kUInt8);
}

void Optimizer::load(const torch::Tensor& bytes, const torch::Device& device, const std::string& source) {
  SORI_CHECK(bytes.defined() && bytes.device().is_cpu() && bytes.scalar_type() == torch::kUInt8 && bytes.dim() == 1,
             source, ": optimizer state is not a 1-D uint8 CPU tensor of bytes");
  const auto contiguous = bytes.contiguous();
  torch::serialize::InputArchive archive;
  try {
    // In place: a stream over them would copy the bytes once more.
    archive.load_from(static_cast<const char*>(contiguous.data_ptr()), static_cast<std::size_t>(contiguous.numel()),
                      device);
    adamw_->load(archive);
  } catch (const c10::Error& e) {
    SORI_FAIL(source, ": optimizer state does not fit this model (", e.what_without_backtrace(), ")");
  }
}

}  // namespace sori
