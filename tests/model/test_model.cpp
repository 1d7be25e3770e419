#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Context.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "sori/core/torch_compat.h"
#include "sori/model/attention.h"
#include "sori/model/ctc_model.h"
#include "sori/model/state_dict.h"

using namespace sori;

namespace {
ModelConfig small_config() {
  ModelConfig c;
  c.encoder.n_layers = 2;
  c.encoder.d_model = 32;
  c.encoder.n_heads = 4;
  c.encoder.subsampling_conv_channels = 16;
  c.encoder.subsampling_factor = 4;
  c.encoder.feat_in = 80;
  return c;
}
}  // namespace

TEST(Model, StateDictKeysAndShapesAreNeMos) {
  // The reference list: NeMo's own modules for d176, 2 layers, 4 heads, kernel 9, 8x dw_striding
  // with 256 channels, 256 tokens.
  std::ifstream in(std::string(SORI_SOURCE_DIR) + "/tests/model/golden/nemo_fastconformer_ctc_state_dict.txt");
  ASSERT_TRUE(in);
  std::map<std::string, std::string> expected;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    std::string key, shape;
    std::getline(ls, key, '\t');
    std::getline(ls, shape, '\t');
    expected[key] = shape;
  }
  ModelConfig c;
  c.encoder.n_layers = 2;
  c.encoder.feat_in = 80;
  CtcModel model(c, 256);
  std::map<std::string, std::string> actual;
  for (const auto& [key, t] : state_dict(*model)) {
    std::ostringstream s;
    s << "[";
    for (std::int64_t i = 0; i < t.dim(); ++i) s << (i ? ", " : "") << t.size(i);
    s << "]";
    actual[key] = s.str();
  }
  // The reference lists layer 0's keys; layer 1 repeats them.
  for (const auto& [key, shape] : expected) {
    ASSERT_TRUE(actual.count(key)) << "missing " << key;
    EXPECT_EQ(actual[key], shape) << key;
  }
  for (const auto& [key, shape] : actual) {
    std::string as_layer0 = key;
    const auto pos = as_layer0.find("layers.1.");
    if (pos != std::string::npos) as_layer0.replace(pos, 9, "layers.0.");
    EXPECT_TRUE(expected.count(as_layer0)) << "unexpected " << key;
  }
}

TEST(Model, NeMoParameterTotals) {
  ModelConfig large;
  large.encoder.feat_in = 80;
  large.encoder.d_model = 512;
  large.encoder.n_layers = 18;
  large.encoder.n_heads = 8;
  CtcModel model(large, 1024);
  EXPECT_EQ(count_parameters(*model->encoder()), 115074560);
  EXPECT_EQ(count_parameters(*model->decoder()), 525825);
  ModelConfig small;
  small.encoder.feat_in = 80;
  CtcModel s(small, 1024);
  EXPECT_EQ(count_parameters(*s->encoder()), 12600240);
  EXPECT_EQ(count_parameters(*s->decoder()), 181425);
}

TEST(Model, InitialisationAsNeMo) {
  CtcModel model(small_config(), 20);
  for (const auto& [key, t] : state_dict(*model)) {
    if (key.find("pos_bias_") != std::string::npos) EXPECT_EQ(t.abs().max().item<float>(), 0.0f) << key;
  }
  // xavier_uniform bound for Conv1d(32, 21, 1): sqrt(6 / (32 + 21))
  auto w = state_dict(*model)["decoder.decoder_layers.0.weight"];
  EXPECT_LE(w.abs().max().item<double>(), std::sqrt(6.0 / 53.0) + 1e-6);
  EXPECT_GT(w.abs().max().item<double>(), 0.5 * std::sqrt(6.0 / 53.0));
}

