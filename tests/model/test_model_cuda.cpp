// CPU vs CUDA: the same model and features on both backends (skipped without CUDA).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <ATen/Context.h>

#include "sori/core/torch_compat.h"
#include "sori/model/ctc_model.h"
#include "sori/model/state_dict.h"

using namespace sori;

namespace {
ModelConfig config() {
  ModelConfig c;
  c.encoder.n_layers = 2;
  c.encoder.d_model = 64;
  c.encoder.n_heads = 4;
  c.encoder.subsampling_conv_channels = 32;
  c.encoder.feat_in = 80;
  return c;
}
}  // namespace

TEST(Cuda, ModelAndFeaturesMatchCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  at::globalContext().setAllowTF32CuBLAS(false);
  at::globalContext().setAllowTF32CuDNN(false);
  torch::manual_seed(0);
  CtcModel cpu(config(), 30), gpu(config(), 30);
  load_state_dict(*gpu, state_dict(*cpu), "cpu model");
  cpu->eval();
  gpu->eval();
  gpu->to(torch::kCUDA);
  torch::NoGradGuard no_grad;
  auto audio = torch::randn({3, 32000}) * 0.1;
  auto lengths = torch::tensor({32000, 20000, 9000}, torch::kInt64);
  auto [f_cpu, l_cpu] = cpu->features(audio, lengths);
  auto [f_gpu, l_gpu] = gpu->features(audio.cuda(), lengths.cuda());
  EXPECT_LE((f_cpu - f_gpu.cpu()).abs().max().item<double>(), 1e-3);
  auto [lp_cpu, e_cpu] = cpu->forward(f_cpu, l_cpu);
  auto [lp_gpu, e_gpu] = gpu->forward(f_cpu.cuda(), l_cpu.cuda());
  EXPECT_TRUE(torch::equal(e_cpu, e_gpu.cpu()));
  for (int b = 0; b < 3; ++b) {
    const auto t = e_cpu[b].item<std::int64_t>();
    EXPECT_LE((lp_cpu[b].narrow(0, 0, t) - lp_gpu[b].narrow(0, 0, t).cpu()).abs().max().item<double>(), 1e-4);
  }
  at::globalContext().setAllowTF32CuBLAS(true);
}

TEST(Cuda, AutocastBf16AndFp16ForwardStayClose) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::manual_seed(0);
  CtcModel model(config(), 30);
  model->eval();
  model->to(torch::kCUDA);
  torch::NoGradGuard no_grad;
  auto feats = torch::randn({2, 80, 300}, torch::kCUDA);
  auto lengths = torch::tensor({300, 211}, torch::TensorOptions().dtype(torch::kInt64).device(torch::kCUDA));
  auto [ref, _] = model->forward(feats, lengths);
  for (auto dtype : {at::kBFloat16, at::kHalf}) {
    compat::AutocastGuard guard(torch::Device(torch::kCUDA), true, dtype);
    EXPECT_TRUE(compat::autocast_enabled(torch::Device(torch::kCUDA)));
    auto [lp, len] = model->forward(feats, lengths);
    EXPECT_TRUE(torch::isfinite(lp).all().item<bool>());
    EXPECT_LE((lp.to(torch::kFloat32) - ref).abs().max().item<double>(), 0.15) << dtype;
  }
  EXPECT_FALSE(compat::autocast_enabled(torch::Device(torch::kCUDA)));  // guard restored the state
}
