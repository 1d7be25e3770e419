#include "sori/export/onnx_export.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "onnx_builder.h"
#include "sori/export/batch_norm_fold.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/model/state_dict.h"

namespace sori {

std::pair<torch::Tensor, torch::Tensor> fold_batch_norm(const torch::Tensor& w, const torch::Tensor& b,
                                                        const torch::Tensor& gamma, const torch::Tensor& beta,
                                                        const torch::Tensor& mean, const torch::Tensor& var, double eps) {
  const auto scale = gamma.to(torch::kFloat64) / torch::sqrt(var.to(torch::kFloat64) + eps);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(w.dim()), 1);
  shape[0] = -1;
  const auto folded_w = w.to(torch::kFloat64) * scale.view(shape);
  const auto folded_b = (b.to(torch::kFloat64) - mean.to(torch::kFloat64)) * scale + beta.to(torch::kFloat64);
  return {folded_w.to(torch::kFloat32), folded_b.to(torch::kFloat32)};
}

namespace {

using onnx_export::Attr;
using onnx_export::GraphBuilder;

// Emits the FastConformer graph from a NeMo-keyed state dict.
class FastConformerGraph {
 public:
  FastConformerGraph(GraphBuilder& g, const StateDict& sd, const Config& config) : g_(g), sd_(sd), c_(config) {}

  void build(bool with_preprocessor) {
    const auto& e = c_.model.encoder;
    std::string features = "audio_signal", feature_lengths = "length";
    if (with_preprocessor) {
      g_.input("audio", onnx::TensorProto::FLOAT, {std::string("B"), std::string("N")});
      g_.input("audio_length", onnx::TensorProto::INT64, {std::string("B")});
      std::tie(features, feature_lengths) = preprocessor("audio", "audio_length");
    } else {
      g_.input("audio_signal", onnx::TensorProto::FLOAT, {std::string("B"), std::int64_t{e.feat_in}, std::string("T")});
      g_.input("length", onnx::TensorProto::INT64, {std::string("B")});
    }
    auto x = g_.op("Transpose", {to_compute(features)}, {{"perm", std::vector<std::int64_t>{0, 2, 1}}});
    auto [h, lengths] = subsampling(x, feature_lengths);
    if (e.xscaling) h = g_.op("Mul", {h, g_.scalar(static_cast<float>(std::sqrt(static_cast<double>(e.d_model))))});
    const auto pos_emb = positional_encoding(h);
    // pad [B, T] true at padding; att_mask [B, 1, T, T] true where query or key is padding.
    pad_ = g_.op("Not", {valid_mask(h, lengths, 1)});
    att_mask_ = g_.op("Or", {g_.op("Unsqueeze", {pad_, g_.i64({1, 2})}), g_.op("Unsqueeze", {pad_, g_.i64({1, 3})})});
    for (int i = 0; i < e.n_layers; ++i) h = block(h, pos_emb, "encoder.layers." + std::to_string(i) + ".");
    // CTC head: Conv1d(d, V+1, 1) == MatMul with the squeezed kernel.
    auto w = sd_.at("decoder.decoder_layers.0.weight").squeeze(2).t().contiguous();
    auto logits = g_.op("Add", {g_.op("MatMul", {h, g_.weight("decoder.weight_t", w)}),
                                g_.weight("decoder.decoder_layers.0.bias", sd_.at("decoder.decoder_layers.0.bias"))});
    auto logprobs = g_.op("LogSoftmax", {to_float(logits)}, {{"axis", std::int64_t{-1}}});
    g_.identity(logprobs, "logprobs");
    g_.identity(lengths, "encoded_lengths");
    const auto classes = static_cast<std::int64_t>(sd_.at("decoder.decoder_layers.0.bias").size(0));
    g_.output("logprobs", onnx::TensorProto::FLOAT, {std::string("B"), std::string("T_encoded"), classes});
    g_.output("encoded_lengths", onnx::TensorProto::INT64, {std::string("B")});
  }

