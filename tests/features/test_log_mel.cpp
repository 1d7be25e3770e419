#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <iterator>

#include "sori/features/log_mel.h"
#include "sori/features/mel_filterbank.h"

using namespace sori;

namespace {
c10::Dict<c10::IValue, c10::IValue> load_golden(const std::string& name) {
  std::ifstream in(std::string(SORI_SOURCE_DIR) + "/tests/features/golden/" + name, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return torch::pickle_load(bytes).toGenericDict();
}
}  // namespace

TEST(LogMel, MatchesTorchaudioGolden) {
  auto g = load_golden("log_mel.pt");
  auto audio = g.at("audio").toTensor(), lengths = g.at("lengths").toTensor();
  LogMelFeatures features(PreprocessorConfig{}, 16000);
  features->eval();
  auto [feats, frames] = features->forward(audio, lengths);
  auto expected = g.at("features").toTensor();
  ASSERT_EQ(feats.sizes(), expected.sizes());
  EXPECT_TRUE(torch::equal(frames, g.at("frames").toTensor()));
  EXPECT_LE((feats - expected).abs().max().item<double>(), 1e-4);
  // Our double-precision filterbank vs torchaudio's float32 one.
  auto fb = features->named_buffers()["fb"];
  EXPECT_EQ(fb.sizes(), (std::vector<std::int64_t>{1, 80, 257}));
  EXPECT_LE((fb[0] - g.at("fb").toTensor()).abs().max().item<double>(), 1e-6);
  EXPECT_EQ(features->named_buffers()["window"].size(0), 400);
}

TEST(LogMel, PaddedBatchGivesEachUtteranceItsOwnResult) {
  LogMelFeatures features(PreprocessorConfig{}, 16000);
  features->eval();
  torch::manual_seed(1);
  auto a = torch::randn({1, 8000}), b = torch::randn({1, 5000});
  auto batch = torch::zeros({2, 8000});
  batch[0] = a[0];
  batch.index_put_({1, torch::indexing::Slice(0, 5000)}, b[0]);
  auto [fb, lb] = features->forward(batch, torch::tensor({8000, 5000}, torch::kInt64));
  auto [fa1, la1] = features->forward(a, torch::tensor({8000}, torch::kInt64));
  auto [fb1, lb1] = features->forward(b, torch::tensor({5000}, torch::kInt64));
  EXPECT_LE((fb[0] - fa1[0]).abs().max().item<double>(), 1e-5);
  const auto n = lb1[0].item<std::int64_t>();
  EXPECT_EQ(n, 31);
  EXPECT_LE((fb[1].narrow(1, 0, n) - fb1[0].narrow(1, 0, n)).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(fb[1].narrow(1, n, fb.size(2) - n).abs().max().item<double>(), 0.0);
}

TEST(LogMel, DitherOnlyInTraining) {
  LogMelFeatures features(PreprocessorConfig{}, 16000);
  auto x = torch::randn({1, 4000});
  auto len = torch::tensor({4000}, torch::kInt64);
  features->eval();
  EXPECT_TRUE(torch::equal(features->forward(x, len).first, features->forward(x, len).first));
  features->train();
  EXPECT_FALSE(torch::equal(features->forward(x, len).first, features->forward(x, len).first));
}

TEST(MelFilterbank, SlaneyScaleKnownPoints) {
  EXPECT_NEAR(hz_to_mel_slaney(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(hz_to_mel_slaney(200.0), 3.0, 1e-12);
  EXPECT_NEAR(mel_to_hz_slaney(hz_to_mel_slaney(4321.0)), 4321.0, 1e-9);
}
