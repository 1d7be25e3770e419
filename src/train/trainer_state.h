// The trainer's state, shared by the files that implement it: trainer.cpp (set-up and the step
// loop), trainer_checkpoints.cpp (choosing, restoring and writing checkpoints) and
// trainer_validation.cpp (validation, its records and TensorBoard). Private to src/train.
#pragma once

#include "sori/train/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/host.h"
#include "sori/core/stop_signals.h"
#include "sori/core/torch_compat.h"
#include "sori/dist/gradient_reducer.h"
#include "sori/dist/launch_env.h"
#include "sori/dist/process_group.h"
#include "sori/dist/sync_batch_norm.h"
#include "sori/train/checkpoint.h"
#include "sori/train/checkpoint_writer.h"
#include "sori/train/evaluate.h"
#include "sori/train/event_file.h"
#include "sori/train/loop_schedule.h"
#include "sori/train/lr_schedule.h"
#include "sori/train/metrics_log.h"
#include "sori/train/progress_display.h"
#include "sori/train/run_directory.h"
#include "sori/train/run_setup.h"
#include "sori/train/training_data.h"
#include "sori/train/training_step.h"
#include "sori/train/validation_record.h"

namespace sori {

struct Trainer::State {
  // First, so destroyed last: the loader's and the rank monitor's threads may log until `data`
  // and `group` are gone, and the display hands spdlog its sinks back when it goes.
  std::unique_ptr<ProgressDisplay> display;  // rank 0
  Config config;
  TrainOptions options;
  dist::LaunchEnv env;
  torch::Device device = torch::kCPU;
  Precision precision;
  std::unique_ptr<dist::ProcessGroup> group;
  std::unique_ptr<RunDirectory> run_dir;  // rank 0, for the whole run
  std::unique_ptr<TrainingData> data;
  CtcModel model{nullptr};
  std::unique_ptr<Optimizer> optimizer;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<dist::GradientReducer> reducer;
  std::unique_ptr<TrainingStep> step;
  std::unique_ptr<LoopSchedule> loop;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<CheckpointManager> checkpoints;  // rank 0
  // Rank 0 with checkpoint.async_write. After `checkpoints`, so destroyed first: its destructor
  // waits for the write in flight, which uses them.
  std::unique_ptr<CheckpointWriter> writer;
  std::unique_ptr<MetricsLog> metrics;             // rank 0
  std::unique_ptr<MetricsLog> utterance_log;       // this rank's, with trainer.log_utterances
  std::unique_ptr<EventFileWriter> events;         // rank 0: TensorBoard; null after a write error
  TrainProgress progress;
  std::int64_t last_validated = -1;
  std::map<std::string, double> last_metrics;  // of the validation at last_validated
  bool stop = false;

  void setup();
  std::optional<Checkpoint> choose_checkpoint();
  void restore(const Checkpoint& ckpt);
  // scheduled = false: the end of a run cut short (max_time_s, a stop request), which an
  // uninterrupted run would not validate at.
  void validate(bool scheduled = true);
  // With checkpoint.async_write, rank 0 writes in the background from a copy, and the next save
  // waits for that write and agrees on its outcome first. `final`: the run ends after it
  // (preemption, --stop-after-steps, the end of fit), so it writes on this thread and its
  // checkpoint is complete when any rank returns. Both return false when this save's own write
  // failed (only under on_write_error: continue); a background write's failure is only known at
  // the next save, which logs it or stops the run.
  bool save_last(const std::map<std::string, double>& metrics = {}, bool final = false);
  bool save(const std::map<std::string, double>& metrics, bool ranked, bool final = false);
  // What is written: this step's state, with the gathered RNG states of every rank. `copy`: every
  // tensor is a copy of its own, for a background write while training goes on.
  Checkpoint checkpoint(const std::map<std::string, double>& metrics, std::vector<torch::Tensor> cpu_rng_states,
                        std::vector<torch::Tensor> cuda_rng_states, bool copy) const;
  // Every rank learns whether rank 0's write failed (`outcome` is rank 0's), so that all stop or
  // all go on together under checkpoint.on_write_error. kBeforeLastSave: a write that failed in
  // the background before the run's last checkpoint is only logged and kept in lost_write_step,
  // so that the last checkpoint is still written; check_no_write_lost() applies the policy once
  // it is (not after a preemption, whose marker asks for a requeue). Returns whether it was written.
  enum class WriteCheck { kDuringRun, kBeforeLastSave, kLastSave };
  bool agree(const CheckpointWriter::Outcome& outcome, WriteCheck when);
  void check_no_write_lost() const;
  std::int64_t lost_write_step = -1;
  void sync_buffers();
  void log_utterances(const std::vector<Batch>& micro_batches) const;
  // TensorBoard is for reading the run: a failed write is reported once and ends TensorBoard
  // logging, never the training. Does nothing without a writer (ranks other than 0).
  void tensorboard(const std::function<void(EventFileWriter&)>& write);
  DataParallelShape shape() const {
    return {group->world_size(), std::max(1, config.trainer.accumulate_grad_batches), config.trainer.bucket_group,
            data->sampler->batches_per_epoch()};
  }
};

}  // namespace sori
