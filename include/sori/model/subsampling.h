// NeMo's ConvSubsampling, "dw_striding" (nemo/collections/asr/parts/submodules/subsampling.py):
// Conv2d(1->C, 3, s2, p1) + ReLU, then per further stage a depthwise Conv2d(C->C, 3, s2, p1,
// groups=C), a pointwise Conv2d(C->C, 1) and ReLU; flatten channels x remaining mel bins;
// Linear -> d_model. As NeMo's MaskedConvSequential, frames past each length are zeroed before
// every layer and lengths follow (L + 2 - 3) // 2 + 1 per stride-2 stage.
// Child names match NeMo's state dict: conv.{0,2,3,5,6,...}, out.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>

namespace sori {

struct SubsamplingOptions {
  int feat_in = 80;
  int d_model = 176;
  int factor = 8;  // a power of two >= 2
  int conv_channels = 256;
};

class ConvSubsamplingImpl : public torch::nn::Module {
 public:
  explicit ConvSubsamplingImpl(const SubsamplingOptions& options);
  // x [B, T, feat_in], lengths int64 [B] -> [B, T', d_model], lengths [B]
  std::pair<torch::Tensor, torch::Tensor> forward(torch::Tensor x, torch::Tensor lengths);

 private:
  int stages_;
  torch::nn::Sequential conv_{nullptr};
  torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(ConvSubsampling);

// Lengths after `stages` stride-2, kernel-3, padding-1 convolutions (floor division).
torch::Tensor subsampled_lengths(torch::Tensor lengths, int stages);

}  // namespace sori
