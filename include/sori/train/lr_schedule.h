// Learning-rate schedules with NeMo's formulas (nemo/core/optim/lr_scheduler.py); s is the
// optimizer step (0-based, the number of steps already taken).
//   CosineAnnealing: lr * (s + 1) / (W + 1) while s <= W (W = warmup steps); then cosine from lr
//                    to min_lr over max_steps - W; min_lr after max_steps.
//   NoamAnnealing:   lr * d_model^-0.5 * min(s^-0.5, s * W^-1.5), s = max(1, s); lr is a
//                    multiplier (NeMo's configs use 2.0); after warm-up never below min_lr.
//   none:            constant lr.
#pragma once

#include <cstdint>

#include "sori/config/config.h"

namespace sori {

class LrSchedule {
 public:
  LrSchedule(const OptimConfig& optim, std::int64_t max_steps, int d_model);
  double at(std::int64_t step) const;
  std::int64_t warmup_steps() const { return warmup_; }

 private:
  std::string name_;
  double lr_, min_lr_;
  std::int64_t warmup_, max_steps_;
  int d_model_;
};

}  // namespace sori