TEST(Model, PaddedBatchGivesEachUtteranceItsUnpaddedResultInEval) {
  torch::manual_seed(0);
  CtcModel model(small_config(), 20);
  model->eval();
  torch::NoGradGuard no_grad;
  auto feats = torch::randn({2, 80, 120});
  auto lengths = torch::tensor({120, 67}, torch::kInt64);
  auto [batch_lp, batch_len] = model->forward(feats, lengths);
  for (int b = 0; b < 2; ++b) {
    const auto n = lengths[b].item<std::int64_t>();
    auto [lp, len] = model->forward(feats[b].narrow(1, 0, n).unsqueeze(0), lengths.narrow(0, b, 1));
    const auto t = len[0].item<std::int64_t>();
    EXPECT_EQ(t, batch_len[b].item<std::int64_t>());
    EXPECT_LE((batch_lp[b].narrow(0, 0, t) - lp[0]).abs().max().item<double>(), 1e-5) << "utterance " << b;
  }
}

TEST(Model, SubsampledLengths) {
  auto l = torch::tensor({0, 1, 2, 3, 100, 101, 1000}, torch::kInt64);
  EXPECT_TRUE(torch::equal(subsampled_lengths(l, 1), torch::tensor({0, 1, 1, 2, 50, 51, 500}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(subsampled_lengths(l, 3), torch::tensor({0, 1, 1, 1, 13, 13, 125}, torch::kInt64)));
  CtcModel model(small_config(), 20);
  model->eval();
  torch::NoGradGuard no_grad;
  auto [lp, len] = model->forward(torch::randn({1, 80, 101}), torch::tensor({101}, torch::kInt64));
  EXPECT_EQ(lp.size(1), 26);
  EXPECT_EQ(len[0].item<std::int64_t>(), 26);
  EXPECT_EQ(lp.size(2), 21);
}

TEST(Model, TrainingBatchNormSeesPadding) {
  // In training mode BatchNorm's batch statistics include padded (zeroed) frames, as NeMo: so
  // the padded utterance's output differs from its unpadded one.
  torch::manual_seed(0);
  CtcModel model(small_config(), 20);
  model->train();
  for (auto& m : model->modules())
    if (auto* d = m->as<torch::nn::Dropout>()) d->options.p(0.0);
  torch::NoGradGuard no_grad;
  auto feats = torch::randn({1, 80, 60});
  auto [a, la] = model->forward(feats, torch::tensor({60}, torch::kInt64));
  auto padded = torch::cat({feats, torch::zeros({1, 80, 40})}, 2);
  auto [b, lb] = model->forward(padded, torch::tensor({60}, torch::kInt64));
  EXPECT_GT((a[0] - b[0].narrow(0, 0, a.size(1))).abs().max().item<double>(), 1e-4);
}

namespace {
// The explicit attention and the scaled_dot_product_attention path with the same parameters, on
// `device`, under autocast to `dtype` when it is not fp32 (CUDA only), for 3 utterances padded to
// t frames. Returns the largest difference of the outputs and of every gradient, each relative to
// the explicit path's largest magnitude; infinity where either is not finite.
double sdpa_against_explicit(const torch::Device& device, at::ScalarType dtype, std::int64_t t) {
  torch::manual_seed(0);
  const int d = 64, h = 4;
  RelPositionMultiHeadAttention explicit_path(h, d, 0.0), sdpa(h, d, 0.0, /*use_sdpa=*/true);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : explicit_path->parameters()) p.copy_(torch::randn_like(p) * 0.2);  // pos biases too
    load_state_dict(*sdpa, state_dict(*explicit_path), "explicit attention");
  }
  explicit_path->to(device);
  sdpa->to(device);
  RelPositionalEncoding pos_enc(d, 0.0, 0.0, 1.0, 64);
  // Padded utterances: the last has every query past frame 4 fully masked.
  const auto lengths = torch::tensor({t, t * 3 / 5, std::int64_t{4}}, torch::kInt64).to(device);
  const auto pad = torch::arange(t, lengths.options()).unsqueeze(0) >= lengths.unsqueeze(1);
  const auto mask = pad.unsqueeze(1) | pad.unsqueeze(2);
  const auto x = torch::randn({3, t, d}, device);
  const auto pos_emb = pos_enc->forward(x).second;
  const auto upstream = torch::randn({3, t, d}, device);
  std::vector<torch::Tensor> results;
  for (auto module : {explicit_path, sdpa}) {
    auto input = x.clone().requires_grad_(true);
    torch::Tensor out;
    {
      compat::AutocastGuard autocast(device, dtype != torch::kFloat32, dtype);
      out = module->forward(input, mask, pos_emb).to(torch::kFloat32);
    }
    (out * upstream).sum().backward();
    results.push_back(out.detach());
    results.push_back(input.grad());
    for (auto& p : module->parameters()) {
      EXPECT_TRUE(p.grad().defined()) << "a parameter without a gradient";
      results.push_back(p.grad().defined() ? p.grad().to(torch::kFloat32) : torch::full({1}, NAN));
    }
  }
  double worst = 0;
  const auto n = results.size() / 2;
  for (std::size_t i = 0; i < n; ++i) {
    const auto scale = results[i].abs().max().item<double>();
    const auto difference = (results[i] - results[n + i]).abs().max().item<double>() / std::max(scale, 1e-6);
    worst = std::isfinite(difference) ? std::max(worst, difference) : INFINITY;
  }
  return worst;
}
}  // namespace

