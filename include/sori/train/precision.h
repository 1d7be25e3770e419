// The trainer's numeric precision: "32" (fp32; TF32 matmuls allowed on CUDA), "bf16" (bf16
// autocast, no loss scaling), "16" (fp16 autocast with a dynamic loss scaler) or "64" (float64
// parameters and activations: slow, for tests that compare runs to 1e-5). Mixed
// precision needs CUDA; on CPU we run fp32 and say so.
#pragma once

#include <torch/types.h>

#include <string>

namespace sori {

struct Precision {
  bool autocast = false;
  at::ScalarType dtype = at::kFloat;
  bool loss_scaling = false;
  at::ScalarType param_dtype = at::kFloat;
};

Precision resolve_precision(const std::string& name, const torch::Device& device);

}  // namespace sori