 private:
  // LogMelFeatures in the graph, in float64: audio [B, N] float32 -> features [B, F, T] float32.
  std::pair<std::string, std::string> preprocessor(const std::string& audio, const std::string& lengths) {
    const auto& pc = c_.model.preprocessor;
    const std::int64_t n_fft = pc.n_fft;
    const std::int64_t hop = std::lround(pc.window_stride * c_.model.sample_rate);
    const auto f64 = std::int64_t{onnx::TensorProto::DOUBLE};
    auto x = g_.op("Cast", {audio}, {{"to", f64}});
    const auto valid = valid_mask(x, lengths, 1);  // [B, N]
    if (pc.preemph > 0) {
      auto head = g_.op("Slice", {x, g_.i64({0}), g_.i64({1}), g_.i64({1})});
      auto cur = g_.op("Slice", {x, g_.i64({1}), g_.i64({INT64_MAX}), g_.i64({1})});
      auto prev = g_.op("Slice", {x, g_.i64({0}), g_.i64({-1}), g_.i64({1})});
      auto diff = g_.op("Sub", {cur, g_.op("Mul", {prev, g_.f64("pre.coef", torch::tensor(pc.preemph))})});
      x = g_.op("Concat", {head, diff}, {{"axis", std::int64_t{1}}});
      x = g_.op("Where", {valid, x, g_.f64("pre.zero", torch::tensor(0.0))});
    }
    // Centred STFT with zero padding; the symmetric window zero-padded to n_fft as torch.stft does.
    x = g_.op("Pad", {x, g_.i64({0, n_fft / 2, 0, n_fft / 2})});
    const auto window = sd_.at("preprocessor.featurizer.window");
    const auto left = (n_fft - window.size(0)) / 2;
    const auto padded_window = torch::constant_pad_nd(window.to(torch::kFloat64), {left, n_fft - window.size(0) - left});
    auto spec = g_.op("STFT", {g_.op("Unsqueeze", {x, g_.i64({2})}), g_.i64({hop}), g_.f64("pre.window", padded_window),
                               g_.i64({n_fft})},
                      {{"onesided", std::int64_t{1}}});  // [B, frames, n_fft/2+1, 2]
    auto power = g_.op("ReduceSum", {g_.op("Mul", {spec, spec}), g_.i64({3})}, {{"keepdims", std::int64_t{0}}});
    const auto fb = sd_.at("preprocessor.featurizer.fb")[0].t().contiguous();  // [n_fft/2+1, F]
    auto mel = g_.op("MatMul", {power, g_.f64("pre.fb_t", fb)});                  // [B, frames, F]
    mel = g_.op("Log", {g_.op("Add", {mel, g_.f64("pre.guard", torch::tensor(pc.log_zero_guard_value))})});
    // Per-feature normalisation over the valid frames (std with n - 1, + 1e-5).
    auto frames = g_.op("Div", {lengths, g_.i64({hop})});
    auto fmask = g_.op("Unsqueeze", {valid_mask(mel, frames, 1), g_.i64({2})});  // [B, T, 1]
    auto zero = g_.f64("pre.zero2", torch::tensor(0.0));
    auto count = g_.op("Unsqueeze", {g_.op("Cast", {frames}, {{"to", f64}}), g_.i64({1, 2})});  // [B, 1, 1]
    auto mean = g_.op("Div", {g_.op("ReduceSum", {g_.op("Where", {fmask, mel, zero}), g_.i64({1})}), count});
    auto centred = g_.op("Where", {fmask, g_.op("Sub", {mel, mean}), zero});
    auto var = g_.op("Div", {g_.op("ReduceSum", {g_.op("Mul", {centred, centred}), g_.i64({1})}),
                             g_.op("Sub", {count, g_.f64("pre.one", torch::tensor(1.0))})});
    auto std_dev = g_.op("Sqrt", {var});
    std_dev = g_.op("Where", {g_.op("IsNaN", {std_dev}), zero, std_dev});
    std_dev = g_.op("Add", {std_dev, g_.f64("pre.eps", torch::tensor(1e-5))});
    auto normalised = g_.op("Div", {g_.op("Sub", {mel, mean}), std_dev});
    normalised = g_.op("Where", {fmask, normalised, zero});
    auto features = g_.op("Transpose", {g_.op("Cast", {normalised}, {{"to", std::int64_t{onnx::TensorProto::FLOAT}}})},
                          {{"perm", std::vector<std::int64_t>{0, 2, 1}}});
    return {features, frames};
  }

