// Sync BatchNorm on two Gloo ranks against BatchNorm in one process on the concatenated batch.
// The ranks are this test binary started again with SORI_SYNC_BN_RANK set (fresh processes, not
// fork(): LibTorch's thread pools do not survive a fork).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <optional>
#include <sstream>

#include "sori/core/torch_compat.h"
#include "sori/dist/process_group.h"
#include "sori/dist/sync_batch_norm.h"
#include "test_util.h"

using namespace sori;

namespace {

constexpr std::int64_t kBatch = 3, kChannels = 4, kTime = 5;  // per rank; both ranks have equal T

// The concatenated batch [2·kBatch, C, T] and the gradient flowing into the norm's output.
std::pair<torch::Tensor, torch::Tensor> inputs() {
  torch::manual_seed(7);
  const auto o = torch::TensorOptions().dtype(torch::kFloat64);
  auto x = torch::randn({2 * kBatch, kChannels, kTime}, o) * 2 + 0.5;
  auto upstream = torch::randn({2 * kBatch, kChannels, kTime}, o);
  return {x, upstream};
}

torch::nn::BatchNorm1d make_norm() {
  torch::nn::BatchNorm1d norm(kChannels);
  norm->to(torch::kFloat64);
  torch::NoGradGuard no_grad;
  norm->weight.copy_(torch::linspace(0.5, 1.5, kChannels));
  norm->bias.copy_(torch::linspace(-0.2, 0.3, kChannels));
  norm->train();
  return norm;
}

// What one norm did on `x` (forward, then backward of sum(y · upstream)).
struct Outcome {
  torch::Tensor y, grad_x, grad_weight, grad_bias, running_mean, running_var;
};

template <class Forward>
Outcome run_norm(const torch::Tensor& x_in, const torch::Tensor& upstream, Forward forward) {
  auto norm = make_norm();
  auto x = x_in.clone().requires_grad_(true);
  auto y = forward(*norm, x);
  (y * upstream).sum().backward();
  return {y.detach(), x.grad(), norm->weight.grad(), norm->bias.grad(), norm->running_mean.clone(),
          norm->running_var.clone()};
}

// Both ranks' outcomes; `excluded`: the rank whose frames are left out (-1: none, 2: both).
std::vector<Outcome> run_two_ranks(const test::TempDir& dir, int excluded) {
  const auto port = std::to_string(test::free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(test::spawn({"/proc/self/exe", "--gtest_filter=SyncBatchNormRank.Run"},
                               {"SORI_SYNC_BN_RANK=" + std::to_string(r) + " " + port + " " + std::to_string(excluded) +
                                " " + dir.path("rank" + std::to_string(r) + ".pt")},
                               dir.path("rank" + std::to_string(r) + ".log")));
  std::vector<Outcome> out;
  for (int r = 0; r < 2; ++r) {
    const int status = test::wait_exit(pids[static_cast<std::size_t>(r)]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_text(dir.path("rank" + std::to_string(r) + ".log"));
    std::vector<torch::Tensor> t;
    if (status == 0) torch::load(t, dir.path("rank" + std::to_string(r) + ".pt"));
    if (t.size() != 6) return {};
    out.push_back({t[0], t[1], t[2], t[3], t[4], t[5]});
  }
  return out;
}

void expect_close(const torch::Tensor& a, const torch::Tensor& b, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_LE((a - b).abs().max().item<double>(), 1e-12) << what;
}

}  // namespace

// One rank of the tests below; skipped when run on its own.
TEST(SyncBatchNormRank, Run) {
  const char* spec = std::getenv("SORI_SYNC_BN_RANK");
  if (spec == nullptr) GTEST_SKIP() << "a rank of the SyncBatchNorm tests, which start it";
  std::istringstream in(spec);
  dist::LaunchEnv env;
  int excluded = -1;
  std::string out;
  in >> env.rank >> env.master_port >> excluded >> out;
  env.launcher = "torchrun";
  env.world_size = env.local_world_size = 2;
  env.local_rank = env.rank;
  env.master_addr = "127.0.0.1";
  dist::ProcessGroupOptions options;
  options.timeout = options.startup_timeout = std::chrono::seconds(30);
  dist::ProcessGroup group(env, torch::kCPU, options);
  const auto [x, upstream] = inputs();
  const auto mine = [&](const torch::Tensor& t) { return t.narrow(0, env.rank * kBatch, kBatch); };
  // As the trainer's stand-in step: excluded, and a zero loss gradient.
  std::optional<dist::ExcludedFromBatchStatistics> exclude;
  if (env.rank == excluded || excluded == 2) exclude.emplace();
  const auto o = run_norm(mine(x), exclude ? torch::zeros_like(mine(upstream)) : mine(upstream), [&](torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& xr) {
    return dist::sync_batch_norm(norm, xr, group);
  });
  std::vector<torch::Tensor> t = {o.y, o.grad_x, o.grad_weight, o.grad_bias, o.running_mean, o.running_var};
  torch::save(t, out);
}

TEST(SyncBatchNorm, TwoRanksEqualOneProcessOnTheConcatenatedBatch) {
  if (!sori::compat::gloo_available()) GTEST_SKIP() << "needs c10d Gloo, which this LibTorch lacks";
  test::TempDir dir;
  const auto ranks = run_two_ranks(dir, -1);
  ASSERT_EQ(ranks.size(), 2u);
  const auto [x, upstream] = inputs();
  const auto one = run_norm(x, upstream, [](torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& xs) {
    return norm.forward(xs);
  });
  expect_close(torch::cat({ranks[0].y, ranks[1].y}), one.y, "output");
  expect_close(torch::cat({ranks[0].grad_x, ranks[1].grad_x}), one.grad_x, "input gradient");
  // Each rank holds its own affine gradient sums; the gradient reducer combines them.
  expect_close(ranks[0].grad_weight + ranks[1].grad_weight, one.grad_weight, "weight gradient");
  expect_close(ranks[0].grad_bias + ranks[1].grad_bias, one.grad_bias, "bias gradient");
  for (const auto& r : ranks) {
    expect_close(r.running_mean, one.running_mean, "running mean");
    expect_close(r.running_var, one.running_var, "running variance (global unbiased count)");
  }
}

// The stand-in step of a micro-batch that lost all its utterances takes part in the collectives
// but adds no frames and no gradient: rank 0 normalises with its own statistics alone.
TEST(SyncBatchNorm, AnExcludedRankAddsNoFrames) {
  if (!sori::compat::gloo_available()) GTEST_SKIP() << "needs c10d Gloo, which this LibTorch lacks";
  test::TempDir dir;
  const auto ranks = run_two_ranks(dir, 1);
  ASSERT_EQ(ranks.size(), 2u);
  const auto [x, upstream] = inputs();
  const auto first = [](const torch::Tensor& t) { return t.narrow(0, 0, kBatch); };
  const auto alone = run_norm(first(x), first(upstream), [](torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& xs) {
    return norm.forward(xs);
  });
  expect_close(ranks[0].y, alone.y, "output");
  expect_close(ranks[0].grad_x, alone.grad_x, "input gradient");
  expect_close(ranks[0].grad_weight, alone.grad_weight, "weight gradient");
  EXPECT_EQ(ranks[1].grad_weight.abs().max().item<double>(), 0.0) << "the excluded rank's affine gradients";
  for (const auto& r : ranks) expect_close(r.running_mean, alone.running_mean, "running mean");
}

// Every rank's micro-batch failed: no frames anywhere. Nothing may become NaN, and the running
// statistics stay as they were.
TEST(SyncBatchNorm, NoFramesOnAnyRankLeaveTheRunningStatisticsAlone) {
  if (!sori::compat::gloo_available()) GTEST_SKIP() << "needs c10d Gloo, which this LibTorch lacks";
  test::TempDir dir;
  const auto ranks = run_two_ranks(dir, 2);
  ASSERT_EQ(ranks.size(), 2u);
  const auto fresh = make_norm();
  for (const auto& r : ranks) {
    EXPECT_TRUE(torch::isfinite(r.y).all().item<bool>());
    EXPECT_EQ(r.grad_x.abs().max().item<double>(), 0.0);
    expect_close(r.running_mean, fresh->running_mean, "running mean");
    expect_close(r.running_var, fresh->running_var, "running variance");
  }
}
