#include "sori/model/subsampling.h"

#include <torch/torch.h>

#include <cmath>

#include "sori/core/error.h"
#include "linear.h"

namespace sori {

namespace {
// [B, 1, T, 1] float mask of valid frames, as MaskedConvSequential._create_mask.
torch::Tensor frame_mask(const torch::Tensor& x, const torch::Tensor& lengths) {
  const auto t = torch::arange(x.size(2), lengths.options()).unsqueeze(0);
  return (t < lengths.unsqueeze(1)).to(x.scalar_type()).view({x.size(0), 1, x.size(2), 1});
}
}  // namespace

torch::Tensor subsampled_lengths(torch::Tensor lengths, int stages) {
  for (int i = 0; i < stages; ++i) lengths = torch::div(lengths + (1 + 1 - 3), 2, "floor") + 1;
  return lengths;
}

ConvSubsamplingImpl::ConvSubsamplingImpl(const SubsamplingOptions& o) {
  SORI_CHECK(o.factor >= 2 && (o.factor & (o.factor - 1)) == 0,
             "model.encoder.subsampling_factor: expected a power of two >= 2, found ", o.factor);
  stages_ = static_cast<int>(std::lround(std::log2(o.factor)));
  namespace nn = torch::nn;
  const int c = o.conv_channels;
  conv_ = nn::Sequential();
  conv_->push_back(nn::Conv2d(nn::Conv2dOptions(1, c, 3).stride(2).padding(1)));
  conv_->push_back(nn::ReLU());
  for (int i = 1; i < stages_; ++i) {
    conv_->push_back(nn::Conv2d(nn::Conv2dOptions(c, c, 3).stride(2).padding(1).groups(c)));
    conv_->push_back(nn::Conv2d(nn::Conv2dOptions(c, c, 1)));
    conv_->push_back(nn::ReLU());
  }
  register_module("conv", conv_);
  std::int64_t freq = o.feat_in;
  for (int i = 0; i < stages_; ++i) freq = (freq + 2 - 3) / 2 + 1;
  out_ = register_module("out", nn::Linear(c * freq, o.d_model));
}

std::pair<torch::Tensor, torch::Tensor> ConvSubsamplingImpl::forward(torch::Tensor x, torch::Tensor lengths) {
  x = x.unsqueeze(1);  // [B, 1, T, F]
  auto mask = frame_mask(x, lengths);
  // NeMo's MaskedConvSequential masks before every layer. Only the strided 3x3 convolutions mix
  // frames; ReLU and the 1x1 convolution act frame by frame, so padded frames they change are
  // zeroed by the next mask anyway. Masking before the 3x3 convolutions and once at the end gives
  // the same values with half the passes over the largest tensors of the model.
  for (const auto& layer : conv_->children()) {
    if (auto* conv = layer->as<torch::nn::Conv2d>()) {
      if (conv->options.stride()->at(0) == 1) {
        x = conv->forward(x);
        continue;
      }
      x = conv->forward(x * mask);
      lengths = subsampled_lengths(lengths, 1);
      mask = frame_mask(x, lengths);
    } else {
      x = torch::relu(x);
    }
  }
  x = x * mask;
  const auto b = x.size(0), c = x.size(1), t = x.size(2), f = x.size(3);
  x = linear(out_, x.transpose(1, 2).reshape({b, t, c * f}));
  return {x, lengths};
}

}  // namespace sori
