#include "sori/train/pretrained.h"

#include <torch/torch.h>



#include "sori/core/error.h"
#include "sori/core/torch_compat.h"
#include "sori/train/checkpoint.h"

namespace sori {

PretrainedModel load_pretrained(const std::string& path, const std::string& device) {
  const Checkpoint c = load_checkpoint(path);
  PretrainedModel p;
  p.config = load_config_from_string(c.config_yaml, path + " (embedded config)");
  p.tokenizer = load_tokenizer_from_files(p.config.model.tokenizer.type, c.tokenizer_files);
  p.device = compat::parse_device(device);
  p.model = CtcModel(p.config.model, p.tokenizer->vocab_size());
  load_state_dict(*p.model, c.model, path);
  p.model->to(p.device);
  p.model->eval();
  return p;
}

void average_checkpoints(const std::vector<std::string>& inputs, const std::string& output) {
  SORI_CHECK(!inputs.empty(), "average-checkpoints: no checkpoints to average");
  Checkpoint first = load_checkpoint(inputs[0]);
  std::map<std::string, torch::Tensor> sums;
  for (const auto& [k, v] : first.model)
    if (v.is_floating_point()) sums[k] = v.to(torch::kFloat64);
  for (std::size_t i = 1; i < inputs.size(); ++i) {
    const Checkpoint c = load_checkpoint(inputs[i]);
    for (auto& [k, sum] : sums) {
      auto it = c.model.find(k);
      SORI_CHECK(it != c.model.end() && it->second.sizes() == sum.sizes(), "average-checkpoints: ", inputs[i],
                 " does not match ", inputs[0], " at '", k, "'");
      sum += it->second.to(torch::kFloat64);
    }
  }
  for (auto& [k, sum] : sums) first.model[k] = (sum / static_cast<double>(inputs.size())).to(first.model[k].scalar_type());
  first.metrics.clear();
  save_checkpoint(output, first);
}

}  // namespace sori
