// Helpers shared by the export tests.
#pragma once

#include <torch/torch.h>

#include <string>

#include "sori/model/state_dict.h"
#include "sori/train/pretrained.h"

namespace sori::test {

inline const std::string kExportDir = std::string(SORI_SOURCE_DIR) + "/tests/export";

// A small FastConformer-CTC (d 48, 2 layers, 8x) with a char vocabulary " abcdefghij" and
// non-trivial BatchNorm statistics and position biases, in eval mode.
inline PretrainedModel random_model() {
  PretrainedModel p;
  auto& e = p.config.model.encoder;
  e.feat_in = 80;
  e.n_layers = 2;
  e.d_model = 48;
  e.n_heads = 4;
  e.subsampling_factor = 8;
  e.subsampling_conv_channels = 16;
  e.conv_kernel_size = 9;
  p.tokenizer = std::make_unique<CharTokenizer>(U" abcdefghij", false);
  torch::manual_seed(3);
  p.model = CtcModel(p.config.model, p.tokenizer->vocab_size());
  torch::NoGradGuard no_grad;
  for (auto& [key, t] : state_dict(*p.model)) {
    // Non-trivial BatchNorm statistics and position biases, so folding and every term are tested.
    if (key.find("running_mean") != std::string::npos) t.normal_(0, 0.3);
    if (key.find("running_var") != std::string::npos) t.uniform_(0.5, 2.0);
    if (key.find("batch_norm.weight") != std::string::npos) t.normal_(1.0, 0.2);
    if (key.find("pos_bias") != std::string::npos) t.normal_(0, 0.3);
  }
  p.model->eval();
  return p;
}


}  // namespace sori::test
