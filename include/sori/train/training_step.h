// One optimizer step of CTC training: the unit the trainer's loop and bench/ both run.
//
// Per micro-batch (A of them on each of W ranks): generators reseeded from (seed, global index),
// audio to the device, log-mel features, SpecAugment drawn from (seed, global index), forward
// under autocast, CTC loss, backward; the last micro-batch's backward all-reduces the gradients
// through the gradient reducer, overlapped with backward. Then the per-step agreement: ONE
// all-reduce of [stop requests, preemption requests, found-inf, loss sum, target tokens], read once on the host (the
// step's only host read); gradients are unscaled, normalised (global_tokens: × W / tokens, since
// the reducer already averaged over W ranks) and clipped in one pass, and AdamW steps unless
// some gradient was not finite or no rank had a target token.
//
// Out of memory in a micro-batch (c10::OutOfMemoryError): a single process logs the batch's
// shape and audio, zeroes the gradients, drops the whole step and reports it (out_of_memory,
// skipped); BatchNorm's running statistics keep what earlier micro-batches of the step added. Under data-parallel training the other ranks already wait inside a collective, so
// the rank throws sori::Error saying so: the run ends and `--resume auto` continues from the
// last periodic checkpoint.
#pragma once

#include <cstdint>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/collate.h"
#include "sori/dist/gradient_reducer.h"
#include "sori/dist/process_group.h"
#include "sori/model/ctc_model.h"
#include "sori/train/grad_scaler.h"
#include "sori/train/optimizer.h"
#include "sori/train/precision.h"

namespace sori {

struct TrainingStepParts {
  CtcModel model{nullptr};
  Optimizer* optimizer = nullptr;
  GradScaler* scaler = nullptr;
  dist::ProcessGroup* group = nullptr;
  dist::GradientReducer* reducer = nullptr;  // null for a single process
  torch::Device device = torch::kCPU;
  Precision precision;
  int blank = 0;
};

struct StepResult {
  bool stop = false;           // some rank asked to stop
  bool preempted = false;      // some rank received a stop signal (SIGTERM, SIGUSR1, SIGINT)
  bool skipped = false;        // no update: non-finite gradients, or no target token anywhere
  bool non_finite = false;     // some gradient was not finite (inf or NaN) on the reduced gradients
  bool out_of_memory = false;  // a micro-batch ran out of device memory: the whole step was dropped
  double loss_sum = 0.0;       // CTC loss summed over the step's utterances, all ranks
  double tokens = 0.0;         // their target tokens
  torch::Tensor grad_norm;     // 0-dim device tensor, before clipping (logged, never read per step)
};

class TrainingStep {
 public:
  TrainingStep(const Config& config, TrainingStepParts parts);
  // `micro_batches`: this rank's A micro-batches of the step, in order. `stop_requested`: this
  // rank wants the run to end after this step (time limit); `preempt_requested`: because of a
  // signal, so it ends with a checkpoint and no validation.
  StepResult run(const std::vector<Batch>& micro_batches, double lr, bool stop_requested,
                 bool preempt_requested = false);

 private:
  // Forward and backward of one micro-batch; adds its loss sum and token count.
  void micro_step(const Batch& batch, bool synchronise, int accumulate, torch::Tensor& loss_sum, torch::Tensor& tokens);
  StepResult out_of_memory(const Batch& batch, const std::string& what, bool stop_requested, bool preempt_requested);
  // The stand-in for a micro-batch whose utterances all failed: same collectives, no data.
  void placeholder_step(bool synchronise);

  const Config& config_;
  TrainingStepParts p_;
  bool global_tokens_;
  int subsampling_stages_;
  std::int64_t inject_oom_at_ = -1;  // test only: SORI_TEST_OOM_AT_MICRO_BATCH (a global micro-batch index)
};

}  // namespace sori