  std::string to_compute(const std::string& v) {
    return g_.fp16() ? g_.op("Cast", {v}, {{"to", std::int64_t{onnx::TensorProto::FLOAT16}}}) : v;
  }
  std::string to_float(const std::string& v) {
    return g_.fp16() ? g_.op("Cast", {v}, {{"to", std::int64_t{onnx::TensorProto::FLOAT}}}) : v;
  }
  std::string w(const std::string& key) { return g_.weight(key, sd_.at(key)); }
  std::string w_t(const std::string& key) { return g_.weight(key + "_t", sd_.at(key).t().contiguous()); }
  std::string linear(const std::string& x, const std::string& prefix, bool bias = true) {
    auto y = g_.op("MatMul", {x, w_t(prefix + ".weight")});
    return bias ? g_.op("Add", {y, w(prefix + ".bias")}) : y;
  }
  std::string silu(const std::string& x) { return g_.op("Mul", {x, g_.op("Sigmoid", {x})}); }
  std::string dim(const std::string& x, std::int64_t axis) {
    return g_.op("Gather", {g_.op("Shape", {x}), g_.i64({axis})}, {{"axis", std::int64_t{0}}});  // [1]
  }
  // [B, T] bool: position < length, T being x's size along `time_axis`.
  std::string valid_mask(const std::string& x, const std::string& lengths, std::int64_t time_axis) {
    auto t = g_.op("Squeeze", {dim(x, time_axis), g_.i64({0})});
    auto range = g_.op("Range", {g_.op("Squeeze", {g_.i64({0}), g_.i64({0})}), t, g_.op("Squeeze", {g_.i64({1}), g_.i64({0})})});
    return g_.op("Less", {g_.op("Unsqueeze", {range, g_.i64({0})}), g_.op("Unsqueeze", {lengths, g_.i64({1})})});
  }

  std::pair<std::string, std::string> subsampling(const std::string& x_btf, std::string lengths) {
    const auto& e = c_.model.encoder;
    auto x = g_.op("Unsqueeze", {x_btf, g_.i64({1})});  // [B, 1, T, F]
    auto mask_of = [&](const std::string& t) {  // [B, 1, T, 1] in the compute type
      auto m = g_.op("Cast", {valid_mask(t, lengths, 2)}, {{"to", std::int64_t{g_.compute_type()}}});
      return g_.op("Unsqueeze", {m, g_.i64({1, 3})});
    };
    auto mask = mask_of(x);
    const int stages = static_cast<int>(std::lround(std::log2(e.subsampling_factor)));
    const std::int64_t ch = e.subsampling_conv_channels;
    auto conv = [&](const std::string& in, int index, std::int64_t kernel, std::int64_t stride, std::int64_t group) {
      const std::string p = "encoder.pre_encode.conv." + std::to_string(index);
      const std::int64_t pad = kernel / 2;
      return g_.op("Conv", {in, w(p + ".weight"), w(p + ".bias")},
                   {{"kernel_shape", std::vector<std::int64_t>{kernel, kernel}},
                    {"strides", std::vector<std::int64_t>{stride, stride}},
                    {"pads", std::vector<std::int64_t>{pad, pad, pad, pad}},
                    {"group", group}});
    };
    auto halve = [&](const std::string& l) {  // (L + 2 - 3) // 2 + 1 == (L + 1) // 2 for L >= 0
      return g_.op("Div", {g_.op("Add", {l, g_.i64({1})}), g_.i64({2})});
    };
    // As MaskedConvSequential: mask before every layer, new lengths after each strided conv.
    x = conv(g_.op("Mul", {x, mask}), 0, 3, 2, 1);
    lengths = halve(lengths);
    mask = mask_of(x);
    x = g_.op("Relu", {g_.op("Mul", {x, mask})});
    for (int s = 1; s < stages; ++s) {
      const int base = 2 + 3 * (s - 1);
      x = conv(g_.op("Mul", {x, mask}), base, 3, 2, ch);
      lengths = halve(lengths);
      mask = mask_of(x);
      x = conv(g_.op("Mul", {x, mask}), base + 1, 1, 1, 1);
      x = g_.op("Relu", {g_.op("Mul", {x, mask})});
    }
    x = g_.op("Mul", {x, mask});
    x = g_.op("Transpose", {x}, {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}});
    x = g_.op("Reshape", {x, g_.i64({0, 0, -1})});
    return {linear(x, "encoder.pre_encode.out"), lengths};
  }

