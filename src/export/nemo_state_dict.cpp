#include "sori/export/nemo_state_dict.h"

#include <torch/torch.h>

#include "sori/core/fs.h"
#include "sori/model/state_dict.h"

namespace sori {

std::string nemo_weights_pickle(CtcModel& model) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, t] : state_dict(*model)) dict.insert(key, t.detach().to(torch::kCPU).contiguous());
  const auto bytes = torch::pickle_save(dict);
  return std::string(bytes.begin(), bytes.end());
}

void export_nemo_state_dict(PretrainedModel& model, const std::string& path) {
  write_file_atomic(path, nemo_weights_pickle(model.model));
}

}  // namespace sori
