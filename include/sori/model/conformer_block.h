// The FastConformer block (NeMo's ConformerLayer, conformer_modules.py), macaron style:
//   x += 1/2 FF1(LN x); x += MHSA(LN x); x += Conv(LN x); x += 1/2 FF2(LN x); out = LN x
// with dropout on each branch. Child names match NeMo's state dict.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>

#include "sori/model/attention.h"

namespace sori {

struct ConformerBlockOptions {
  int d_model = 176;
  int n_heads = 4;
  int ff_expansion_factor = 4;
  int conv_kernel_size = 9;
  std::string conv_norm_type = "batch_norm";  // batch_norm | layer_norm
  double dropout = 0.1;
  double dropout_att = 0.1;
  bool use_sdpa = false;  // RelPositionMultiHeadAttention
};

// Linear(d -> 4d), SiLU, dropout, Linear(4d -> d).
class ConformerFeedForwardImpl : public torch::nn::Module {
 public:
  ConformerFeedForwardImpl(int d_model, int d_ff, double dropout);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear linear1_{nullptr}, linear2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ConformerFeedForward);

// How a BatchNorm1d normalises in training mode. Data-parallel training installs sync BatchNorm
// here (dist/sync_batch_norm.h); unset, the module's own forward runs.
using BatchNormFunction = std::function<torch::Tensor(torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& x)>;

// Pointwise Conv1d(d -> 2d), GLU, padding zeroed, depthwise Conv1d(k, pad (k-1)/2), BatchNorm1d
// (or LayerNorm), SiLU, pointwise Conv1d(d -> d). In training BatchNorm's statistics include the
// zeroed padding frames, exactly as in NeMo.
class ConformerConvolutionImpl : public torch::nn::Module {
 public:
  ConformerConvolutionImpl(int d_model, int kernel_size, const std::string& norm_type);
  // x [B, T, d], pad_mask [B, T] true at padding
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad_mask);
  void set_batch_norm_function(BatchNormFunction f) { batch_norm_function_ = std::move(f); }

 private:
  BatchNormFunction batch_norm_function_;
  torch::nn::Conv1d pointwise_conv1_{nullptr}, depthwise_conv_{nullptr}, pointwise_conv2_{nullptr};
  torch::nn::BatchNorm1d batch_norm_{nullptr};
  torch::nn::LayerNorm layer_norm_{nullptr};
};
TORCH_MODULE(ConformerConvolution);

class ConformerBlockImpl : public torch::nn::Module {
 public:
  explicit ConformerBlockImpl(const ConformerBlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& att_mask, const torch::Tensor& pos_emb,
                        const torch::Tensor& pad_mask);

 private:
  torch::nn::LayerNorm norm_feed_forward1_{nullptr}, norm_self_att_{nullptr}, norm_conv_{nullptr},
      norm_feed_forward2_{nullptr}, norm_out_{nullptr};
  ConformerFeedForward feed_forward1_{nullptr}, feed_forward2_{nullptr};
  RelPositionMultiHeadAttention self_attn_{nullptr};
  ConformerConvolution conv_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ConformerBlock);

}  // namespace sori
