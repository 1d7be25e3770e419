// The training step: non-finite gradients skip the update and back the fp16 loss scale off; on
// CUDA (skipped without) a plain step reads the device from the host exactly once (the per-step
// agreement) and copies only from pinned host memory.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "sori/core/torch_compat.h"
#include "sori/data/collate.h"
#include "sori/dist/process_group.h"
#include "sori/train/training_step.h"
#include "test_util.h"

using namespace sori;

namespace {

Config small_config() {
  Config c;
  c.model.encoder.n_layers = 2;
  c.model.encoder.d_model = 64;
  c.model.encoder.n_heads = 4;
  c.model.encoder.subsampling_conv_channels = 32;
  c.model.encoder.feat_in = c.model.preprocessor.features;
  return c;
}

// Two utterances of 2 s and 1.5 s, as the loader hands them over (pinned for a CUDA run).
Batch two_utterances(int vocab, bool pinned) {
  std::vector<Utterance> utts;
  for (double seconds : {2.0, 1.5}) {
    Utterance u;
    u.audio.assign(static_cast<std::size_t>(seconds * 16000), 0.0f);
    for (std::size_t i = 0; i < u.audio.size(); ++i) u.audio[i] = 0.1f * static_cast<float>(std::sin(0.05 * i));
    u.tokens = {1, 2, 3, vocab - 1, 4};
    u.index = utts.size();
    utts.push_back(std::move(u));
  }
  return collate(std::move(utts), pinned);
}

}  // namespace

TEST(TrainingStep, NonFiniteGradientsSkipTheUpdateAndBackOffTheLossScale) {
  const auto config = small_config();
  const int vocab = 30;
  torch::manual_seed(0);
  CtcModel model(config.model, vocab);
  model->train();
  Optimizer optimizer(config.model.optim, model->parameters());
  const torch::Device cpu(torch::kCPU);
  GradScaler::Options huge;  // a loss scale that overflows float32 on the first backward
  huge.enabled = true;
  huge.init_scale = 1e38;
  GradScaler scaler(huge, cpu);
  dist::ProcessGroup group;
  TrainingStep step(config, TrainingStepParts{model, &optimizer, &scaler, &group, nullptr, cpu,
                                              resolve_precision("32", cpu), vocab});
  std::vector<torch::Tensor> before;
  for (const auto& p : model->parameters()) before.push_back(p.detach().clone());
  const auto r = step.run({two_utterances(vocab, false)}, 1e-3, false);
  EXPECT_TRUE(r.non_finite);
  EXPECT_TRUE(r.skipped);
  EXPECT_FALSE(r.stop);
  const auto after = model->parameters();
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i])) << "parameter " << i;
  EXPECT_FLOAT_EQ(scaler.scale_value().item<float>(), 0.5e38f);
}

#if defined(SORI_WITH_CUDA) && TORCH_VERSION_MAJOR >= 2
#include <c10/cuda/CUDAFunctions.h>
#include <c10/util/Backtrace.h>

namespace {

// Runs `f` with stderr sent to a file and returns what was written there.
template <class F>
std::string captured_stderr(F&& f) {
  test::TempDir dir;
  const auto path = dir.path("stderr.txt");
  std::fflush(stderr);
  const int saved = ::dup(2);
  FILE* file = std::fopen(path.c_str(), "w");
  ::dup2(::fileno(file), 2);
  f();
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  std::fclose(file);
  return test::read_text(path);
}

// Collects where this thread's synchronising operations come from (backward's worker thread
// keeps the default handler, which prints to stderr).
struct SyncSources : c10::WarningHandler {
  std::vector<std::string> backtraces;
  void process(const c10::Warning& w) override {
    if (w.msg().find("synchronizing CUDA operation") != std::string::npos) backtraces.push_back(c10::get_backtrace(2, 24));
  }
};

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace
#endif

TEST(TrainerCuda, APlainStepReadsTheHostOnceAndCopiesFromPinnedMemory) {
#if defined(SORI_WITH_CUDA) && TORCH_VERSION_MAJOR >= 2
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const torch::Device cuda(torch::kCUDA);
  EXPECT_TRUE(compat::staging_tensor({4}, torch::kBool, cuda).is_pinned());
  const auto config = small_config();
  const int vocab = 30;
  torch::manual_seed(0);
  CtcModel model(config.model, vocab);
  model->to(cuda);
  model->train();
  Optimizer optimizer(config.model.optim, model->parameters());
  const auto precision = resolve_precision("bf16", cuda);
  GradScaler scaler({precision.loss_scaling}, cuda);
  dist::ProcessGroup group;
  TrainingStep step(config, TrainingStepParts{model, &optimizer, &scaler, &group, nullptr, cuda, precision, vocab});
  auto batch = two_utterances(vocab, /*pinned=*/true);
  for (const auto* t : {&batch.audio, &batch.audio_lengths, &batch.tokens, &batch.token_lengths})
    EXPECT_TRUE(t->is_pinned());
  for (int i = 0; i < 3; ++i) step.run({batch}, 1e-4, false);  // warm-up: allocator, cuDNN, cuBLAS
  torch::cuda::synchronize();
  auto& sync_debug = c10::cuda::warning_state();
  const auto before = sync_debug.get_sync_debug_mode();
  // The warnings of backward's worker thread reach stderr too, so they are counted there.
  SyncSources here;
  const auto log = captured_stderr([&] {
    c10::WarningUtils::WarningHandlerGuard guard(&here);
    sync_debug.set_sync_debug_mode(c10::cuda::SyncDebugMode::L_WARN);
    batch.global_index = 3;
    step.run({batch}, 1e-4, false);
    sync_debug.set_sync_debug_mode(before);
  });
  std::string sources;
  for (const auto& b : here.backtraces) sources += "---- synchronising here:\n" + b + "\n";
  EXPECT_EQ(here.backtraces.size() + count(log, "synchronizing CUDA operation"), 1u) << sources << log;
#else
  GTEST_SKIP() << "built without CUDA";
#endif
}
