#include "sori/train/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "sori/core/error.h"

namespace sori {

LrSchedule::LrSchedule(const OptimConfig& optim, std::int64_t max_steps, int d_model)
    : name_(optim.sched.name), lr_(optim.lr), min_lr_(optim.sched.min_lr), max_steps_(max_steps), d_model_(d_model) {
  SORI_CHECK(name_ == "CosineAnnealing" || name_ == "NoamAnnealing" || name_ == "none",
             "model.optim.sched.name: expected CosineAnnealing, NoamAnnealing or none, found '", name_, "'");
  warmup_ = optim.sched.warmup_steps > 0 ? optim.sched.warmup_steps
                                         : static_cast<std::int64_t>(optim.sched.warmup_ratio * max_steps);
  SORI_CHECK(name_ != "CosineAnnealing" || max_steps > 0, "CosineAnnealing needs a known max_steps, found ", max_steps);
}

double LrSchedule::at(std::int64_t s) const {
  if (name_ == "none") return lr_;
  if (name_ == "NoamAnnealing") {
    const double step = static_cast<double>(std::max<std::int64_t>(1, s));
    const double w = static_cast<double>(std::max<std::int64_t>(1, warmup_));
    const double lr = lr_ * std::pow(d_model_, -0.5) * std::min(std::pow(step, -0.5), step * std::pow(w, -1.5));
    return step > static_cast<double>(warmup_) ? std::max(lr, min_lr_) : lr;
  }
  if (warmup_ > 0 && s <= warmup_) return lr_ * static_cast<double>(s + 1) / static_cast<double>(warmup_ + 1);
  if (s > max_steps_) return min_lr_;
  const double decay_steps = static_cast<double>(std::max<std::int64_t>(1, max_steps_ - warmup_));
  const double progress = static_cast<double>(s - warmup_) / decay_steps;
  return min_lr_ + 0.5 * (lr_ - min_lr_) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace sori
