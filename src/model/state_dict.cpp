#include "sori/model/state_dict.h"

#include <torch/torch.h>

#include <sstream>

#include "sori/core/error.h"

namespace sori {

StateDict state_dict(const torch::nn::Module& module) {
  StateDict out;
  for (const auto& p : module.named_parameters()) out[p.key()] = p.value();
  for (const auto& b : module.named_buffers()) out[b.key()] = b.value();
  return out;
}

void load_state_dict(torch::nn::Module& module, const StateDict& tensors, const std::string& source, bool strict) {
  torch::NoGradGuard no_grad;
  std::ostringstream problems;
  auto own = state_dict(module);
  for (auto& [key, dst] : own) {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      if (strict) problems << "\n  missing: " << key;
      continue;
    }
    if (it->second.sizes() != dst.sizes()) {
      problems << "\n  " << key << ": expected shape " << dst.sizes() << ", found " << it->second.sizes();
      continue;
    }
    dst.copy_(it->second);
  }
  if (strict)
    for (const auto& [key, _] : tensors)
      if (!own.count(key)) problems << "\n  unexpected: " << key;
  const auto text = problems.str();
  SORI_CHECK(text.empty(), "state dict from ", source, " does not fit the model:", text);
}

}  // namespace sori
