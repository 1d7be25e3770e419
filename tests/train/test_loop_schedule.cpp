#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "sori/core/error.h"
#include "sori/train/loop_schedule.h"
#include "test_util.h"

using namespace sori;

namespace {
LoopScheduleOptions options(std::int64_t n, int world, int accumulate) {
  LoopScheduleOptions o;
  o.micro_batches_per_epoch = n;
  o.world_size = world;
  o.accumulate = accumulate;
  o.max_epochs = 5;
  return o;
}

// The steps in [1, last] after which `event` fires.
std::vector<std::int64_t> steps_where(std::int64_t last, const std::function<bool(std::int64_t)>& event) {
  std::vector<std::int64_t> out;
  for (std::int64_t s = 1; s <= last; ++s)
    if (event(s)) out.push_back(s);
  return out;
}


void expect_contains(const std::string& text, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(text.find(p), std::string::npos) << p << " not in: " << text;
}
}  // namespace

TEST(LoopSchedule, PositionIsStepTimesMicroBatchesPerStep) {
  LoopSchedule s(options(10, 2, 2));
  EXPECT_EQ(s.micro_batches_per_step(), 4);
  EXPECT_EQ(s.position(0), 0);
  EXPECT_EQ(s.position(3), 12);
  EXPECT_EQ(s.epoch_of_position(9), 0);
  EXPECT_EQ(s.epoch_of_position(10), 1);
  EXPECT_EQ(s.epoch_of_position(s.position(3)), 1);
  EXPECT_DOUBLE_EQ(s.epoch_progress(3), 1.2);  // step 3 straddled the end of epoch 0
}

TEST(LoopSchedule, MaxStepsFromEpochsOrGiven) {
  EXPECT_EQ(LoopSchedule(options(10, 2, 2)).max_steps(), 12);  // floor(5 epochs * 10 / 4)
  EXPECT_EQ(LoopSchedule(options(12, 2, 3)).max_steps(), 10);
  auto o = options(3, 4, 1);
  o.max_epochs = 1;
  EXPECT_EQ(LoopSchedule(o).max_steps(), 1);  // an epoch shorter than a step still trains
  o.max_steps = 7;
  EXPECT_EQ(LoopSchedule(o).max_steps(), 7);
}

// The old trainer validated twice around each epoch end with val_check_interval 1.0: at
// step % round(steps_per_epoch) == 0 and again when the loader reported the epoch's end.
TEST(LoopSchedule, FullEpochIntervalValidatesOncePerEpochEnd) {
  struct Case {
    std::int64_t n;
    int world, accumulate;
    std::vector<std::int64_t> epoch_end_steps;  // first 5 epochs
  };
  for (const Case& c : {Case{10, 2, 2, {3, 5, 8, 10, 13}},   // 10 % 4 != 0: steps straddle epochs
                        Case{10, 3, 1, {4, 7, 10, 14, 17}},  // 10 % 3 != 0
                        Case{12, 2, 3, {2, 4, 6, 8, 10}},    // divisible
                        Case{8, 1, 1, {8, 16, 24, 32, 40}}}) {
    LoopSchedule s(options(c.n, c.world, c.accumulate));
    const std::int64_t last = c.epoch_end_steps.back();
    const auto validations = steps_where(last, [&](std::int64_t t) { return s.validate_after(t); });
    EXPECT_EQ(validations, c.epoch_end_steps) << "N " << c.n << " W " << c.world << " A " << c.accumulate;
    EXPECT_EQ(steps_where(last, [&](std::int64_t t) { return s.epoch_ended(t); }), c.epoch_end_steps);
    for (std::int64_t t : validations)  // the step during which the epoch ended
      EXPECT_EQ(s.epoch_of_position(s.position(t)), s.epoch_of_position(s.position(t - 1)) + 1) << "step " << t;
  }
}

TEST(LoopSchedule, FractionalIntervalsCountMicroBatches) {
  auto o = options(20, 1, 1);
  o.val_check_interval = FractionOrCount::fraction(0.5);
  EXPECT_EQ(steps_where(40, [s = LoopSchedule(o)](std::int64_t t) { return s.validate_after(t); }),
            (std::vector<std::int64_t>{10, 20, 30, 40}));
  o.val_check_interval = FractionOrCount::fraction(0.25);
  EXPECT_EQ(steps_where(20, [s = LoopSchedule(o)](std::int64_t t) { return s.validate_after(t); }),
            (std::vector<std::int64_t>{5, 10, 15, 20}));
  // Half of 10 micro-batches at 4 per step: positions 4, 8, 12, ... cross 5, 10, 15, 20 once each.
  o = options(10, 2, 2);
  o.val_check_interval = FractionOrCount::fraction(0.5);
  EXPECT_EQ(steps_where(5, [s = LoopSchedule(o)](std::int64_t t) { return s.validate_after(t); }),
            (std::vector<std::int64_t>{2, 3, 4, 5}));
  // llround(0.25 * 10) = 3 micro-batches, counted across epoch boundaries.
  o = options(10, 1, 1);
  o.val_check_interval = FractionOrCount::fraction(0.25);
  EXPECT_EQ(steps_where(12, [s = LoopSchedule(o)](std::int64_t t) { return s.validate_after(t); }),
            (std::vector<std::int64_t>{3, 6, 9, 12}));
}

