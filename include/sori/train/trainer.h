// Single-process CTC trainer: data -> features -> SpecAugment -> FastConformer -> CTC loss ->
// AdamW with NeMo's schedules, gradient accumulation and clipping, mixed precision on CUDA,
// validation with early stopping, checkpoints and exact resume. One small host read per step
// (the non-finite skip decision) plus one per logging interval.
#pragma once

#include <memory>
#include <string>

#include "sori/config/config.h"

namespace sori {

struct TrainOptions {
  std::string resume;  // "": fresh run; "auto": newest valid checkpoint in run_dir if any; else a path
  // Stop (with a `last` checkpoint) once this many steps are done, as if preempted: the schedule
  // still follows trainer.max_steps. 0: no such stop.
  std::int64_t stop_after_steps = 0;
  // A fresh run in a run_dir that holds checkpoints is refused (a later --resume auto would
  // continue the old run); with overwrite, the old checkpoints, metrics and logs are deleted.
  bool overwrite = false;
  // The live status line on rank 0: "auto" (when stdout is a terminal), "bar" or "lines" (log
  // lines only). See train/progress_display.h.
  std::string progress = "auto";
};

struct TrainSummary {
  std::int64_t steps = 0;
  std::int64_t skipped_steps = 0;
  double best_metric = 0.0;
  std::int64_t best_step = -1;
  bool early_stopped = false;
  // Stopped by SIGTERM, SIGUSR1 or SIGINT: the step finished, a checkpoint was written and
  // <run_dir>/preempted marks the run as one to requeue with --resume auto.
  bool preempted = false;
};

class Trainer {
 public:
  Trainer(Config config, TrainOptions options);
  ~Trainer();
  TrainSummary fit();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace sori