TEST(Attention, SdpaPathMatchesTheExplicitPathWithGradients) {
  EXPECT_LE(sdpa_against_explicit(torch::kCPU, torch::kFloat32, 19), 1e-5);
  if (!torch::cuda::is_available()) return;
  const bool tf32 = at::globalContext().allowTF32CuBLAS();
  at::globalContext().setAllowTF32CuBLAS(false);
  // 64 frames: T % 128 == 64 with fully masked queries gave cuDNN's kernel NaN gradients (2.11).
  for (const std::int64_t t : {19, 64}) {
    EXPECT_LE(sdpa_against_explicit(torch::kCUDA, torch::kFloat32, t), 1e-4) << "CUDA, fp32, T " << t;
    EXPECT_LE(sdpa_against_explicit(torch::kCUDA, torch::kBFloat16, t), 3e-2) << "CUDA, bf16 autocast, T " << t;
  }
  at::globalContext().setAllowTF32CuBLAS(tf32);
}

TEST(Attention, SdpaPathAppliesDropoutOnlyInTraining) {
  torch::manual_seed(0);
  RelPositionMultiHeadAttention attention(4, 32, 0.5, /*use_sdpa=*/true);
  RelPositionalEncoding pos_enc(32, 0.0, 0.0, 1.0, 64);
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 10, 32});
  const auto pos_emb = pos_enc->forward(x).second;
  const auto mask = torch::zeros({2, 10, 10}, torch::kBool);
  attention->train();
  EXPECT_FALSE(torch::allclose(attention->forward(x, mask, pos_emb), attention->forward(x, mask, pos_emb)));
  attention->eval();
  EXPECT_TRUE(torch::equal(attention->forward(x, mask, pos_emb), attention->forward(x, mask, pos_emb)));
}

TEST(Model, UsePytorchSdpaKeepsTheWeightsAndTheLogProbs) {
  torch::manual_seed(0);
  auto with_sdpa = small_config();
  with_sdpa.encoder.use_pytorch_sdpa = true;
  CtcModel explicit_model(small_config(), 20), sdpa_model(with_sdpa, 20);
  load_state_dict(*sdpa_model, state_dict(*explicit_model), "explicit model");
  explicit_model->eval();
  sdpa_model->eval();
  torch::NoGradGuard no_grad;
  const auto feats = torch::randn({2, 80, 120});
  const auto lengths = torch::tensor({120, 67}, torch::kInt64);
  const auto a = explicit_model->forward(feats, lengths).first, b = sdpa_model->forward(feats, lengths).first;
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-5);
}
