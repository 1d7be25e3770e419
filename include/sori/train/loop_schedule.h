// The training loop's arithmetic, apart from I/O so it can be unit-tested.
//
// Invariants:
// - An epoch is one global sequence of N micro-batches shared by W ranks; a step consumes
//   W·A of them (A = trainer.accumulate_grad_batches). After `step` steps the global position
//   is step·W·A: it is derived from the step, never stored beside it.
// - Epochs do not end steps: the tail of an epoch carries into the next, so a step may straddle
//   two epochs, and the epoch ends during the step whose micro-batches include its last one.
// - Events fire after the step during which their position was crossed: epoch_ended and a
//   fractional validate_after fire exactly once per crossing, so val_check_interval 1.0
//   validates once per epoch end. A fraction's interval I = max(1, llround(f·N)) counts
//   micro-batches globally, across epoch boundaries.
// - Steps are 1-based here: step s is the s-th optimizer step (position(0) = 0 is the start).
#pragma once

#include <cstdint>

#include "sori/config/config.h"

namespace sori {

struct LoopScheduleOptions {
  std::int64_t micro_batches_per_epoch = 1;  // N
  int world_size = 1;                        // W
  int accumulate = 1;                        // A
  std::int64_t max_steps = -1;               // trainer.max_steps; <= 0: from max_epochs
  int max_epochs = 1;
  FractionOrCount val_check_interval = FractionOrCount::fraction(1.0);  // float: fraction of an epoch; int: steps
  int checkpoint_every_n_steps = 0;  // 0: none
};

class LoopSchedule {
 public:
  explicit LoopSchedule(LoopScheduleOptions o);

  std::int64_t micro_batches_per_step() const { return per_step_; }
  // trainer.max_steps if > 0, else the whole steps in max_epochs epochs (at least 1).
  std::int64_t max_steps() const { return max_steps_; }
  std::int64_t position(std::int64_t step) const { return step * per_step_; }
  std::int64_t epoch_of_position(std::int64_t position) const { return position / o_.micro_batches_per_epoch; }
  double epoch_progress(std::int64_t step) const;
  bool epoch_ended(std::int64_t step) const;
  bool validate_after(std::int64_t step) const;
  bool checkpoint_after(std::int64_t step) const;

 private:
  // Whether step `step` moved the position across a multiple of `every` micro-batches.
  bool crossed(std::int64_t step, std::int64_t every) const;

  LoopScheduleOptions o_;
  std::int64_t per_step_;
  std::int64_t max_steps_;
  std::int64_t val_every_;  // steps (count) or micro-batches (fraction)
};

// What a checkpoint's data-parallel layout must share with the run that resumes it: G and N fix
// the epoch's micro-batch sequence, and W·A fixes what a step (and so the position) means.
// W may change as long as it divides G, so that the ranks of a micro-step still share a bucket.
struct DataParallelShape {
  int world_size = 1;
  int accumulate = 1;
  int bucket_group = 1;
  std::int64_t micro_batches_per_epoch = 0;
};

// Throws a sori::Error naming what the checkpoint had, what this run has and what would work.
void check_resume_shape(const DataParallelShape& checkpoint, const DataParallelShape& now);

}  // namespace sori
