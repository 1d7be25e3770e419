#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "sori/train/ctc_loss.h"
#include "sori/train/error_rate.h"
#include "sori/train/grad_scaler.h"
#include "sori/train/lr_schedule.h"
#include "sori/train/optimizer.h"
#include "sori/core/torch_compat.h"
#include "sori/model/ctc_decode.h"
#include "test_util.h"

using namespace sori;

TEST(LrSchedule, CosineAnnealingAsNeMo) {
  OptimConfig o;
  o.lr = 1e-3;
  o.sched.name = "CosineAnnealing";
  o.sched.warmup_steps = 100;
  o.sched.min_lr = 1e-5;
  LrSchedule s(o, 1100, 176);
  EXPECT_DOUBLE_EQ(s.at(0), 1e-3 * 1 / 101);
  EXPECT_DOUBLE_EQ(s.at(50), 1e-3 * 51 / 101);
  EXPECT_DOUBLE_EQ(s.at(100), 1e-3);  // end of warm-up: (100 + 1) / (100 + 1)
  EXPECT_NEAR(s.at(600), 1e-5 + 0.5 * (1e-3 - 1e-5), 1e-12);  // half way through the cosine
  EXPECT_NEAR(s.at(1100), 1e-5, 1e-12);
  EXPECT_DOUBLE_EQ(s.at(5000), 1e-5);
}

TEST(LrSchedule, NoamAnnealingAsNeMo) {
  OptimConfig o;
  o.lr = 2.0;
  o.sched.name = "NoamAnnealing";
  o.sched.warmup_steps = 10000;
  o.sched.min_lr = 1e-6;
  LrSchedule s(o, -1, 256);
  const double norm = 1.0 / 16.0;  // 256^-0.5
  EXPECT_NEAR(s.at(0), 2.0 * norm * 1 * std::pow(10000.0, -1.5), 1e-15);  // s = max(1, 0)
  EXPECT_NEAR(s.at(5000), 2.0 * norm * 5000 * std::pow(10000.0, -1.5), 1e-15);
  EXPECT_NEAR(s.at(10000), 2.0 * norm / 100.0, 1e-15);
  EXPECT_NEAR(s.at(40000), 2.0 * norm / 200.0, 1e-15);
  EXPECT_NEAR(s.at(1000000000000LL), 1e-6, 1e-15);  // 1.25e-7 by the formula: min_lr after warm-up
}

TEST(CtcLoss, MeanVolumeReduction) {
  torch::manual_seed(0);
  auto lp = torch::log_softmax(torch::randn({2, 12, 5}), -1);
  auto lengths = torch::tensor({12, 9}, torch::kInt64);
  auto targets = torch::tensor({{1, 2, 3, 1}, {2, 2, 0, 0}}, torch::kInt64);
  auto tlen = torch::tensor({4, 2}, torch::kInt64);
  auto none = torch::ctc_loss(lp.transpose(0, 1), targets, lengths, tlen, 4, at::Reduction::None, true);
  auto ours = ctc_loss_mean_volume(lp, lengths, targets, tlen, 4);
  EXPECT_NEAR(ours.item<double>(), none.sum().item<double>() / 6.0, 1e-6);
}

TEST(GradScaler, SkipsNonFiniteStepsAndBacksOff) {
  auto p = torch::ones({3}, torch::requires_grad());
  GradScaler::Options o;
  o.enabled = true;
  o.init_scale = 1024;
  o.growth_interval = 2;
  GradScaler scaler(o, torch::kCPU);
  auto found_inf = [&] { return torch::logical_not(torch::isfinite(grad_norm({p}))); };
  scaler.scale((p * 2).sum()).backward();
  EXPECT_NEAR(p.grad()[0].item<double>(), 2.0 * 1024, 1e-3);  // scaled
  auto inf = found_inf();
  EXPECT_FALSE(inf.item<bool>());
  scaler.update(inf);
  EXPECT_EQ(scaler.scale_value().item<double>(), 1024);
  p.mutable_grad().fill_(std::numeric_limits<float>::infinity());
  inf = found_inf();
  EXPECT_TRUE(inf.item<bool>());
  scaler.update(inf);
  EXPECT_EQ(scaler.scale_value().item<double>(), 512);  // backed off
  EXPECT_EQ(scaler.growth_tracker().item<std::int64_t>(), 0);
  p.mutable_grad().fill_(1.0);
  for (int i = 0; i < 2; ++i) scaler.update(found_inf());
  EXPECT_EQ(scaler.scale_value().item<double>(), 1024);  // grew after 2 clean steps
  p.mutable_grad().fill_(std::nan(""));
  EXPECT_TRUE(found_inf().item<bool>());
}

