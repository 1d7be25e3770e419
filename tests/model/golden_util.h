// Loading the golden files written by the Python reference scripts (plain torch.save'd dicts).
#pragma once

#include <torch/torch.h>

#include <fstream>
#include <iterator>
#include <string>

#include "sori/model/state_dict.h"

namespace sori::test {

inline c10::Dict<c10::IValue, c10::IValue> load_golden(const std::string& relative_path) {
  const std::string path = std::string(SORI_SOURCE_DIR) + "/tests/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes).toGenericDict();
}

inline torch::Tensor golden_tensor(const c10::Dict<c10::IValue, c10::IValue>& g, const std::string& key) {
  return g.at(key).toTensor();
}

// The entries "sd/<prefix><rest>" as a state dict keyed by <rest>.
inline StateDict golden_state_dict(const c10::Dict<c10::IValue, c10::IValue>& g, const std::string& prefix) {
  StateDict out;
  const std::string full = "sd/" + prefix;
  for (const auto& item : g) {
    const auto key = item.key().toStringRef();
    if (key.rfind(full, 0) == 0) out[key.substr(full.size())] = item.value().toTensor();
  }
  return out;
}

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

}  // namespace sori::test