TEST(LoopSchedule, IntegerIntervalCountsSteps) {
  auto o = options(10, 2, 2);
  o.val_check_interval = FractionOrCount::count(4);
  LoopSchedule s(o);
  EXPECT_EQ(steps_where(13, [&](std::int64_t t) { return s.validate_after(t); }),
            (std::vector<std::int64_t>{4, 8, 12}));
  EXPECT_FALSE(s.validate_after(0));
}

TEST(LoopSchedule, CheckpointEveryNSteps) {
  auto o = options(10, 1, 1);
  o.checkpoint_every_n_steps = 3;
  LoopSchedule s(o);
  EXPECT_EQ(steps_where(10, [&](std::int64_t t) { return s.checkpoint_after(t); }),
            (std::vector<std::int64_t>{3, 6, 9}));
  EXPECT_FALSE(s.checkpoint_after(0));
  o.checkpoint_every_n_steps = 0;
  EXPECT_TRUE(steps_where(10, [s = LoopSchedule(o)](std::int64_t t) { return s.checkpoint_after(t); }).empty());
}

TEST(LoopSchedule, RejectsBadOptionsNamingTheKey) {
  auto with = [](const std::function<void(LoopScheduleOptions&)>& change) {
    auto o = options(10, 1, 1);
    change(o);
    return test::error_text([&] { LoopSchedule{o}; });
  };
  expect_contains(with([](auto& o) { o.micro_batches_per_epoch = 0; }), {"micro-batch", "found 0"});
  expect_contains(with([](auto& o) { o.world_size = 0; }), {"world size", "found 0"});
  expect_contains(with([](auto& o) { o.accumulate = 0; }), {"trainer.accumulate_grad_batches", "found 0"});
  expect_contains(with([](auto& o) { o.max_epochs = 0; }), {"trainer.max_epochs", "trainer.max_steps"});
  expect_contains(with([](auto& o) { o.checkpoint_every_n_steps = -1; }), {"checkpoint.every_n_steps", "-1"});
  expect_contains(with([](auto& o) { o.val_check_interval = FractionOrCount::fraction(0); }),
                  {"trainer.val_check_interval", "(0, 1]"});
  expect_contains(with([](auto& o) { o.val_check_interval = FractionOrCount::fraction(1.5); }),
                  {"trainer.val_check_interval", "1.5"});
  expect_contains(with([](auto& o) { o.val_check_interval = FractionOrCount::count(0); }),
                  {"trainer.val_check_interval", "whole number"});
  expect_contains(with([](auto& o) { o.val_check_interval = FractionOrCount::count(2.5); }),
                  {"trainer.val_check_interval", "2.5"});
  auto o = options(10, 1, 1);
  o.max_epochs = 0;
  o.max_steps = 100;
  EXPECT_EQ(LoopSchedule(o).max_steps(), 100);  // max_epochs is unused then
}

TEST(ResumeShape, SameStepOnADividingWorldSizeIsAccepted) {
  const DataParallelShape two_by_one{2, 1, 8, 120};
  EXPECT_NO_THROW(check_resume_shape(two_by_one, two_by_one));
  EXPECT_NO_THROW(check_resume_shape(two_by_one, DataParallelShape{1, 2, 8, 120}));
  EXPECT_NO_THROW(check_resume_shape(DataParallelShape{1, 8, 8, 120}, DataParallelShape{8, 1, 8, 120}));
}

TEST(ResumeShape, RefusalsSayWhatWouldWork) {
  expect_contains(test::error_text([] { check_resume_shape({2, 1, 8, 120}, {3, 1, 8, 120}); }),
                  {"checkpoint: 2 ranks x accumulate 1 = 2 micro-batches per step", "this run: 3 ranks x 1 = 3",
                   "world_size x trainer.accumulate_grad_batches = 2",
                   "e.g. 1 rank with accumulate 2 or 2 ranks with accumulate 1"});
  // Same micro-batches per step, but 3 ranks would split groups of 8.
  expect_contains(test::error_text([] { check_resume_shape({2, 3, 8, 120}, {3, 2, 8, 120}); }),
                  {"= 6", "world size 3 does not divide trainer.bucket_group = 8",
                   "1 rank with accumulate 6 or 2 ranks with accumulate 3"});
  expect_contains(test::error_text([] { check_resume_shape({2, 1, 8, 120}, {2, 1, 4, 120}); }),
                  {"checkpoint: trainer.bucket_group = 8", "this run: 4"});
  expect_contains(test::error_text([] { check_resume_shape({2, 1, 8, 120}, {2, 1, 8, 118}); }),
                  {"checkpoint: 120 micro-batches per epoch", "this run: 118"});
  expect_contains(test::error_text([] { check_resume_shape({0, 1, 8, 120}, {2, 1, 8, 120}); }), {"in the checkpoint"});
}
