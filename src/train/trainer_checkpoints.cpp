#include "trainer_state.h"

namespace sori {

std::optional<Checkpoint> Trainer::State::choose_checkpoint() {
  // Rank 0 chooses; every rank loads the file it chose (run_dir must be shared across nodes).
  std::string path;
  if (group->is_main() && !options.resume.empty()) {
    if (options.resume == "auto") {
      std::vector<std::string> problems;
      path = checkpoints->newest_valid_path(&problems);
      for (const auto& p : problems) spdlog::warn("skipping unusable checkpoint: {}", p);
      if (path.empty()) spdlog::info("resume auto: no usable checkpoint in {}, starting fresh", checkpoints->dir());
    } else {
      path = options.resume;
    }
  }
  path = group->exchange("resume", path)[0];
  if (path.empty()) return std::nullopt;
  try {
    return load_checkpoint(path);
  } catch (const Error& e) {
    SORI_FAIL("rank ", group->rank(), ": ", e.what(),
              group->distributed() ? " (rank 0 chose this file: is trainer.run_dir on a filesystem all nodes share?)" : "");
  }
}

void Trainer::State::restore(const Checkpoint& ckpt) {
  const auto now = shape();
  if (ckpt.shape.micro_batches_per_epoch > 0) {
    check_resume_shape(ckpt.shape, now);
    SORI_CHECK(ckpt.progress.position == loop->position(ckpt.progress.step), "checkpoint: position ",
               ckpt.progress.position, " does not match step ", ckpt.progress.step, " x ", now.world_size * now.accumulate,
               " micro-batches");
  } else {
    spdlog::warn("checkpoint from an older Sori or an import: the data order restarts at the global position of step {}",
                 ckpt.progress.step);
  }
  load_state_dict(*model, ckpt.model, "checkpoint " + ckpt.source);
  model->to(device, precision.param_dtype);
  optimizer->load(ckpt.optimizer, device, "checkpoint " + ckpt.source);
  scaler->load(ckpt.scaler_scale, ckpt.scaler_growth_tracker);
  const auto r = static_cast<std::size_t>(group->rank());
  if (ckpt.shape.world_size == group->world_size() && r < ckpt.cpu_rng_states.size())
    restore_rng_state(ckpt.cpu_rng_states[r], r < ckpt.cuda_rng_states.size() ? ckpt.cuda_rng_states[r] : torch::Tensor(),
                      device);
  progress = ckpt.progress;
  progress.position = loop->position(progress.step);
  data->loader->restore(progress.position);
  last_validated = ckpt.metrics.empty() ? -1 : progress.step;
  last_metrics = ckpt.metrics;
  spdlog::info("resumed at step {} (global micro-batch {}, epoch {:.2f})", progress.step, progress.position,
               loop->epoch_progress(progress.step));
}

// Without sync BatchNorm each rank's running statistics drift apart: validation and
// checkpoints use rank 0's, as DDP's buffer broadcast does.
void Trainer::State::sync_buffers() {
  if (group->distributed() && !config.trainer.sync_batchnorm) group->broadcast_from_main(model->buffers());
}

bool Trainer::State::save(const std::map<std::string, double>& m, bool ranked) {
  sync_buffers();
  const auto [cpu, cuda] = capture_rng_state(device);
  Checkpoint c;
  std::string failure;  // rank 0's write error
  for (const auto& state : group->all_gather(cpu.to(device))) c.cpu_rng_states.push_back(state.cpu());
  if (cuda.defined())
    for (const auto& state : group->all_gather(cuda.to(device))) c.cuda_rng_states.push_back(state.cpu());
  if (group->is_main()) {
    c.model = state_dict(*model);
    c.optimizer = optimizer->save();
    c.scaler_scale = scaler->scale_value();
    c.scaler_growth_tracker = scaler->growth_tracker();
    c.progress = progress;
    c.shape = shape();
    c.config_yaml = config_to_yaml(config);
    c.tokenizer_files = data->tokenizer_files;
    c.metrics = m;
    try {
      ranked ? checkpoints->save_ranked(c) : checkpoints->save_last(c);
    } catch (const std::exception& e) {  // sori::Error, and std::filesystem's from rename/remove
      failure = e.what();
    }
  }
  // Also the barrier: no rank runs ahead of a checkpoint that may yet fail to write, and every
  // rank learns whether it did, so all stop or all go on together.
  auto failed = torch::full({1}, failure.empty() ? 0.0 : 1.0, torch::TensorOptions().dtype(torch::kFloat64).device(device));
  group->all_reduce_sum(failed);
  if (failed.item<double>() == 0) return true;
  const std::string why = failure.empty() ? "rank 0 could not write it" : failure;
  SORI_CHECK(config.checkpoint.on_write_error == "continue", "checkpoint at step ", progress.step,
             " not written: ", why, ". The previous checkpoints are intact: free space and continue with "
             "--resume auto, or set checkpoint.on_write_error=continue to train on through such errors");
  if (group->is_main())
    spdlog::error("checkpoint at step {} NOT written: {}; the previous checkpoints are intact, training continues "
                  "(checkpoint.on_write_error: continue)", progress.step, why);
  return false;
}

// `last` carries the metrics of a validation at its step, so a resume from it knows that step
// was validated (and one preempted before its scheduled validation knows it was not).
bool Trainer::State::save_last(const std::map<std::string, double>& m) {
  // Event records on disk no later than the checkpoint: after a machine crash the resumed run
  // logs again from the checkpoint on, and TensorBoard must not have a gap before it.
  tensorboard([](EventFileWriter& w) { w.flush(); });
  return save(m.empty() && last_validated == progress.step ? last_metrics : m, false);
}

}  // namespace sori
