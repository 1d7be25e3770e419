// Gradient clipping and the fp16 dynamic loss scaler, built from plain tensor ops so that their
// logic runs (and is tested) on CPU and stays on the device: no host synchronisation here.
//
// Per step: scaled backward -> unscale_and_clip() -> one host read of found_inf (the skip
// decision) -> optimizer step unless skipped -> update().
#pragma once

#include <torch/types.h>

#include <vector>

namespace sori {

// Clips the gradients' global L2 norm to max_norm (<= 0: no clipping) and returns the norm
// before clipping as a 0-dim device tensor (torch::nn::utils::clip_grad_norm_ returns a host
// double, which would synchronise every step).
torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm);

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
  // Divides gradients by the scale, clips them and returns (grad norm, found_inf) as device
  // tensors. found_inf is true when any gradient is inf or NaN (then the step must be skipped).
  std::pair<torch::Tensor, torch::Tensor> unscale_and_clip(const std::vector<torch::Tensor>& params, double max_norm);
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
