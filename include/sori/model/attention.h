// Relative positional encoding and relative-position multi-head self-attention, as NeMo's
// RelPositionalEncoding and RelPositionMultiHeadAttention
// (nemo/collections/asr/parts/submodules/multi_head_attention.py, Transformer-XL style).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <utility>

namespace sori {

// Sinusoids for relative positions T-1 ... -(T-1) (2T-1 of them); the input is scaled by xscale
// (sqrt(d_model), or 1 when xscaling is off) and passed through dropout. The table is a
// non-persistent buffer (not in the state dict, as in NeMo), extended on demand.
class RelPositionalEncodingImpl : public torch::nn::Module {
 public:
  RelPositionalEncodingImpl(int d_model, double dropout, double dropout_emb, double xscale, int max_len);
  // x [B, T, d] -> (dropout(x * xscale), pos_emb [1, 2T-1, d])
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x);

 private:
  void extend(std::int64_t length, const torch::Device& device);
  int d_model_;
  double xscale_;
  torch::Tensor pe_;  // [1, 2L-1, d] for positions L-1 ... -(L-1)
  torch::nn::Dropout dropout_{nullptr}, dropout_emb_{nullptr};
};
TORCH_MODULE(RelPositionalEncoding);

// Transformer-XL's left-pad-and-reshape trick: x [B, H, T, 2T-1] (scores against positions
// T-1 ... -(T-1)) becomes, in its first T columns, scores indexed by key position.
torch::Tensor rel_shift(const torch::Tensor& x);

class RelPositionMultiHeadAttentionImpl : public torch::nn::Module {
 public:
  // use_sdpa: NeMo's use_pytorch_sdpa. The scores against positions, scaled and masked, become
  // the additive mask of compat::scaled_dot_product_attention (fused on CUDA with LibTorch 2.x);
  // the result equals the explicit path's up to rounding, with the same parameters.
  RelPositionMultiHeadAttentionImpl(int n_heads, int d_model, double dropout_att, bool use_sdpa = false);
  // x [B, T, d]; mask [B, T, T] bool, true where query or key is padding; pos_emb [1, 2T-1, d].
  // Masked scores are -10000 (finite: a fully masked row stays a number) and a query whose keys
  // are all masked gets 0 before the output projection, as NeMo does on both paths.
  // Under fp16 autocast it computes in bf16 where supported, else fp32 (NeMo's
  // avoid_float16_autocast_context); under bf16 it stays bf16.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& pos_emb);

 private:
  torch::Tensor attend(const torch::Tensor& x, const torch::Tensor& mask, const torch::Tensor& pos_emb);
  int h_, d_k_;
  bool use_sdpa_;
  torch::nn::Linear linear_q_{nullptr}, linear_k_{nullptr}, linear_v_{nullptr}, linear_out_{nullptr},
      linear_pos_{nullptr};
  torch::Tensor pos_bias_u_, pos_bias_v_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(RelPositionMultiHeadAttention);

}  // namespace sori
