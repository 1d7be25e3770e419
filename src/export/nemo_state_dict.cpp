#include "sori/export/nemo_state_dict.h"

#include <torch/torch.h>

#include "sori/core/fs.h"
#include "sori/model/state_dict.h"

namespace sori {

void export_nemo_state_dict(PretrainedModel& model, const std::string& path) {
  c10::Dict<std::string, at::Tensor> dict;
  for (const auto& [key, t] : state_dict(*model.model)) dict.insert(key, t.detach().to(torch::kCPU).contiguous());
  const auto bytes = torch::pickle_save(dict);
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

}  // namespace sori
