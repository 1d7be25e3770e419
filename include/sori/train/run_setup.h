// Process-wide settings of a training run: thread count, TF32, RNG state capture/restore.
#pragma once

#include <torch/types.h>

#include <utility>
#include <vector>

namespace sori {

// num_threads > 0 sets LibTorch's intra-op threads; 0 keeps its default. On CUDA, allows TF32
// for fp32 matmuls and convolutions.
void configure_threads(int num_threads, const torch::Device& device);

// The default CPU generator's state and `device`'s CUDA generator's (undefined on CPU).
std::pair<torch::Tensor, torch::Tensor> capture_rng_state(const torch::Device& device);
void restore_rng_state(const torch::Tensor& cpu, const torch::Tensor& cuda, const torch::Device& device);
// Reseeds the CPU generator and `device`'s CUDA generator. The trainer does this before every
// micro-batch with a seed from (run seed, global micro-batch index), so dropout and dither draw
// the same numbers for a micro-batch whatever the world size or resume point.
void seed_generators(std::uint64_t seed, const torch::Device& device);

}  // namespace sori
