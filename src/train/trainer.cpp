#include "trainer_state.h"

namespace sori {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Trainer::Trainer(Config config, TrainOptions options) : s_(std::make_unique<State>()) {
  s_->config = std::move(config);
  s_->options = std::move(options);
  s_->setup();
}

Trainer::~Trainer() = default;

void Trainer::State::setup() {
  const auto& c = config;
  env = dist::read_launch_env();
  // Before any thread that logs starts (the display takes over spdlog's sinks).
  // Under a launcher all ranks may share one terminal, and the other ranks' warnings would land
  // on rank 0's status line: "auto" means log lines there.
  if (env.rank == 0) {
    auto mode = parse_progress_mode(options.progress);
    if (mode == ProgressMode::Auto && env.world_size > 1) mode = ProgressMode::Lines;
    display = std::make_unique<ProgressDisplay>(mode);
  }
  device = training_device(c.trainer.device, env);
  precision = resolve_precision(c.trainer.precision, device);
  configure_threads(c.trainer.num_threads, device);
  torch::manual_seed(c.trainer.seed);
  dist::ProcessGroupOptions po;
  po.timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.trainer.dist_timeout_s * 1000));
  po.startup_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.trainer.dist_startup_timeout_s * 1000));
  group = env.distributed() ? std::make_unique<dist::ProcessGroup>(env, device, po) : std::make_unique<dist::ProcessGroup>();
  if (!group->is_main()) spdlog::set_level(spdlog::level::warn);  // rank 0 reports progress
  DurationBucketSampler::check_world_size(c.trainer.bucket_group, group->world_size());
  SORI_CHECK(c.checkpoint.on_write_error == "stop" || c.checkpoint.on_write_error == "continue",
             "checkpoint.on_write_error: expected stop or continue, found '", c.checkpoint.on_write_error, "'");
  const std::string yaml = config_to_yaml(c);
  if (group->distributed()) check_same_config(*group, yaml);
  if (group->is_main()) {
    run_dir = std::make_unique<RunDirectory>(c.trainer.run_dir, options.resume.empty(), options.overwrite);
    spdlog::info("resolved config:\n{}", yaml);
    write_file_atomic((fs::path(c.trainer.run_dir) / "config.yaml").string(), yaml);
    checkpoints = std::make_unique<CheckpointManager>(c.trainer.run_dir, c.checkpoint.save_top_k, c.checkpoint.monitor,
                                                      c.checkpoint.mode);
    if (c.checkpoint.async_write) writer = std::make_unique<CheckpointWriter>();
    metrics = std::make_unique<MetricsLog>(run_metrics_path(c.trainer.run_dir));
  }
  const auto hosts = group->exchange("host", host_name());
  if (run_dir) {
    auto info = describe_run_environment(device, group->world_size());
    info["hosts"] = hosts;  // by rank
    run_dir->write_run_info(info);
  }
  const auto resume_from = choose_checkpoint();
  data = std::make_unique<TrainingData>(c, *group, device, resume_from ? &resume_from->tokenizer_files : nullptr);

  model = CtcModel(c.model, data->tokenizer->vocab_size());
  model->to(device, precision.param_dtype);
  optimizer = std::make_unique<Optimizer>(c.model.optim, model->parameters());
  scaler = std::make_unique<GradScaler>(GradScaler::Options{precision.loss_scaling}, device);
  LoopScheduleOptions lo;
  lo.micro_batches_per_epoch = data->sampler->batches_per_epoch();
  lo.world_size = group->world_size();
  lo.accumulate = std::max(1, c.trainer.accumulate_grad_batches);
  lo.max_steps = c.trainer.max_steps;
  lo.max_epochs = c.trainer.max_epochs;
  lo.val_check_interval = c.trainer.val_check_interval;
  lo.checkpoint_every_n_steps = c.checkpoint.every_n_steps;
  loop = std::make_unique<LoopSchedule>(lo);
  schedule = std::make_unique<LrSchedule>(c.model.optim, loop->max_steps(), c.model.encoder.d_model);
  if (c.trainer.log_utterances)
    utterance_log = std::make_unique<MetricsLog>(run_utterance_log_path(c.trainer.run_dir, group->rank()));
  if (resume_from) restore(*resume_from);
  // Before the first collective below, so no other rank has appended yet.
  if (run_dir) run_dir->truncate_logs(resume_from ? progress.step : -1);
  if (run_dir) {
    try {
      events = std::make_unique<EventFileWriter>(run_dir->path());
    } catch (const std::exception& e) {
      spdlog::error("no TensorBoard logging ({}); training goes on, metrics.jsonl has every figure", e.what());
    }
    tensorboard([&](EventFileWriter& w) { w.session_start(progress.step + 1); });
  }
  if (group->distributed()) {
    // Every rank starts from rank 0's weights and buffers, as DDP does.
    auto tensors = model->parameters();
    for (const auto& b : model->buffers()) tensors.push_back(b);
    group->broadcast_from_main(tensors);
    if (c.trainer.sync_batchnorm) dist::install_sync_batch_norm(*model, *group);
    reducer = std::make_unique<dist::GradientReducer>(*group, model->parameters(),
                                                      dist::GradientReducerOptions{c.trainer.ddp_bucket_mb, c.trainer.ddp_overlap});
  }
  step = std::make_unique<TrainingStep>(
      c, TrainingStepParts{model, optimizer.get(), scaler.get(), group.get(), reducer.get(), device, precision,
                           data->tokenizer->blank_id()});
  spdlog::info("model: {} parameters on {}; {} micro-batches per epoch, {} ranks x accumulate {}: {} steps (max)",
               count_parameters(*model), device.str(), data->sampler->batches_per_epoch(), group->world_size(),
               lo.accumulate, loop->max_steps());
}

