#include "trainer_state.h"

namespace sori {

std::optional<Checkpoint> Trainer::State::choose_checkpoint() {
  // Rank 0 chooses; the other ranks load the file it chose (run_dir must be shared across nodes).
  // Under resume auto rank 0 keeps the checkpoint it loaded to check it.
  std::optional<Checkpoint> chosen;
  std::string path;
  if (group->is_main() && !options.resume.empty()) {
    if (options.resume == "auto") {
      std::vector<std::string> problems;
      chosen = checkpoints->load_newest_valid(&problems);
      for (const auto& p : problems) spdlog::warn("skipping unusable checkpoint: {}", p);
      if (chosen) path = chosen->source;
      else spdlog::info("resume auto: no usable checkpoint in {}, starting fresh", checkpoints->dir());
    } else {
      path = options.resume;
    }
  }
  path = group->exchange("resume", path)[0];
  if (path.empty()) return std::nullopt;
  if (chosen) return chosen;
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

namespace {

// A copy of its own on the host (a CPU tensor's .to(kCPU) is the tensor itself).
torch::Tensor host_copy(const torch::Tensor& t) {
  return t.detach().to(torch::TensorOptions().device(torch::kCPU), /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace

Checkpoint Trainer::State::checkpoint(const std::map<std::string, double>& m, std::vector<torch::Tensor> cpu_rng_states,
                                      std::vector<torch::Tensor> cuda_rng_states, bool copy) const {
  const auto own = [copy](const torch::Tensor& t) { return copy ? host_copy(t) : t; };
  Checkpoint c;
  c.model = state_dict(*model);
  for (auto& [name, tensor] : c.model) tensor = own(tensor);
  c.optimizer = optimizer->save();  // bytes: a copy already
  c.scaler_scale = own(scaler->scale_value());
  c.scaler_growth_tracker = own(scaler->growth_tracker());
  c.progress = progress;
  c.shape = shape();
  for (const auto& state : cpu_rng_states) c.cpu_rng_states.push_back(own(state));
  for (const auto& state : cuda_rng_states) c.cuda_rng_states.push_back(own(state));
  c.config_yaml = config_to_yaml(config);
  c.tokenizer_files = data->tokenizer_files;
  c.metrics = m;
  return c;
}

bool Trainer::State::save(const std::map<std::string, double>& m, bool ranked, bool final) {
  sync_buffers();
  const auto [cpu, cuda] = capture_rng_state(device);
  std::vector<torch::Tensor> cpu_states, cuda_states;
  for (const auto& state : group->all_gather(cpu.to(device))) cpu_states.push_back(state.cpu());
  if (cuda.defined())
    for (const auto& state : group->all_gather(cuda.to(device))) cuda_states.push_back(state.cpu());
  const bool async = config.checkpoint.async_write, background = async && !final;
  // The write in flight first: this save waits for it (one at a time, none skipped), and its
  // failure counts now, before another write is attempted. Before a final checkpoint (the run
  // ends after it: preemption, --stop-after-steps, the end) a failure is reported and the final
  // checkpoint still attempted, so that the run leaves one to resume from (see
  // check_no_write_lost).
  if (async)
    agree(writer ? writer->wait() : CheckpointWriter::Outcome{}, final ? WriteCheck::kBeforeLastSave : WriteCheck::kDuringRun);
  // Rank 0's outcome: of taking the snapshot and starting its write (background), or of the
  // whole write. Every rank agrees on it, so that a failure there (no host memory for the copy,
  // no thread) cannot leave the other ranks running on into collectives rank 0 never joins.
  CheckpointWriter::Outcome outcome;
  if (group->is_main()) {
    outcome = CheckpointWriter::run(progress.step, [&] {
      auto c = checkpoint(m, std::move(cpu_states), std::move(cuda_states), /*copy=*/background);
      if (!background) return ranked ? checkpoints->save_ranked(c) : checkpoints->save_last(c);
      auto* manager = checkpoints.get();
      writer->start(progress.step, [manager, ranked, c = std::move(c)] {
        ranked ? manager->save_ranked(c) : manager->save_last(c);
      });
    });
  }
  return agree(outcome, final ? WriteCheck::kLastSave : WriteCheck::kDuringRun);
}

bool Trainer::State::agree(const CheckpointWriter::Outcome& outcome, WriteCheck when) {
  // Also the barrier: no rank runs ahead of a write whose outcome is not known yet (a background
  // one's is known at the next save). The step rides along: under checkpoint.async_write it is an
  // earlier save's, which only rank 0 knows.
  auto failed = torch::tensor({outcome.failed() ? 1.0 : 0.0, outcome.failed() ? static_cast<double>(outcome.step) : 0.0},
                              torch::TensorOptions().dtype(torch::kFloat64).device(device));
  group->all_reduce_sum(failed);
  failed = failed.cpu();
  if (failed[0].item<double>() == 0) return true;
  const auto step = static_cast<std::int64_t>(failed[1].item<double>());
  const std::string why = outcome.failed() ? outcome.error : "rank 0 could not write it";
  SORI_CHECK(when == WriteCheck::kBeforeLastSave || config.checkpoint.on_write_error == "continue", "checkpoint at step ",
             step, " not written: ", why, ". The previous checkpoints are intact: free space and continue with "
             "--resume auto, or set checkpoint.on_write_error=continue to train on through such errors");
  if (when == WriteCheck::kBeforeLastSave) lost_write_step = step;
  if (group->is_main())
    spdlog::error("checkpoint at step {} NOT written: {}; the previous checkpoints are intact, {}", step, why,
                  when == WriteCheck::kBeforeLastSave ? "the run's last checkpoint is written next"
                  : when == WriteCheck::kLastSave     ? "the run ends without it (checkpoint.on_write_error: continue)"
                                                      : "training continues (checkpoint.on_write_error: continue)");
  return false;
}

void Trainer::State::check_no_write_lost() const {
  SORI_CHECK(lost_write_step < 0 || config.checkpoint.on_write_error == "continue", "checkpoint at step ",
             lost_write_step, " was not written (see above), though the run's last checkpoint was: "
             "checkpoint.on_write_error: stop ends the run with an error");
}

// `last` carries the metrics of a validation at its step, so a resume from it knows that step
// was validated (and one preempted before its scheduled validation knows it was not).
bool Trainer::State::save_last(const std::map<std::string, double>& m, bool final) {
  // Event records on disk no later than the checkpoint: after a machine crash the resumed run
  // logs again from the checkpoint on, and TensorBoard must not have a gap before it.
  tensorboard([](EventFileWriter& w) { w.flush(); });
  return save(m.empty() && last_validated == progress.step ? last_metrics : m, /*ranked=*/false, final);
}

}  // namespace sori
