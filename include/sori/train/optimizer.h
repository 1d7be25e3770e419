// The trainer's optimizer: AdamW as configured in model.optim, with the learning rate set each
// step from the schedule, and its state as bytes for checkpoints (one serialisation for the
// trainer, `sori import-nemo` and the benchmark). zero_grad() zeroes in place: under
// data-parallel training the gradients are views into the gradient reducer's buckets and must
// stay so. step() updates every parameter with multi-tensor kernels (fused on CUDA with
// LibTorch 2.x), with torch::optim::AdamW's arithmetic and its state objects.
#pragma once

#include <torch/optim/adamw.h>

#include <memory>
#include <string>
#include <vector>

#include "sori/config/config.h"

namespace sori {

class Optimizer {
 public:
  Optimizer(const OptimConfig& config, std::vector<torch::Tensor> params);
  void set_lr(double lr);
  void zero_grad();
  void step();
  const std::vector<torch::Tensor>& params() const { return params_; }
  // The state as a serialized torch::optim archive: a 1-D uint8 CPU tensor (so that a checkpoint
  // holds and loads it without copying a large model's GB of state).
  torch::Tensor save() const;
  // `bytes` as save() gives them. Throws sori::Error naming `source` when they are not such an
  // archive or the state does not fit the parameters.
  void load(const torch::Tensor& bytes, const torch::Device& device, const std::string& source);

 private:
  torch::optim::AdamWOptions& options() const;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

}  // namespace sori
