#include "sori/model/attention.h"

#include <torch/torch.h>

#include <cmath>

#include "sori/core/error.h"
#include "sori/core/torch_compat.h"
#include "linear.h"

namespace sori {

namespace {
constexpr double kMaskedScore = -10000.0;  // NeMo's -INF_VAL
}

RelPositionalEncodingImpl::RelPositionalEncodingImpl(int d_model, double dropout, double dropout_emb, double xscale,
                                                     int max_len)
    : d_model_(d_model), xscale_(xscale) {
  dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  if (dropout_emb > 0) dropout_emb_ = register_module("dropout_emb", torch::nn::Dropout(dropout_emb));
  extend(max_len, torch::kCPU);
}

void RelPositionalEncodingImpl::extend(std::int64_t length, const torch::Device& device) {
  if (pe_.defined() && pe_.size(1) >= 2 * length - 1 && pe_.device() == device) return;
  if (pe_.defined()) length = std::max(length, (pe_.size(1) + 1) / 2);
  auto fopts = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto positions = torch::arange(length - 1, -length, -1, fopts).unsqueeze(1);
  auto div_term = torch::exp(torch::arange(0, d_model_, 2, fopts) * -(std::log(10000.0) / d_model_));
  auto pe = torch::zeros({positions.size(0), d_model_}, fopts);
  using torch::indexing::Slice;
  pe.index_put_({Slice(), Slice(0, torch::indexing::None, 2)}, torch::sin(positions * div_term));
  pe.index_put_({Slice(), Slice(1, torch::indexing::None, 2)}, torch::cos(positions * div_term));
  pe_ = pe.unsqueeze(0);
}

std::pair<torch::Tensor, torch::Tensor> RelPositionalEncodingImpl::forward(const torch::Tensor& x) {
  const auto t = x.size(1);
  extend(t, x.device());
  auto scaled = xscale_ != 1.0 ? x * xscale_ : x;
  const auto center = pe_.size(1) / 2 + 1;  // as NeMo: index of position 0, plus one
  auto pos_emb = pe_.slice(1, center - t, center + t - 1).to(x.scalar_type());
  if (!dropout_emb_.is_empty()) pos_emb = dropout_emb_->forward(pos_emb);
  return {dropout_->forward(scaled), pos_emb};
}

torch::Tensor rel_shift(const torch::Tensor& x) {
  const auto b = x.size(0), h = x.size(1), t = x.size(2), p = x.size(3);
  auto padded = torch::constant_pad_nd(x, {1, 0});  // [B, H, T, P+1]
  return padded.view({b, h, -1, t}).slice(2, 1).reshape({b, h, t, p});
}

RelPositionMultiHeadAttentionImpl::RelPositionMultiHeadAttentionImpl(int n_heads, int d_model, double dropout_att,
                                                                     bool use_sdpa)
    : h_(n_heads), d_k_(d_model / n_heads), use_sdpa_(use_sdpa) {
  SORI_CHECK(d_model % n_heads == 0, "model.encoder: d_model ", d_model, " is not divisible by n_heads ", n_heads);
  namespace nn = torch::nn;
  linear_q_ = register_module("linear_q", nn::Linear(d_model, d_model));
  linear_k_ = register_module("linear_k", nn::Linear(d_model, d_model));
  linear_v_ = register_module("linear_v", nn::Linear(d_model, d_model));
  linear_out_ = register_module("linear_out", nn::Linear(d_model, d_model));
  linear_pos_ = register_module("linear_pos", nn::Linear(nn::LinearOptions(d_model, d_model).bias(false)));
  pos_bias_u_ = register_parameter("pos_bias_u", torch::zeros({h_, d_k_}));
  pos_bias_v_ = register_parameter("pos_bias_v", torch::zeros({h_, d_k_}));
  dropout_ = register_module("dropout", nn::Dropout(dropout_att));
}

torch::Tensor RelPositionMultiHeadAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& mask,
                                                         const torch::Tensor& pos_emb) {
  if (!compat::autocast_enabled(x.device())) return attend(x, mask, pos_emb);
  // NeMo casts the inputs to fp32 and avoids fp16 inside (scores overflow fp16's range).
  const auto dtype = compat::autocast_dtype(x.device());
  if (dtype != torch::kHalf) return attend(x.to(torch::kFloat32), mask, pos_emb);
  const auto inner = compat::bf16_supported(x.device()) ? torch::kBFloat16 : torch::kFloat32;
  compat::AutocastGuard guard(x.device(), inner != torch::kFloat32, inner);
  return attend(x.to(torch::kFloat32), mask, pos_emb);
}

torch::Tensor RelPositionMultiHeadAttentionImpl::attend(const torch::Tensor& x, const torch::Tensor& mask,
                                                        const torch::Tensor& pos_emb) {
  const auto b = x.size(0), t = x.size(1);
  auto q = linear(linear_q_, x).view({b, t, h_, d_k_});  // [B, T, H, dk]
  auto k = linear(linear_k_, x).view({b, t, h_, d_k_}).transpose(1, 2);
  auto v = linear(linear_v_, x).view({b, t, h_, d_k_}).transpose(1, 2);
  auto p = linear(linear_pos_, pos_emb).view({pos_emb.size(0), -1, h_, d_k_}).transpose(1, 2);
  auto q_u = (q + pos_bias_u_).transpose(1, 2);  // [B, H, T, dk]
  auto q_v = (q + pos_bias_v_).transpose(1, 2);
  auto matrix_bd = rel_shift(torch::matmul(q_v, p.transpose(-2, -1)));
  if (use_sdpa_) {
    auto position_scores = matrix_bd.slice(3, 0, t) * (1.0 / std::sqrt(static_cast<double>(d_k_)));
    if (mask.defined()) position_scores = position_scores.masked_fill(mask.unsqueeze(1), kMaskedScore);
    const double dropout_p = is_training() ? dropout_->options.p() : 0.0;
    auto out = compat::scaled_dot_product_attention(q_u, k, v, position_scores, dropout_p);  // [B, H, T, dk]
    // A fully masked row would average the values; the explicit path's zeroed weights give 0.
    if (mask.defined()) out = out.masked_fill(mask.all(-1).unsqueeze(1).unsqueeze(-1), 0.0);
    return linear(linear_out_, out.transpose(1, 2).reshape({b, t, h_ * d_k_}));
  }
  auto matrix_ac = torch::matmul(q_u, k.transpose(-2, -1));
  auto scores = (matrix_ac + matrix_bd.slice(3, 0, matrix_ac.size(-1))) / std::sqrt(static_cast<double>(d_k_));
  torch::Tensor attn;
  if (mask.defined()) {
    const auto m = mask.unsqueeze(1);
    attn = torch::softmax(scores.masked_fill(m, kMaskedScore), -1).masked_fill(m, 0.0);
  } else {
    attn = torch::softmax(scores, -1);
  }
  auto out = torch::matmul(dropout_->forward(attn), v).transpose(1, 2).reshape({b, t, h_ * d_k_});
  return linear(linear_out_, out);
}

}  // namespace sori