TEST(GradNorm, GlobalNormAndScalingStayOnDevice) {
  auto a = torch::zeros({2}, torch::requires_grad()), b = torch::zeros({1}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f, 0.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  auto norm = grad_norm({a, b});
  EXPECT_NEAR(norm.item<double>(), 5.0, 1e-6);
  EXPECT_EQ(norm.dim(), 0);
  scale_gradients({a, b}, 1.0 / norm);
  EXPECT_NEAR(a.grad()[0].item<double>(), 0.6, 1e-5);
  EXPECT_NEAR(b.grad()[0].item<double>(), 0.8, 1e-5);
}

namespace {
// Our multi-tensor AdamW against torch::optim::AdamW (per tensor) over 4 steps with weight decay
// and a changing learning rate, then a save/load round trip; largest parameter difference.
double adamw_difference(const torch::Device& device) {
  torch::manual_seed(3);
  OptimConfig o;
  o.weight_decay = 0.01;
  std::vector<torch::Tensor> ours, theirs;
  for (auto shape : {std::vector<std::int64_t>{7, 5}, {5}, {3, 2, 4}}) {
    auto p = torch::randn(shape).to(device);
    ours.push_back(p.clone().requires_grad_());
    theirs.push_back(p.clone().requires_grad_());
  }
  Optimizer optimizer(o, ours);
  torch::optim::AdamW reference(theirs, torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps)
                                            .weight_decay(o.weight_decay));
  auto step = [&](Optimizer& opt, int k) {
    const double lr = 1e-2 / (k + 1);
    for (std::size_t i = 0; i < ours.size(); ++i) {
      auto g = torch::randn(ours[i].sizes()).to(device);
      ours[i].mutable_grad() = g.clone();
      theirs[i].mutable_grad() = g.clone();
    }
    opt.set_lr(lr);
    opt.step();
    static_cast<torch::optim::AdamWOptions&>(reference.param_groups().front().options()).lr(lr);
    reference.step();
  };
  for (int k = 0; k < 3; ++k) step(optimizer, k);
  Optimizer restored(o, ours);
  restored.load(optimizer.save(), device, "test");
  step(restored, 3);
  double worst = 0;
  for (std::size_t i = 0; i < ours.size(); ++i)
    worst = std::max(worst, (ours[i] - theirs[i]).abs().max().item<double>());
  return worst;
}
}  // namespace

TEST(Optimizer, MultiTensorAdamWEqualsPerTensorAdamWAcrossASaveAndLoad) {
  const torch::Device cpu(torch::kCPU);
  // The _foreach_ path does torch::optim::AdamW's arithmetic exactly; a fused kernel rounds its own way.
  EXPECT_LE(adamw_difference(cpu), compat::fused_adamw(cpu) ? 1e-6 : 0.0);
}

TEST(Optimizer, LoadRefusesWhatIsNotItsBytesNamingTheSource) {
  auto p = torch::zeros({3}).requires_grad_();
  Optimizer optimizer(OptimConfig{}, {p});
  const auto bytes = optimizer.save();
  EXPECT_EQ(bytes.scalar_type(), torch::kUInt8);
  EXPECT_EQ(bytes.dim(), 1);
  for (const auto& wrong : {torch::Tensor(), bytes.to(torch::kFloat32), bytes.view({1, -1}), bytes.narrow(0, 0, 10)}) {
    const auto error = test::error_text([&] { optimizer.load(wrong, torch::kCPU, "checkpoint x.ckpt"); });
    EXPECT_NE(error.find("checkpoint x.ckpt: optimizer state"), std::string::npos) << error;
  }
}

TEST(Cuda, FusedAdamWMatchesPerTensorAdamW) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  EXPECT_LE(adamw_difference(torch::Device(torch::kCUDA)), 1e-6);
}

TEST(ErrorRate, SumsEditsOverTheCorpus) {
  ErrorCounts c;
  c.add("ab cd", "ab cd");  // 0 edits, 5 chars, 2 words
  c.add("abc", "abd");      // 1 edit, 3 chars, 1 word
  EXPECT_NEAR(c.cer(), 1.0 / 8.0, 1e-12);  // not the mean of 0 and 1/3
  EXPECT_NEAR(c.wer(), 1.0 / 3.0, 1e-12);
  ErrorCounts k;
  k.add("안녕 하세요", "안녕하세요");
  EXPECT_NEAR(k.cer(), 1.0 / 6.0, 1e-12);
  EXPECT_EQ(k.cer_nospace(), 0.0);
}

TEST(CtcDecode, GreedyCollapsesRepeatsAndDropsBlanks) {
  // frames: 1 1 blank 1 2 2 blank (blank = 3), second utterance only 2 valid frames
  std::vector<std::vector<int>> ids = {{1, 1, 3, 1, 2, 2, 3}, {2, 2, 1, 1, 1, 1, 1}};
  auto lp = torch::full({2, 7, 4}, -10.0);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 7; ++t) lp[b][t][ids[b][t]] = 0.0;
  auto hyps = greedy_ctc_decode(lp, torch::tensor({7, 2}, torch::kInt64), 3);
  EXPECT_EQ(hyps[0].tokens, (std::vector<int>{1, 1, 2}));
  EXPECT_EQ(hyps[0].frames, (std::vector<std::int64_t>{0, 3, 4}));
  EXPECT_EQ(hyps[1].tokens, (std::vector<int>{2}));
}
