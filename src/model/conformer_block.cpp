#include "sori/model/conformer_block.h"

#include <torch/torch.h>

#include "sori/core/error.h"
#include "linear.h"

namespace sori {

namespace nn = torch::nn;

ConformerFeedForwardImpl::ConformerFeedForwardImpl(int d_model, int d_ff, double dropout) {
  linear1_ = register_module("linear1", nn::Linear(d_model, d_ff));
  dropout_ = register_module("dropout", nn::Dropout(dropout));
  linear2_ = register_module("linear2", nn::Linear(d_ff, d_model));
}

torch::Tensor ConformerFeedForwardImpl::forward(const torch::Tensor& x) {
  return linear(linear2_, dropout_->forward(torch::silu(linear(linear1_, x))));
}

ConformerConvolutionImpl::ConformerConvolutionImpl(int d_model, int kernel_size, const std::string& norm_type) {
  SORI_CHECK(kernel_size % 2 == 1, "model.encoder.conv_kernel_size: expected an odd size, found ", kernel_size);
  pointwise_conv1_ = register_module("pointwise_conv1", nn::Conv1d(nn::Conv1dOptions(d_model, 2 * d_model, 1)));
  depthwise_conv_ = register_module(
      "depthwise_conv",
      nn::Conv1d(nn::Conv1dOptions(d_model, d_model, kernel_size).padding((kernel_size - 1) / 2).groups(d_model)));
  // NeMo names the norm `batch_norm` whatever its type.
  if (norm_type == "batch_norm") {
    batch_norm_ = register_module("batch_norm", nn::BatchNorm1d(d_model));
  } else if (norm_type == "layer_norm") {
    layer_norm_ = register_module("batch_norm", nn::LayerNorm(nn::LayerNormOptions({d_model})));
  } else {
    SORI_FAIL("model.encoder.conv_norm_type: expected batch_norm or layer_norm, found '", norm_type, "'");
  }
  pointwise_conv2_ = register_module("pointwise_conv2", nn::Conv1d(nn::Conv1dOptions(d_model, d_model, 1)));
}

torch::Tensor ConformerConvolutionImpl::forward(const torch::Tensor& x, const torch::Tensor& pad_mask) {
  auto y = torch::glu(pointwise_conv1_->forward(x.transpose(1, 2)), 1);
  if (pad_mask.defined()) y = y.masked_fill(pad_mask.unsqueeze(1), 0.0);
  y = depthwise_conv_->forward(y);
  if (!batch_norm_)
    y = layer_norm_->forward(y.transpose(1, 2)).transpose(1, 2);
  else if (is_training() && batch_norm_function_)
    y = batch_norm_function_(*batch_norm_, y);
  else
    y = batch_norm_->forward(y);
  y = pointwise_conv2_->forward(torch::silu(y));
  return y.transpose(1, 2);
}

ConformerBlockImpl::ConformerBlockImpl(const ConformerBlockOptions& o) {
  auto norm = [&](const char* name) { return register_module(name, nn::LayerNorm(nn::LayerNormOptions({o.d_model}))); };
  const int d_ff = o.d_model * o.ff_expansion_factor;
  norm_feed_forward1_ = norm("norm_feed_forward1");
  feed_forward1_ = register_module("feed_forward1", ConformerFeedForward(o.d_model, d_ff, o.dropout));
  norm_conv_ = norm("norm_conv");
  conv_ = register_module("conv", ConformerConvolution(o.d_model, o.conv_kernel_size, o.conv_norm_type));
  norm_self_att_ = norm("norm_self_att");
  self_attn_ = register_module("self_attn", RelPositionMultiHeadAttention(o.n_heads, o.d_model, o.dropout_att, o.use_sdpa));
  norm_feed_forward2_ = norm("norm_feed_forward2");
  feed_forward2_ = register_module("feed_forward2", ConformerFeedForward(o.d_model, d_ff, o.dropout));
  dropout_ = register_module("dropout", nn::Dropout(o.dropout));
  norm_out_ = norm("norm_out");
}

torch::Tensor ConformerBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& att_mask,
                                          const torch::Tensor& pos_emb, const torch::Tensor& pad_mask) {
  auto residual = x + 0.5 * dropout_->forward(feed_forward1_->forward(norm_feed_forward1_->forward(x)));
  residual = residual + dropout_->forward(self_attn_->forward(norm_self_att_->forward(residual), att_mask, pos_emb));
  residual = residual + dropout_->forward(conv_->forward(norm_conv_->forward(residual), pad_mask));
  residual = residual + 0.5 * dropout_->forward(feed_forward2_->forward(norm_feed_forward2_->forward(residual)));
  return norm_out_->forward(residual);
}

}  // namespace sori
