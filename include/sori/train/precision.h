// The trainer's numeric precision: "32" (fp32; TF32 matmuls allowed on CUDA), "bf16" (bf16
// autocast, no loss scaling) or "16" (fp16 autocast with a dynamic loss scaler). Mixed
// precision needs CUDA; on CPU we run fp32 and say so.
#pragma once

#include <torch/types.h>

#include <string>

namespace sori {

struct Precision {
  bool autocast = false;
  at::ScalarType dtype = at::kFloat;
  bool loss_scaling = false;
};

Precision resolve_precision(const std::string& name, const torch::Device& device);

}  // namespace sori
