// Gradient norms and scaling, and the fp16 dynamic loss scaler, built from plain tensor ops so
// that their logic runs (and is tested) on CPU and stays on the device: no host synchronisation
// here. The training step (training_step.h) unscales, normalises and clips in one pass.
#pragma once

#include <torch/types.h>

#include <vector>

namespace sori {

// The gradients' global L2 norm as a 0-dim device tensor (float32, float64 for float64
// gradients); inf or NaN exactly when some gradient is. (torch::nn::utils::clip_grad_norm_
// returns a host double, which would synchronise every step.)
torch::Tensor grad_norm(const std::vector<torch::Tensor>& params);
// Multiplies every gradient by the 0-dim device tensor `factor`.
void scale_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& factor);

class GradScaler {
 public:
  struct Options {
    bool enabled = false;  // fp16 only; bf16 and fp32 need no scaling
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int growth_interval = 2000;
  };
  GradScaler(Options options, const torch::Device& device);

  torch::Tensor scale(const torch::Tensor& loss) const;
  // After the step (taken or skipped): back off on overflow, grow after growth_interval clean steps.
  void update(const torch::Tensor& found_inf);

  torch::Tensor scale_value() const { return scale_; }
  torch::Tensor growth_tracker() const { return growth_tracker_; }
  void load(const torch::Tensor& scale, const torch::Tensor& growth_tracker);
  bool enabled() const { return options_.enabled; }

 private:
  Options options_;
  torch::Tensor scale_;           // float32 0-dim
  torch::Tensor growth_tracker_;  // int64 0-dim: consecutive clean steps
};

}  // namespace sori
