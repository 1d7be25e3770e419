// Process-wide settings of a training run: thread count, TF32, RNG state capture/restore.
#pragma once

#include <torch/types.h>

#include <utility>
#include <vector>

namespace sori {

// num_threads > 0 sets LibTorch's intra-op threads; 0 keeps its default. On CUDA, allows TF32
// for fp32 matmuls and convolutions.
void configure_threads(int num_threads, const torch::Device& device);

// The default CPU generator's state and every CUDA device's (empty without CUDA).
std::pair<torch::Tensor, std::vector<torch::Tensor>> capture_rng_states();
void restore_rng_states(const torch::Tensor& cpu, const std::vector<torch::Tensor>& cuda);

}  // namespace sori