  // Sinusoids for positions T-1 ... -(T-1), computed in the graph (no length limit).
  std::string positional_encoding(const std::string& h) {
    const std::int64_t d = c_.model.encoder.d_model;
    auto t = g_.op("Squeeze", {dim(h, 1), g_.i64({0})});
    auto t_f = g_.op("Cast", {t}, {{"to", std::int64_t{onnx::TensorProto::FLOAT}}});
    auto one = g_.f32("pe.one", torch::tensor(1.0f));
    auto start = g_.op("Sub", {t_f, one});
    auto limit = g_.op("Neg", {t_f});
    auto positions = g_.op("Range", {start, limit, g_.f32("pe.minus_one", torch::tensor(-1.0f))});
    auto div_term = torch::exp(torch::arange(0, d, 2, torch::kFloat32) * -(std::log(10000.0) / d));
    auto angles = g_.op("Mul", {g_.op("Unsqueeze", {positions, g_.i64({1})}),
                                g_.f32("pe.div_term", div_term.unsqueeze(0))});  // [2T-1, d/2], float32
    auto sin = g_.op("Unsqueeze", {g_.op("Sin", {angles}), g_.i64({2})});
    auto cos = g_.op("Unsqueeze", {g_.op("Cos", {angles}), g_.i64({2})});
    auto pe = g_.op("Reshape", {g_.op("Concat", {sin, cos}, {{"axis", std::int64_t{2}}}), g_.i64({-1, d})});
    return to_compute(pe);  // [2T-1, d]: even columns sin, odd cos
  }

  std::string layer_norm(const std::string& x, const std::string& p) {
    return g_.op("LayerNormalization", {x, w(p + ".weight"), w(p + ".bias")},
                 {{"axis", std::int64_t{-1}}, {"epsilon", 1e-5f}});
  }

  std::string feed_forward(const std::string& x, const std::string& p) {
    return linear(silu(linear(x, p + ".linear1")), p + ".linear2");
  }

