#include "sori/model/state_dict.h"

#include <torch/torch.h>

#include <algorithm>
#include <sstream>
#include <vector>

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
  std::vector<std::string> problems;
  auto own = state_dict(module);
  for (auto& [key, dst] : own) {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      if (strict) problems.push_back("missing: " + key);
      continue;
    }
    if (it->second.sizes() != dst.sizes()) {
      std::ostringstream os;
      os << key << ": expected shape " << dst.sizes() << ", found " << it->second.sizes();
      problems.push_back(os.str());
      continue;
    }
    dst.copy_(it->second);
  }
  if (strict)
    for (const auto& [key, _] : tensors)
      if (!own.count(key)) problems.push_back("unexpected: " + key);
  if (problems.empty()) return;
  // The first mismatch says most (another d_model, another vocabulary); a few more show the pattern.
  std::ostringstream more;
  const std::size_t shown = std::min<std::size_t>(problems.size(), 6);
  for (std::size_t i = 1; i < shown; ++i) more << "\n  " << problems[i];
  if (problems.size() > shown) more << "\n  ... and " << problems.size() - shown << " more";
  SORI_FAIL(source, " does not fit the model (another architecture or vocabulary?): ", problems.front(), more.str());
}

}  // namespace sori
