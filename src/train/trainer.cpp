#include "sori/train/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <optional>

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

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

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
  // Both return whether the checkpoint was written (false only under on_write_error: continue).
  bool save_last(const std::map<std::string, double>& metrics = {});
  bool save(const std::map<std::string, double>& metrics, bool ranked);
  void sync_buffers();
  void log_utterances(const std::vector<Batch>& micro_batches) const;
  // TensorBoard is for reading the run: a failed write is reported once and ends TensorBoard
  // logging, never the training.
  template <class Write> void tensorboard(Write&& write);
  DataParallelShape shape() const {
    return {group->world_size(), std::max(1, config.trainer.accumulate_grad_batches), config.trainer.bucket_group,
            data->sampler->batches_per_epoch()};
  }
};

Trainer::Trainer(Config config, TrainOptions options) : s_(std::make_unique<State>()) {
  s_->config = std::move(config);
  s_->options = std::move(options);
  s_->setup();
}

Trainer::~Trainer() = default;

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

void Trainer::State::log_utterances(const std::vector<Batch>& micro_batches) const {
  for (const auto& b : micro_batches) {
    std::vector<std::string> where;
    for (const auto i : b.indices) where.push_back(data->train_set.entries[i].where());
    utterance_log->append({{"step", progress.step}, {"batch", b.global_index}, {"epoch", b.epoch}, {"utterances", where}});
  }
}

template <class Write> void Trainer::State::tensorboard(Write&& write) {
  if (!events) return;
  try {
    write(*events);
  } catch (const std::exception& e) {
    spdlog::error("TensorBoard logging stopped ({}); training goes on, metrics.jsonl has every figure", e.what());
    events.reset();
  }
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

void Trainer::State::validate(bool scheduled) {
  if (data->val_sets.empty() || last_validated == progress.step) return;
  last_validated = progress.step;
  sync_buffers();
  const auto& v = config.model.validation_ds;
  EvaluationOptions eo;
  eo.batch_duration = v.batch_duration > 0 ? v.batch_duration : 120.0;
  eo.batch_size = v.batch_size;
  eo.num_workers = std::max(1, v.num_workers);
  eo.sample_rate = config.model.sample_rate;
  eo.device = device;
  eo.precision = config.trainer.precision;
  eo.rank = group->rank();
  eo.world_size = group->world_size();
  eo.skip_invalid = v.skip_invalid;
  std::map<std::string, double> m;
  ErrorCounts all;
  nlohmann::json row{{"step", progress.step}};
  std::string utterances;  // this rank's share, one JSON line per utterance (run_validation_path)
  for (auto& [name, ds] : data->val_sets) {
    const auto ev = evaluate(model, ds, *data->tokenizer, eo);
    tensorboard([&](EventFileWriter& w) {
      w.text("val/examples/" + name, progress.step, validation_examples_markdown(ev, 5));
    });
    utterances += validation_result_lines(ev, ds, name, progress.step);
    auto counts = ev.counts;
    auto t = torch::tensor({counts.char_edits, counts.chars, counts.word_edits, counts.words, counts.nospace_edits,
                            counts.nospace_chars, counts.utterances},
                           torch::kInt64)
                 .to(device);
    group->all_reduce_sum(t);  // ranks decoded disjoint shards: the sums are the whole set's
    t = t.cpu();
    const auto* n = t.data_ptr<std::int64_t>();
    counts = ErrorCounts{n[0], n[1], n[2], n[3], n[4], n[5], n[6]};
    all.merge(counts);
    m["val_cer/" + name] = counts.cer();
    m["val_wer/" + name] = counts.wer();
    m["val_cer_nospace/" + name] = counts.cer_nospace();
    if (group->is_main())
      spdlog::info("validation {} step {}: CER {:.2f}% WER {:.2f}% CER(no spaces) {:.2f}% ({} utterances)", name,
                   progress.step, 100 * counts.cer(), 100 * counts.wer(), 100 * counts.cer_nospace(), counts.utterances);
  }
  try {
    write_file_atomic(run_validation_path(config.trainer.run_dir, group->rank()), utterances);
  } catch (const std::exception& e) {
    spdlog::error("rank {}: validation results not written ({}); training goes on", group->rank(), e.what());
  }
  m["val_cer"] = all.cer();
  m["val_wer"] = all.wer();
  m["val_cer_nospace"] = all.cer_nospace();
  for (const auto& [k, val] : m) row[k] = val;
  if (metrics) metrics->append(row);
  std::map<std::string, double> scalars;  // val_cer/x -> val/cer/x: TensorBoard groups by the first '/'
  for (const auto& [k, val] : m) scalars["val/" + k.substr(4)] = val;
  tensorboard([&](EventFileWriter& w) { w.scalars(progress.step, scalars); });

  const auto& ck = config.checkpoint;
  SORI_CHECK(m.count(ck.monitor), "checkpoint.monitor: unknown metric '", ck.monitor, "' (have val_cer, val_wer, ...)");
  const double value = m[ck.monitor];
  const double delta = ck.mode == "min" ? ck.early_stopping.min_delta : -ck.early_stopping.min_delta;
  const bool better = ck.mode == "min" ? value + delta < progress.best_metric : value + delta > progress.best_metric;
  // An unscheduled validation reports and ranks its checkpoint but leaves the best metric and
  // the early-stopping count alone, so a resumed run decides exactly as an uninterrupted one.
  if (scheduled && (progress.best_step < 0 || better)) {
    progress.best_metric = value;
    progress.best_step = progress.step;
    progress.stale_validations = 0;
  } else if (scheduled) {
    ++progress.stale_validations;
  }
  last_metrics = m;
  save(m, /*ranked=*/true);
  // Every rank computed the same metrics from the summed counts: the decision is global.
  if (scheduled && ck.early_stopping.enabled && progress.stale_validations >= ck.early_stopping.patience) {
    spdlog::info("early stopping: {} has not improved for {} validations (best {:.4f} at step {})", ck.monitor,
                 progress.stale_validations, progress.best_metric, progress.best_step);
    stop = true;
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
      // No validation: the launcher's grace period (torchrun: 30 s) must cover step + checkpoint.
      // Every rank knows whether the checkpoint was written (save agrees on it).
      SORI_CHECK(s.save_last(), "preempted at step ", step, ", but its checkpoint could not be written (see above): "
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
      s.save_last();
      return TrainSummary{step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, false};
    }
    if (r.stop) break;
  }
  s.validate(/*scheduled=*/s.progress.step >= max_steps);
  s.save_last();
  TrainSummary summary{s.progress.step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, s.stop};
  if (s.group->is_main())
    spdlog::info("training done: {} steps ({} skipped), best {} {:.4f} at step {}; waited for data {:.2f}% of the time",
                 summary.steps, summary.skipped_steps, s.config.checkpoint.monitor, summary.best_metric, summary.best_step,
                 100 * total_wait / std::chrono::duration<double>(Clock::now() - start).count());
  return summary;
}

}  // namespace sori