  std::string attention(const std::string& x, const std::string& pos_emb, const std::string& p) {
    const std::int64_t heads = c_.model.encoder.n_heads, dk = c_.model.encoder.d_model / heads;
    auto split_heads = [&](const std::string& v) { return g_.op("Reshape", {v, g_.i64({0, 0, heads, dk})}); };
    auto q = split_heads(linear(x, p + ".linear_q"));  // [B, T, H, dk]
    auto k = g_.op("Transpose", {split_heads(linear(x, p + ".linear_k"))}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}});
    auto v = g_.op("Transpose", {split_heads(linear(x, p + ".linear_v"))}, {{"perm", std::vector<std::int64_t>{0, 2, 1, 3}}});
    auto pp = g_.op("Reshape", {linear(pos_emb, p + ".linear_pos", false), g_.i64({1, -1, heads, dk})});
    pp = g_.op("Transpose", {pp}, {{"perm", std::vector<std::int64_t>{0, 2, 3, 1}}});  // [1, H, dk, 2T-1]
    auto heads_first = std::vector<std::int64_t>{0, 2, 1, 3};
    auto q_u = g_.op("Transpose", {g_.op("Add", {q, w(p + ".pos_bias_u")})}, {{"perm", heads_first}});
    auto q_v = g_.op("Transpose", {g_.op("Add", {q, w(p + ".pos_bias_v")})}, {{"perm", heads_first}});
    auto bd = g_.op("MatMul", {q_v, pp});  // [B, H, T, 2T-1]
    // rel_shift: left-pad one column, view as [B, H, 2T, T], drop the first row, view back.
    auto t = dim(x, 1);
    auto padded = g_.op("Pad", {bd, g_.i64({0, 0, 0, 1, 0, 0, 0, 0})});
    auto rows = g_.op("Reshape", {padded, g_.op("Concat", {g_.i64({0, 0, -1}), t}, {{"axis", std::int64_t{0}}})});
    auto dropped = g_.op("Slice", {rows, g_.i64({1}), g_.i64({INT64_MAX}), g_.i64({2})});
    auto two_t_minus_1 = g_.op("Sub", {g_.op("Mul", {t, g_.i64({2})}), g_.i64({1})});
    bd = g_.op("Reshape", {dropped, g_.op("Concat", {g_.i64({0, 0}), t, two_t_minus_1}, {{"axis", std::int64_t{0}}})});
    bd = g_.op("Slice", {bd, g_.i64({0}), t, g_.i64({3})});  // first T columns
    auto ac = g_.op("MatMul", {q_u, k});
    auto scores = g_.op("Div", {g_.op("Add", {ac, bd}), g_.scalar(static_cast<float>(std::sqrt(static_cast<double>(dk))))});
    scores = g_.op("Where", {att_mask_, g_.scalar(-10000.0f), scores});
    auto probs = g_.op("Where", {att_mask_, g_.scalar(0.0f), g_.op("Softmax", {scores}, {{"axis", std::int64_t{-1}}})});
    auto out = g_.op("Transpose", {g_.op("MatMul", {probs, v})}, {{"perm", heads_first}});
    out = g_.op("Reshape", {out, g_.i64({0, 0, -1})});
    return linear(out, p + ".linear_out");
  }

  // BatchNorm (eval statistics) folded into the depthwise convolution before it.
  std::pair<torch::Tensor, torch::Tensor> folded_depthwise(const std::string& p) {
    return fold_batch_norm(sd_.at(p + ".depthwise_conv.weight"), sd_.at(p + ".depthwise_conv.bias"),
                           sd_.at(p + ".batch_norm.weight"), sd_.at(p + ".batch_norm.bias"),
                           sd_.at(p + ".batch_norm.running_mean"), sd_.at(p + ".batch_norm.running_var"));
  }

  std::string convolution(const std::string& x, const std::string& p) {
    const std::int64_t d = c_.model.encoder.d_model, k = c_.model.encoder.conv_kernel_size;
    SORI_CHECK(c_.model.encoder.conv_norm_type == "batch_norm", "export: conv_norm_type ",
               c_.model.encoder.conv_norm_type, " is not supported yet (batch_norm is)");
    auto y = g_.op("Transpose", {x}, {{"perm", std::vector<std::int64_t>{0, 2, 1}}});  // [B, d, T]
    y = g_.op("Conv", {y, w(p + ".pointwise_conv1.weight"), w(p + ".pointwise_conv1.bias")},
              {{"kernel_shape", std::vector<std::int64_t>{1}}});
    auto halves = g_.op_n("Split", {y, g_.i64({d, d})}, 2, {{"axis", std::int64_t{1}}});
    y = g_.op("Mul", {halves[0], g_.op("Sigmoid", {halves[1]})});  // GLU
    y = g_.op("Where", {g_.op("Unsqueeze", {pad_, g_.i64({1})}), g_.scalar(0.0f), y});
    auto [fw, fb] = folded_depthwise(p);
    y = g_.op("Conv", {y, g_.weight(p + ".depthwise_conv.folded_weight", fw), g_.weight(p + ".depthwise_conv.folded_bias", fb)},
              {{"kernel_shape", std::vector<std::int64_t>{k}},
               {"pads", std::vector<std::int64_t>{(k - 1) / 2, (k - 1) / 2}},
               {"group", d}});
    y = g_.op("Conv", {silu(y), w(p + ".pointwise_conv2.weight"), w(p + ".pointwise_conv2.bias")},
              {{"kernel_shape", std::vector<std::int64_t>{1}}});
    return g_.op("Transpose", {y}, {{"perm", std::vector<std::int64_t>{0, 2, 1}}});
  }

  std::string block(const std::string& x, const std::string& pos_emb, const std::string& p) {
    auto half = g_.scalar(0.5f);
    auto r = g_.op("Add", {x, g_.op("Mul", {feed_forward(layer_norm(x, p + "norm_feed_forward1"), p + "feed_forward1"), half})});
    r = g_.op("Add", {r, attention(layer_norm(r, p + "norm_self_att"), pos_emb, p + "self_attn")});
    r = g_.op("Add", {r, convolution(layer_norm(r, p + "norm_conv"), p + "conv")});
    r = g_.op("Add", {r, g_.op("Mul", {feed_forward(layer_norm(r, p + "norm_feed_forward2"), p + "feed_forward2"), half})});
    return layer_norm(r, p + "norm_out");
  }

  GraphBuilder& g_;
  const StateDict& sd_;
  const Config& c_;
  std::string pad_, att_mask_;
};

