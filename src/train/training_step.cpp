#include "sori/train/training_step.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <sstream>

#include "sori/core/error.h"
#include "sori/core/rng.h"
#include "sori/core/torch_compat.h"
#include "sori/dist/sync_batch_norm.h"
#include "sori/features/spec_augment.h"
#include "sori/model/subsampling.h"
#include "sori/train/ctc_loss.h"
#include "sori/train/run_setup.h"

namespace sori {

namespace {
constexpr std::uint64_t kGeneratorSalt = 0xD40F, kSpecAugmentSalt = 0x5BEC;
// The per-step agreement's slots, summed over ranks.
enum AgreementSlot : int { kStop, kPreempt, kFoundInf, kLossSum, kTokens };
}

TrainingStep::TrainingStep(const Config& config, TrainingStepParts parts) : config_(config), p_(std::move(parts)) {
  const auto& r = config.trainer.loss_reduction;
  SORI_CHECK(r == "global_tokens" || r == "nemo", "trainer.loss_reduction: expected global_tokens or nemo, found '", r,
             "'");
  global_tokens_ = r == "global_tokens";
  subsampling_stages_ = static_cast<int>(std::lround(std::log2(config.model.encoder.subsampling_factor)));
  if (const char* at = std::getenv("SORI_TEST_OOM_AT_MICRO_BATCH")) inject_oom_at_ = std::atoll(at);
}

void TrainingStep::micro_step(const Batch& batch, bool synchronise, int accumulate, torch::Tensor& loss_sum,
                              torch::Tensor& tokens) {
  const auto seed = config_.trainer.seed;
  const auto index = static_cast<std::uint64_t>(batch.global_index);
  seed_generators(mix_seed({seed, index, kGeneratorSalt}), p_.device);
  if (batch.empty()) {
    if (p_.reducer) placeholder_step(synchronise);  // alone, a rank can simply skip it
    return;
  }
  auto& model = p_.model;
  TORCH_CHECK_WITH(OutOfMemoryError, batch.global_index != inject_oom_at_,
                   "injected for a test (SORI_TEST_OOM_AT_MICRO_BATCH=", inject_oom_at_, ")");
  const auto audio = batch.audio.to(p_.device, /*non_blocking=*/true);
  const auto lengths = batch.audio_lengths.to(p_.device, true);
  const auto targets = batch.tokens.to(p_.device, true);
  const int hop = model->featurizer()->hop_length();
  std::vector<std::int64_t> frames;  // from the host copy of the lengths: no device sync
  const auto* host_lengths = batch.audio_lengths.data_ptr<std::int64_t>();
  double host_tokens = 0;
  for (std::int64_t i = 0; i < batch.audio_lengths.size(0); ++i) {
    frames.push_back(host_lengths[i] / hop);
    host_tokens += static_cast<double>(batch.token_lengths.data_ptr<std::int64_t>()[i]);
  }
  if (synchronise) p_.reducer->before_forward();
  torch::Tensor log_probs;
  {
    compat::AutocastGuard autocast(p_.device, p_.precision.autocast, p_.precision.dtype);
    auto [feats, feat_lengths] = model->features(audio, lengths);
    std::mt19937_64 rng(mix_seed({seed, index, kSpecAugmentSalt}));
    feats = spec_augment(feats, frames, config_.model.spec_augment, rng);
    log_probs = model->forward(feats, feat_lengths).first;
  }
  // CTC takes its lengths on the host (it reads them there): the batch's own and the encoder's
  // computed from them, rather than copies back from the device.
  const auto host_enc_lengths = subsampled_lengths(torch::tensor(frames, torch::kInt64), subsampling_stages_);
  const auto sum = ctc_loss_per_utterance(log_probs, host_enc_lengths, targets, batch.token_lengths, p_.blank).sum();
  const auto loss = global_tokens_ ? sum : sum / (host_tokens * accumulate);
  const auto scaled = p_.scaler->scale(loss);
  if (synchronise) {
    p_.reducer->backward(scaled);
  } else {
    scaled.backward();
  }
  loss_sum += sum.detach().to(torch::kFloat64);
  tokens += host_tokens;
}

// One second of silence through the same layers with its loss multiplied by zero: every
// collective of the forward (sync BatchNorm) and backward (gradient buckets) happens as on the
// other ranks, and every parameter receives a (zero) gradient.
void TrainingStep::placeholder_step(bool synchronise) {
  auto& model = p_.model;
  std::optional<dist::ExcludedFromBatchStatistics> excluded;
  std::vector<torch::Tensor> buffers, saved;
  if (config_.trainer.sync_batchnorm) {
    excluded.emplace();
  } else {  // local BatchNorm statistics must not learn from the silence
    buffers = model->buffers();
    for (const auto& b : buffers) saved.push_back(b.clone());
  }
  const auto samples = config_.model.sample_rate;
  const auto audio = torch::zeros({1, samples}, torch::TensorOptions().device(p_.device));
  const auto lengths = torch::full({1}, samples, torch::TensorOptions().dtype(torch::kInt64).device(p_.device));
  if (synchronise) p_.reducer->before_forward();
  torch::Tensor log_probs;
  {
    compat::AutocastGuard autocast(p_.device, p_.precision.autocast, p_.precision.dtype);
    auto [feats, feat_lengths] = model->features(audio, lengths);
    log_probs = model->forward(feats, feat_lengths).first;
  }
  const auto zero = log_probs.sum() * 0;
  if (synchronise) {
    p_.reducer->backward(zero);
  } else {
    zero.backward();
  }
  torch::NoGradGuard no_grad;
  for (std::size_t i = 0; i < saved.size(); ++i) buffers[i].copy_(saved[i]);
}

StepResult TrainingStep::run(const std::vector<Batch>& micro_batches, double lr, bool stop_requested,
                             bool preempt_requested) {
  SORI_CHECK(!micro_batches.empty(), "training step: no micro-batch");
  p_.optimizer->zero_grad();
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(p_.device);
  auto loss_sum = torch::zeros({}, f64), tokens = torch::zeros({}, f64);
  const int accumulate = static_cast<int>(micro_batches.size());
  for (int i = 0; i < accumulate; ++i) {
    const auto& batch = micro_batches[static_cast<std::size_t>(i)];
    try {
      micro_step(batch, p_.reducer && i == accumulate - 1, accumulate, loss_sum, tokens);
    } catch (const c10::OutOfMemoryError& e) {
      return out_of_memory(batch, e.what_without_backtrace(), stop_requested, preempt_requested);
    }
  }

  const auto& params = p_.optimizer->params();
  // Of the reducer-averaged gradients: the same on every rank, so found_inf is too; it rides in
  // the agreement only so that every decision comes from the one read below.
  const auto raw_norm = grad_norm(params);
  const auto found_inf = torch::logical_not(torch::isfinite(raw_norm)).to(torch::kFloat64);
  auto agreement = torch::stack({torch::full({}, stop_requested ? 1.0 : 0.0, f64),
                                 torch::full({}, preempt_requested ? 1.0 : 0.0, f64), found_inf, loss_sum, tokens});
  p_.group->all_reduce_sum(agreement);
  const auto host = agreement.to(torch::kCPU);  // the step's one host read
  const double* a = host.data_ptr<double>();
  StepResult r;
  r.preempted = a[kPreempt] > 0;
  r.stop = a[kStop] > 0 || r.preempted;
  r.loss_sum = a[kLossSum];
  r.tokens = a[kTokens];
  r.non_finite = a[kFoundInf] > 0;
  r.skipped = r.non_finite || r.tokens <= 0;
  r.grad_norm = raw_norm;
  if (!r.skipped) {
    const double normaliser = global_tokens_ ? p_.group->world_size() / r.tokens : 1.0;
    const auto factor = normaliser / p_.scaler->scale_value().to(torch::kFloat64);
    r.grad_norm = raw_norm * factor;
    const double max_norm = config_.trainer.gradient_clip_val;
    // clamp(max_norm / (norm + 1e-6), max=1), as torch.nn.utils.clip_grad_norm_
    const auto clip = max_norm > 0 ? torch::clamp_max(max_norm / (r.grad_norm + 1e-6), 1.0) : torch::ones_like(factor);
    scale_gradients(params, factor * clip);
    p_.optimizer->set_lr(lr);
    p_.optimizer->step();
  }
  p_.scaler->update(agreement[kFoundInf] > 0);
  return r;
}

StepResult TrainingStep::out_of_memory(const Batch& batch, const std::string& what, bool stop_requested,
                                       bool preempt_requested) {
  std::ostringstream shape;
  const double sr = config_.model.sample_rate;
  shape << "micro-batch " << batch.global_index << " of " << batch.audio.size(0) << " utterances, padded to "
        << batch.audio.size(1) / sr << " s (" << batch.valid_samples / sr << " s of audio)";
  if (p_.group->distributed())
    SORI_FAIL("rank ", p_.group->rank(), ": out of memory on ", shape.str(), ": ", what,
              ". The other ranks wait inside a collective, so the run ends here; `--resume auto` continues from the "
              "last periodic checkpoint. Lower model.train_ds.batch_duration or max_duration to make it fit.");
  spdlog::warn("out of memory on {}: {}. The step is dropped (all its micro-batches); lower "
               "model.train_ds.batch_duration or max_duration if it happens again",
               shape.str(), what);
  p_.optimizer->zero_grad();
  compat::release_cached_device_memory(p_.device);
  StepResult r;
  r.preempted = preempt_requested;
  r.stop = stop_requested || preempt_requested;
  r.skipped = r.out_of_memory = true;
  r.grad_norm = torch::zeros({}, torch::TensorOptions().device(p_.device));
  return r;
}

}  // namespace sori
