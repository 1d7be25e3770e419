// A trained model restored from a checkpoint for inference (eval, transcribe, export): its
// resolved config, tokenizer and weights.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/tokenizer.h"
#include "sori/model/ctc_model.h"

namespace sori {

struct PretrainedModel {
  Config config;
  std::unique_ptr<Tokenizer> tokenizer;
  CtcModel model{nullptr};
  torch::Device device = torch::kCPU;
};

PretrainedModel load_pretrained(const std::string& checkpoint_path, const std::string& device = "auto");

// Weight averaging of checkpoints (a usual last step of ASR recipes): floating-point tensors are
// averaged, integer buffers (BatchNorm's num_batches_tracked) come from the first checkpoint, as
// does everything else (config, tokenizer, progress). Written atomically to output.
void average_checkpoints(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace sori
