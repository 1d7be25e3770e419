// A Linear layer applied through ATen's at::linear, as Python's F.linear does. LibTorch's C++
// nn::Linear (torch/nn/functional/linear.h) computes a 3-D input as matmul + add, so its bias
// gradient is a reduction over [B, T] and its matmul is not fused with the bias; at::linear folds
// a contiguous [B, T, D] input into one addmm. Same result, measured in docs/PERFORMANCE.md.
#pragma once

#include <torch/nn/modules/linear.h>

namespace sori {

inline torch::Tensor linear(const torch::nn::Linear& layer, const torch::Tensor& x) {
  return torch::linear(x, layer->weight, layer->bias);
}

}  // namespace sori
