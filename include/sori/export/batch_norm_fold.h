// Folding an eval-mode BatchNorm1d into the convolution before it:
//   w' = w * gamma / sqrt(var + eps)   (per output channel)
//   b' = (b - mean) * gamma / sqrt(var + eps) + beta
// computed in float64 and returned as float32.
#pragma once

#include <torch/types.h>

#include <utility>

namespace sori {

std::pair<torch::Tensor, torch::Tensor> fold_batch_norm(const torch::Tensor& conv_weight, const torch::Tensor& conv_bias,
                                                        const torch::Tensor& gamma, const torch::Tensor& beta,
                                                        const torch::Tensor& running_mean, const torch::Tensor& running_var,
                                                        double eps = 1e-5);

}  // namespace sori
