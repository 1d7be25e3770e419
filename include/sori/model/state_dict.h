// Named tensors of a module (parameters and persistent buffers) under NeMo-style dotted keys,
// and loading them back with a check that names every missing, unexpected or mis-shaped key.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>

namespace sori {

using StateDict = std::map<std::string, torch::Tensor>;

StateDict state_dict(const torch::nn::Module& module);
// strict: every key of the module must be present and no other key may be.
void load_state_dict(torch::nn::Module& module, const StateDict& tensors, const std::string& source, bool strict = true);

}  // namespace sori