void Trainer::State::log_utterances(const std::vector<Batch>& micro_batches) const {
  for (const auto& b : micro_batches) {
    std::vector<std::string> where;
    for (const auto i : b.indices) where.push_back(data->train_set.entries[i].where());
    utterance_log->append({{"step", progress.step}, {"batch", b.global_index}, {"epoch", b.epoch}, {"utterances", where}});
  }
}

TrainSummary Trainer::fit() {
  auto& s = *s_;
  const auto& tc = s.config.trainer;
  const int accumulate = std::max(1, tc.accumulate_grad_batches);
  const auto start = Clock::now();
  auto window_start = start;
  auto norm_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
  // Time blocked in the loader: the share of step time the training thread waits for data.
  double window_loss = 0, window_tokens = 0, window_audio = 0, window_wait = 0, total_wait = 0;
  double run_audio = 0, shown_loss = -1;  // for the status line: this process's audio; smoothed loss
  std::int64_t window_steps = 0, window_updates = 0;
  const std::int64_t start_step = s.progress.step;
  const auto max_steps = s.loop->max_steps();
  s.model->train();
  // A resume from a checkpoint whose step had a validation due that never ran (preempted just
  // before it) runs it first, as the uninterrupted run did.
  if (s.progress.step > 0 && s.loop->validate_after(s.progress.step)) s.validate();
  bool stop_requested = false, preempt_requested = false;
  int consecutive_non_finite = 0, consecutive_out_of_memory = 0;
  const StopSignals signals;
  // Declared after `signals`, so destroyed before them: when an exception ends the run, the
  // write in flight completes while a SIGTERM still only asks to stop (~State would wait too,
  // but with the default handlers back, and a signal then would cut the write short).
  struct FinishWriteOnExit {
    CheckpointWriter* writer;
    ~FinishWriteOnExit() {
      if (writer) writer->finish();
    }
  } const finish_write{s.writer.get()};
  while (!s.stop && s.progress.step < max_steps) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (tc.max_time_s > 0 && elapsed >= tc.max_time_s && !stop_requested) {
      spdlog::info("trainer.max_time_s reached after {:.0f} s", elapsed);
      stop_requested = true;  // rides in this step's agreement: every rank stops after it
    }
    if (signals.received() && !preempt_requested) {
      // Rides in this step's agreement: every rank ends after the same step.
      spdlog::warn("{} received: finishing step {}, then a checkpoint", StopSignals::name(signals.received()),
                   s.progress.step + 1);
      preempt_requested = true;
    }
    std::vector<Batch> micro;
    const auto wait_start = Clock::now();
    for (int a = 0; a < accumulate; ++a) micro.push_back(s.data->loader->next());
    const double waited = std::chrono::duration<double>(Clock::now() - wait_start).count();
    window_wait += waited;
    total_wait += waited;
    for (const auto& b : micro) {
      window_audio += static_cast<double>(b.valid_samples) / s.config.model.sample_rate;
      run_audio += static_cast<double>(b.valid_samples) / s.config.model.sample_rate;
    }
    s.group->set_step(s.progress.step);
    const auto r = s.step->run(micro, s.schedule->at(s.progress.step), stop_requested, preempt_requested);
    ++s.progress.step;
    s.progress.position = s.loop->position(s.progress.step);
    if (s.utterance_log) s.log_utterances(micro);
    ++window_steps;
    window_loss += r.loss_sum;
    window_tokens += r.tokens;
    consecutive_non_finite = r.non_finite ? consecutive_non_finite + 1 : 0;
    consecutive_out_of_memory = r.out_of_memory ? consecutive_out_of_memory + 1 : 0;
    SORI_CHECK(tc.max_consecutive_skips <= 0 || consecutive_out_of_memory < tc.max_consecutive_skips,
               "the last ", consecutive_out_of_memory, " steps (up to step ", s.progress.step,
               ") all ran out of device memory and were dropped (trainer.max_consecutive_skips = ",
               tc.max_consecutive_skips, "): lower model.train_ds.batch_duration or max_duration, or use a smaller model");
    // Every rank saw the same agreement: all stop here together.
    SORI_CHECK(tc.max_consecutive_skips <= 0 || consecutive_non_finite < tc.max_consecutive_skips,
               "training diverged: the last ", consecutive_non_finite, " steps (up to step ", s.progress.step,
               ") all had non-finite gradients and were skipped (trainer.max_consecutive_skips = ",
               tc.max_consecutive_skips, "). Lower model.optim.lr or raise its warm-up, check the data for "
               "broken audio, and resume from a checkpoint before the divergence (`--resume PATH`)");
    if (r.skipped) {
      ++s.progress.skipped_steps;
    } else {
      norm_sum += r.grad_norm;
      ++window_updates;
    }

    const auto step = s.progress.step;
    if (s.display && s.display->live()) {
      const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
      if (r.tokens > 0) {
        const double loss = r.loss_sum / r.tokens;
        shown_loss = shown_loss < 0 ? loss : 0.9 * shown_loss + 0.1 * loss;
      }
      s.display->update({step, max_steps, s.loop->epoch_progress(step), std::max(0.0, shown_loss),
                         run_audio * s.group->world_size() / elapsed_s,
                         elapsed_s / static_cast<double>(step - start_step) * static_cast<double>(max_steps - step)});
    }
    if (s.group->is_main() && (step % std::max(1, tc.log_every_n_steps) == 0 || step == max_steps)) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double loss = window_tokens > 0 ? window_loss / window_tokens : 0.0;
      const double gnorm = window_updates ? norm_sum.item<double>() / window_updates : 0.0;
      const double per_step = std::chrono::duration<double>(Clock::now() - start).count() / (step - start_step);
      const double epoch = s.loop->epoch_progress(step), lr = s.schedule->at(step);
      const double audio_rate = window_audio * s.group->world_size() / secs;
      spdlog::info("step {}/{} epoch {:.2f} loss {:.4f} lr {:.3e} grad-norm {:.3f} audio {:.0f} s/s padding {:.1f}% "
                   "data-wait {:.1f}% ETA {:.0f} s",
                   step, max_steps, epoch, loss, lr, gnorm, audio_rate, 100 * s.data->loader->epoch_padding_fraction(),
                   100 * window_wait / secs, per_step * (max_steps - step));
      s.metrics->append({{"step", step}, {"epoch", epoch}, {"loss", loss}, {"lr", lr}, {"grad_norm", gnorm},
                         {"audio_s_per_s", audio_rate}, {"padding", s.data->loader->epoch_padding_fraction()},
                         {"skipped_steps", s.progress.skipped_steps}, {"data_wait_fraction", window_wait / secs},
                         {"elapsed_s", std::chrono::duration<double>(Clock::now() - start).count()}});
      s.tensorboard([&](EventFileWriter& w) {
        w.scalars(step, {{"train/loss", loss}, {"train/lr", lr}, {"train/grad_norm", gnorm},
                         {"train/audio_s_per_s", audio_rate},
                         {"train/padding_fraction", s.data->loader->epoch_padding_fraction()},
                         {"train/skipped_steps", static_cast<double>(s.progress.skipped_steps)},
                         {"train/data_wait_fraction", window_wait / secs}});
      });
      norm_sum.zero_();
      window_loss = window_tokens = window_audio = window_wait = 0;
      window_steps = window_updates = 0;
      window_start = Clock::now();
    }
    if (s.loop->epoch_ended(step)) {
      // Each rank skipped its own utterances; every rank reaches this step, so the sum is safe.
      auto skipped = torch::full({1}, static_cast<double>(s.data->loader->skipped_utterances()),
                                 torch::TensorOptions().dtype(torch::kFloat64).device(s.device));
      s.group->all_reduce_sum(skipped);
      if (s.group->is_main())
        spdlog::info("epoch {} done at step {}; so far {} utterances left out (skip_invalid), {} unknown characters "
                     "dropped by the tokenizer",
                     s.loop->epoch_of_position(s.progress.position) - 1, step, skipped.item<double>(),
                     s.data->tokenizer->unknown_count());
    }
    if (r.preempted) {
      // No validation: the launcher's grace period (torchrun: 30 s) must cover step + checkpoint
      // (with checkpoint.async_write, also the rest of the write in flight).
      // Every rank knows whether the checkpoint was written (save agrees on it).
      SORI_CHECK(s.save_last({}, /*final=*/true), "preempted at step ", step, ", but its checkpoint could not be written (see above): "
                 "the newest valid checkpoint is older; no preempted marker");
      if (s.group->is_main()) {
        s.run_dir->mark_preempted(step);
        spdlog::warn("preempted at step {}: checkpoint written; continue with --resume auto", step);
      }
      return TrainSummary{step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, false, true};
    }
    if (s.loop->validate_after(step)) s.validate();
    if (s.loop->checkpoint_after(step)) s.save_last();
    if (s.options.stop_after_steps > 0 && step >= s.options.stop_after_steps) {
      spdlog::info("stopping after {} steps (--stop-after-steps)", step);
      s.save_last({}, /*final=*/true);
      s.check_no_write_lost();
      return TrainSummary{step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, false};
    }
    if (r.stop) break;
  }
  s.validate(/*scheduled=*/s.progress.step >= max_steps);
  s.save_last({}, /*final=*/true);
  s.check_no_write_lost();
  TrainSummary summary{s.progress.step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, s.stop};
  if (s.group->is_main())
    spdlog::info("training done: {} steps ({} skipped), best {} {:.4f} at step {}; waited for data {:.2f}% of the time",
                 summary.steps, summary.skipped_steps, s.config.checkpoint.monitor, summary.best_metric, summary.best_step,
                 100 * total_wait / std::chrono::duration<double>(Clock::now() - start).count());
  return summary;
}

}  // namespace sori
