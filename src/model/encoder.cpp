#include "sori/model/encoder.h"

#include <torch/torch.h>

#include <cmath>

#include "sori/core/error.h"
#include "sori/model/conformer_block.h"

namespace sori {

ConformerEncoderImpl::ConformerEncoderImpl(const EncoderConfig& c) : config_(c) {
  SORI_CHECK(c.subsampling == "dw_striding", "model.encoder.subsampling: only dw_striding is supported, found '",
             c.subsampling, "'");
  SORI_CHECK(c.self_attention_model == "rel_pos", "model.encoder.self_attention_model: only rel_pos is supported, found '",
             c.self_attention_model, "'");
  SORI_CHECK(c.feat_in > 0, "model.encoder.feat_in must be > 0, found ", c.feat_in);
  SORI_CHECK(c.untie_biases, "model.encoder.untie_biases: only true (each layer its own pos_bias_u/v, NeMo's default) "
             "is supported, found false");
  pre_encode_ = register_module(
      "pre_encode", ConvSubsampling(SubsamplingOptions{c.feat_in, c.d_model, c.subsampling_factor, c.subsampling_conv_channels}));
  const double xscale = c.xscaling ? std::sqrt(static_cast<double>(c.d_model)) : 1.0;
  pos_enc_ = register_module("pos_enc", RelPositionalEncoding(c.d_model, c.dropout_pre_encoder, c.dropout_emb, xscale,
                                                              c.pos_emb_max_len));
  layers_ = register_module("layers", torch::nn::ModuleList());
  ConformerBlockOptions block{c.d_model, c.n_heads, c.ff_expansion_factor, c.conv_kernel_size, c.conv_norm_type,
                              c.dropout, c.dropout_att, c.use_pytorch_sdpa};
  for (int i = 0; i < c.n_layers; ++i) layers_->push_back(ConformerBlock(block));
}

std::pair<torch::Tensor, torch::Tensor> ConformerEncoderImpl::forward(const torch::Tensor& features,
                                                                     const torch::Tensor& lengths) {
  auto [x, out_lengths] = pre_encode_->forward(features.transpose(1, 2), lengths);
  auto [scaled, pos_emb] = pos_enc_->forward(x);
  const auto t = scaled.size(1);
  const auto pad_mask = torch::arange(t, out_lengths.options()).unsqueeze(0) >= out_lengths.unsqueeze(1);  // [B, T]
  // Masked where the query or the key is padding (NeMo's _create_masks with full context).
  const auto att_mask = pad_mask.unsqueeze(1) | pad_mask.unsqueeze(2);
  x = scaled;
  for (const auto& layer : *layers_) x = layer->as<ConformerBlock>()->forward(x, att_mask, pos_emb, pad_mask);
  return {x.transpose(1, 2), out_lengths};
}

}  // namespace sori