void add_metadata(onnx::ModelProto& model, const PretrainedModel& m) {
  auto put = [&](const std::string& k, const std::string& v) {
    auto* p = model.add_metadata_props();
    p->set_key(k);
    p->set_value(v);
  };
  const auto& c = m.config.model;
  put("vocabulary", nlohmann::json(m.tokenizer->vocabulary()).dump());
  put("tokenizer", m.tokenizer->type());
  put("blank_index", std::to_string(m.tokenizer->blank_id()));
  put("sample_rate", std::to_string(c.sample_rate));
  put("subsampling_factor", std::to_string(c.encoder.subsampling_factor));
  nlohmann::json features{{"features", c.preprocessor.features},    {"n_fft", c.preprocessor.n_fft},
                          {"window_size", c.preprocessor.window_size}, {"window_stride", c.preprocessor.window_stride},
                          {"window", "hann_symmetric"},              {"preemph", c.preprocessor.preemph},
                          {"log_zero_guard_value", c.preprocessor.log_zero_guard_value},
                          {"normalize", "per_feature"},               {"mel_scale", "slaney"}};
  put("preprocessor", features.dump());
  put("model", "FastConformer-CTC (sori)");
}

}  // namespace

void export_onnx(PretrainedModel& m, const std::string& path, const OnnxExportOptions& options) {
  GraphBuilder g(options.fp16);
  const auto sd = state_dict(*m.model);
  FastConformerGraph(g, sd, m.config).build(options.with_preprocessor);
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("sori");
  auto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  *model.mutable_graph() = g.graph();
  model.mutable_graph()->set_name("fastconformer_ctc");
  add_metadata(model, m);
  try {
    onnx::checker::check_model(model);
    onnx::shape_inference::InferShapes(model);
  } catch (const std::exception& e) {
    SORI_FAIL("export: the ONNX graph failed validation: ", e.what());
  }
  std::string bytes;
  SORI_CHECK(model.SerializeToString(&bytes), "export: cannot serialise the ONNX model");
  write_file_atomic(path, bytes);
}

}  // namespace sori
