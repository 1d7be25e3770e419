// C++ modules vs the Python restatement of NeMo's code (tests/model/make_model_golden.py).
#include <gtest/gtest.h>

#include "golden_util.h"
#include "sori/model/conformer_block.h"
#include "sori/model/ctc_model.h"

using namespace sori;
using sori::test::golden_state_dict;
using sori::test::golden_tensor;
using sori::test::max_abs_diff;

namespace {
constexpr double kTol = 1e-5;

struct Golden {
  c10::Dict<c10::IValue, c10::IValue> g;
  ModelConfig config;
  int vocab;
  explicit Golden(const std::string& name) : g(test::load_golden("model/golden/fastconformer_" + name + ".pt")) {
    auto c = golden_tensor(g, "config");
    auto at = [&](int i) { return static_cast<int>(c[i].item<std::int64_t>()); };
    config.preprocessor.features = at(0);
    config.encoder.feat_in = at(0);
    config.encoder.d_model = at(1);
    config.encoder.n_layers = at(2);
    config.encoder.n_heads = at(3);
    config.encoder.conv_kernel_size = at(4);
    config.encoder.subsampling_factor = at(5);
    config.encoder.subsampling_conv_channels = at(6);
    vocab = at(7);
    config.encoder.xscaling = at(8) != 0;
  }
  torch::Tensor t(const std::string& key) const { return golden_tensor(g, key); }
  CtcModel model() const {
    CtcModel m(config, vocab);
    load_state_dict(*m->encoder(), golden_state_dict(g, "encoder."), "golden encoder");
    load_state_dict(*m->decoder(), golden_state_dict(g, "decoder."), "golden decoder");
    m->eval();
    return m;
  }
};

class ModelGolden : public ::testing::TestWithParam<std::string> {};
}  // namespace

TEST_P(ModelGolden, Subsampling) {
  Golden g(GetParam());
  const auto& e = g.config.encoder;
  ConvSubsampling sub(SubsamplingOptions{e.feat_in, e.d_model, e.subsampling_factor, e.subsampling_conv_channels});
  load_state_dict(*sub, golden_state_dict(g.g, "encoder.pre_encode."), "golden pre_encode");
  sub->eval();
  auto [out, lengths] = sub->forward(g.t("features").transpose(1, 2), g.t("lengths"));
  EXPECT_TRUE(torch::equal(lengths, g.t("pre_encode_lengths")));
  EXPECT_LE(max_abs_diff(out, g.t("pre_encode_out")), kTol);
}

TEST_P(ModelGolden, RelPositionalEncodingAndShift) {
  Golden g(GetParam());
  auto expected = g.t("pos_emb");
  RelPositionalEncoding enc(g.config.encoder.d_model, 0.0, 0.0, 1.0, 5000);
  enc->eval();
  auto [x, pos] = enc->forward(torch::zeros({1, (expected.size(1) + 1) / 2, g.config.encoder.d_model}));
  EXPECT_EQ(pos.sizes(), expected.sizes());
  EXPECT_LE(max_abs_diff(pos, expected), kTol);
  EXPECT_TRUE(torch::equal(rel_shift(g.t("rel_shift_in")), g.t("rel_shift_out")));
}

TEST_P(ModelGolden, Attention) {
  Golden g(GetParam());
  const auto& e = g.config.encoder;
  RelPositionMultiHeadAttention attn(e.n_heads, e.d_model, 0.0);
  load_state_dict(*attn, golden_state_dict(g.g, "encoder.layers.0.self_attn."), "golden self_attn");
  attn->eval();
  auto lengths = g.t("pre_encode_lengths");
  auto in = g.t("attn_in");
  auto pad = torch::arange(in.size(1)).unsqueeze(0) >= lengths.unsqueeze(1);
  auto out = attn->forward(in, pad.unsqueeze(1) | pad.unsqueeze(2), g.t("pos_emb"));
  EXPECT_LE(max_abs_diff(out, g.t("attn_out")), kTol);
}

TEST_P(ModelGolden, ConformerBlock) {
  Golden g(GetParam());
  const auto& e = g.config.encoder;
  ConformerBlock block(ConformerBlockOptions{e.d_model, e.n_heads, 4, e.conv_kernel_size, "batch_norm", 0.0, 0.0});
  load_state_dict(*block, golden_state_dict(g.g, "encoder.layers.0."), "golden layer 0");
  block->eval();
  auto lengths = g.t("pre_encode_lengths");
  auto in = g.t("layer0_in");
  auto pad = torch::arange(in.size(1)).unsqueeze(0) >= lengths.unsqueeze(1);
  auto out = block->forward(in, pad.unsqueeze(1) | pad.unsqueeze(2), g.t("pos_emb"), pad);
  EXPECT_LE(max_abs_diff(out, g.t("layer0_out")), kTol);
}

TEST_P(ModelGolden, EncoderAndDecoder) {
  Golden g(GetParam());
  auto model = g.model();
  torch::NoGradGuard no_grad;
  auto [logprobs, lengths] = model->forward(g.t("features"), g.t("lengths"));
  EXPECT_TRUE(torch::equal(lengths, g.t("encoded_lengths")));
  EXPECT_LE(max_abs_diff(logprobs, g.t("logprobs")), kTol);
}

INSTANTIATE_TEST_SUITE_P(Configs, ModelGolden, ::testing::Values("x8", "x4_noxscale"));
