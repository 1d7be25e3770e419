// Process-wide set-up of a training run: device, thread count, TF32, RNG state capture/restore,
// and the start-up agreement on the configuration.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "sori/dist/launch_env.h"
#include "sori/dist/process_group.h"

namespace sori {

// trainer.device: "auto" and "cuda" bind cuda:LOCAL_RANK, or device 0 when the launcher left one
// GPU visible; "cpu", or "auto" without CUDA, the CPU.
torch::Device training_device(const std::string& name, const dist::LaunchEnv& env);
// Ranks given other overrides (a seed, a batch size) would train on other data orders and shapes
// while their collectives still line up: refused at start-up, quoting the first differing line
// of the resolved config (YAML).
void check_same_config(dist::ProcessGroup& group, const std::string& yaml);

// num_threads > 0 sets LibTorch's intra-op threads; 0 keeps its default; OpenBLAS's threads follow
// (configure_cpu_threads). On CUDA, allows TF32 for fp32 matmuls and convolutions.
void configure_threads(int num_threads, const torch::Device& device);

// What this run runs on, for run_info.json and `sori report`: host, CPU model, cores, memory,
// training device (and GPU), ranks, intra-op threads, LibTorch version, start time (UTC).
nlohmann::json describe_run_environment(const torch::Device& device, int world_size);

// The default CPU generator's state and `device`'s CUDA generator's (undefined on CPU).
std::pair<torch::Tensor, torch::Tensor> capture_rng_state(const torch::Device& device);
void restore_rng_state(const torch::Tensor& cpu, const torch::Tensor& cuda, const torch::Device& device);
// Reseeds the CPU generator and `device`'s CUDA generator. The trainer does this before every
// micro-batch with a seed from (run seed, global micro-batch index), so dropout and dither draw
// the same numbers for a micro-batch whatever the world size or resume point.
void seed_generators(std::uint64_t seed, const torch::Device& device);

}  // namespace sori
