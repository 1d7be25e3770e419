#include "sori/train/loop_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "sori/core/error.h"

namespace sori {
namespace {

std::string ranks(int n) { return std::to_string(n) + (n == 1 ? " rank" : " ranks"); }

}  // namespace

LoopSchedule::LoopSchedule(LoopScheduleOptions o) : o_(o) {
  SORI_CHECK(o_.micro_batches_per_epoch > 0, "training: expected at least one micro-batch per epoch, found ",
             o_.micro_batches_per_epoch);
  SORI_CHECK(o_.world_size > 0, "training: expected a world size >= 1, found ", o_.world_size);
  SORI_CHECK(o_.accumulate > 0, "trainer.accumulate_grad_batches: expected >= 1, found ", o_.accumulate);
  SORI_CHECK(o_.max_steps > 0 || o_.max_epochs > 0,
             "trainer.max_epochs: expected >= 1 when trainer.max_steps is not set, found ", o_.max_epochs);
  SORI_CHECK(o_.checkpoint_every_n_steps >= 0, "checkpoint.every_n_steps: expected >= 0 (0: never), found ",
             o_.checkpoint_every_n_steps);
  const auto& v = o_.val_check_interval;
  if (v.is_fraction) {
    SORI_CHECK(v.value > 0 && v.value <= 1, "trainer.val_check_interval: expected a fraction of an epoch in (0, 1], found ",
               v.value);
    val_every_ = std::max<std::int64_t>(1, std::llround(v.value * static_cast<double>(o_.micro_batches_per_epoch)));
  } else {
    SORI_CHECK(v.value >= 1 && v.value == std::floor(v.value),
               "trainer.val_check_interval: expected a whole number of steps >= 1, found ", v.value);
    val_every_ = static_cast<std::int64_t>(v.value);
  }
  per_step_ = static_cast<std::int64_t>(o_.world_size) * o_.accumulate;
  max_steps_ = o_.max_steps > 0 ? o_.max_steps
                                : std::max<std::int64_t>(1, o_.max_epochs * o_.micro_batches_per_epoch / per_step_);
}

double LoopSchedule::epoch_progress(std::int64_t step) const {
  return static_cast<double>(position(step)) / static_cast<double>(o_.micro_batches_per_epoch);
}

bool LoopSchedule::crossed(std::int64_t step, std::int64_t every) const {
  return step > 0 && position(step) / every > position(step - 1) / every;
}

bool LoopSchedule::epoch_ended(std::int64_t step) const { return crossed(step, o_.micro_batches_per_epoch); }

bool LoopSchedule::validate_after(std::int64_t step) const {
  if (o_.val_check_interval.is_fraction) return crossed(step, val_every_);
  return step > 0 && step % val_every_ == 0;
}

bool LoopSchedule::checkpoint_after(std::int64_t step) const {
  return o_.checkpoint_every_n_steps > 0 && step > 0 && step % o_.checkpoint_every_n_steps == 0;
}

void check_resume_shape(const DataParallelShape& checkpoint, const DataParallelShape& now) {
  for (const auto* s : {&checkpoint, &now})
    SORI_CHECK(s->world_size >= 1 && s->accumulate >= 1 && s->bucket_group >= 1,
               "cannot resume: expected world size, accumulate and bucket_group >= 1, found ", s->world_size, ", ",
               s->accumulate, " and ", s->bucket_group, s == &checkpoint ? " in the checkpoint" : " in this run");
  SORI_CHECK(checkpoint.bucket_group == now.bucket_group, "cannot resume: checkpoint: trainer.bucket_group = ",
             checkpoint.bucket_group, "; this run: ", now.bucket_group,
             ". It shapes the epoch's micro-batch sequence: resume with trainer.bucket_group = ", checkpoint.bucket_group);
  SORI_CHECK(checkpoint.micro_batches_per_epoch == now.micro_batches_per_epoch, "cannot resume: checkpoint: ",
             checkpoint.micro_batches_per_epoch, " micro-batches per epoch; this run: ", now.micro_batches_per_epoch,
             ". The training manifests or model.train_ds batching (batch_duration, batch_size, num_buckets) changed: "
             "resume with those of the checkpoint's run");
  const int group = now.bucket_group;
  const int per_step = checkpoint.world_size * checkpoint.accumulate;
  if (now.world_size * now.accumulate == per_step && group % now.world_size == 0) return;
  // Every world size that divides both the step and the group works; 1 always does.
  std::string ways;
  std::vector<int> sizes;
  for (int w = 1; w <= per_step; ++w)
    if (per_step % w == 0 && group % w == 0) sizes.push_back(w);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    ways += (i == 0 ? "" : i + 1 == sizes.size() ? " or " : ", ") + ranks(sizes[i]) + " with accumulate " +
            std::to_string(per_step / sizes[i]);
  const std::string indivisible = group % now.world_size == 0 ? "" : ", and world size " + std::to_string(now.world_size) +
                                  " does not divide trainer.bucket_group = " + std::to_string(group);
  SORI_FAIL("cannot resume: checkpoint: ", ranks(checkpoint.world_size), " x accumulate ", checkpoint.accumulate, " = ",
            per_step, " micro-batches per step; this run: ", ranks(now.world_size), " x ", now.accumulate, " = ",
            now.world_size * now.accumulate, indivisible, ". Resume with world_size x trainer.accumulate_grad_batches = ",
            per_step, " and a world_size dividing trainer.bucket_group = ", group, ", e.g. ", ways);
}

}  // namespace sori
