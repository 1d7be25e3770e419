#include "sori/train/trainer.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/rng.h"
#include "sori/core/torch_compat.h"
#include "sori/data/feasibility.h"
#include "sori/data/loader.h"
#include "sori/features/spec_augment.h"
#include "sori/model/ctc_model.h"
#include "sori/train/checkpoint.h"
#include "sori/train/ctc_loss.h"
#include "sori/train/evaluate.h"
#include "sori/train/grad_scaler.h"
#include "sori/train/lr_schedule.h"
#include "sori/train/metrics_log.h"
#include "sori/train/precision.h"
#include "sori/train/run_setup.h"

namespace sori {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Trainer::State {
  Config config;
  TrainOptions options;
  torch::Device device = torch::kCPU;
  Precision precision;
  std::unique_ptr<Tokenizer> tokenizer;
  std::map<std::string, std::string> tokenizer_files;
  std::unique_ptr<WaveformAugmenter> augmenter;
  Dataset train_set;
  std::vector<std::pair<std::string, Dataset>> val_sets;
  std::unique_ptr<DurationBucketSampler> sampler;
  std::unique_ptr<DataLoader> loader;
  CtcModel model{nullptr};
  std::vector<torch::Tensor> params;
  std::unique_ptr<torch::optim::AdamW> optimizer;
  std::unique_ptr<LrSchedule> schedule;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<CheckpointManager> checkpoints;
  std::unique_ptr<MetricsLog> metrics;
  TrainProgress progress;
  std::int64_t max_steps = 0, steps_per_epoch = 0, val_interval = 0, last_validated = -1;
  bool stop = false;

  void setup();
  void resume();
  torch::Tensor forward_backward(const Batch& batch, int micro);
  void validate();
  Checkpoint snapshot(const std::map<std::string, double>& metrics) const;
  double lr() const { return schedule->at(progress.step); }
};

Trainer::Trainer(Config config, TrainOptions options) : s_(std::make_unique<State>()) {
  s_->config = std::move(config);
  s_->options = std::move(options);
  s_->setup();
  s_->resume();
}

Trainer::~Trainer() = default;

void Trainer::State::setup() {
  const auto& c = config;
  device = compat::parse_device(c.trainer.device);
  precision = resolve_precision(c.trainer.precision, device);
  configure_threads(c.trainer.num_threads, device);
  torch::manual_seed(c.trainer.seed);
  fs::create_directories(c.trainer.run_dir);
  const std::string yaml = config_to_yaml(c);
  spdlog::info("resolved config:\n{}", yaml);
  write_file_atomic((fs::path(c.trainer.run_dir) / "config.yaml").string(), yaml);

  tokenizer = load_tokenizer(c.model.tokenizer, c.model.train_ds.manifest_filepath);
  const auto tokenizer_dir = (fs::path(c.trainer.run_dir) / "tokenizer").string();
  tokenizer->save(tokenizer_dir);
  tokenizer_files = read_tokenizer_files(tokenizer_dir);  // every checkpoint carries them
  augmenter = std::make_unique<WaveformAugmenter>(c.model.augmentation, c.model.sample_rate);
  const FeasibilityChecker checker(c, *tokenizer, augmenter->max_speed());
  std::vector<FeasibilityReport> feasibility;
  for (const auto& m : c.model.train_ds.manifest_filepath) feasibility.push_back(check_feasibility(m, checker));
  spdlog::info("{}", format_feasibility(feasibility, c, augmenter->max_speed()));
  DatasetFilters filters{c.model.train_ds.min_duration, c.model.train_ds.max_duration, c.model.train_ds.skip_invalid, true, {}};
  if (c.model.train_ds.drop_infeasible) filters.feasible = [&](const ManifestEntry& e) { return checker.feasible(e); };
  train_set = load_dataset(c.model.train_ds.manifest_filepath, filters);
  spdlog::info("train: {} utterances, {:.2f} h; {}", train_set.entries.size(), train_set.hours(), train_set.dropped.summary());
  for (const auto& m : c.model.validation_ds.manifest_filepath) {
    DatasetFilters vf{c.model.validation_ds.min_duration, c.model.validation_ds.max_duration,
                      c.model.validation_ds.skip_invalid, true, {}};
    val_sets.emplace_back(fs::path(m).stem().string(), load_dataset({m}, vf));
  }

  std::vector<double> durations;
  for (const auto& e : train_set.entries) durations.push_back(e.duration);
  const auto& ds = c.model.train_ds;
  sampler = std::make_unique<DurationBucketSampler>(
      durations, SamplerOptions{ds.batch_duration, ds.batch_size, ds.num_buckets, ds.shuffle, c.trainer.seed, 0, 1});
  LoaderOptions lo;
  lo.num_workers = ds.num_workers;
  lo.prefetch_batches = ds.prefetch_batches;
  lo.sample_rate = c.model.sample_rate;
  lo.quality = parse_resample_quality(c.model.augmentation.resample_quality);
  lo.augment = true;
  lo.pin_memory = device.is_cuda();
  lo.skip_invalid = ds.skip_invalid;
  lo.seed = c.trainer.seed;
  loader = std::make_unique<DataLoader>(train_set, *tokenizer, *sampler, augmenter.get(), lo);

  model = CtcModel(c.model, tokenizer->vocab_size());
  model->to(device);
  params = model->parameters();
  const auto& o = c.model.optim;
  SORI_CHECK(o.name == "adamw", "model.optim.name: only adamw is supported, found '", o.name, "'");
  SORI_CHECK(o.betas.size() == 2, "model.optim.betas: expected two values, found ", o.betas.size());
  optimizer = std::make_unique<torch::optim::AdamW>(
      params, torch::optim::AdamWOptions(o.lr).betas({o.betas[0], o.betas[1]}).eps(o.eps).weight_decay(o.weight_decay));

  const int accumulate = std::max(1, c.trainer.accumulate_grad_batches);
  steps_per_epoch = std::max<std::int64_t>(1, sampler->batches_per_epoch() / accumulate);
  max_steps = c.trainer.max_steps > 0 ? c.trainer.max_steps : steps_per_epoch * c.trainer.max_epochs;
  schedule = std::make_unique<LrSchedule>(o, max_steps, c.model.encoder.d_model);
  GradScaler::Options so;
  so.enabled = precision.loss_scaling;
  scaler = std::make_unique<GradScaler>(so, device);
  checkpoints = std::make_unique<CheckpointManager>(c.trainer.run_dir, c.checkpoint.save_top_k, c.checkpoint.monitor,
                                                    c.checkpoint.mode);
  metrics = std::make_unique<MetricsLog>((fs::path(c.trainer.run_dir) / "metrics.jsonl").string());
  val_interval = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(std::llround(c.trainer.val_check_interval.resolve(static_cast<double>(steps_per_epoch)))));
  spdlog::info("model: {} parameters on {}; {} batches per epoch, {} steps (max), validation every {} steps",
               count_parameters(*model), device.str(), sampler->batches_per_epoch(), max_steps, val_interval);
}

void Trainer::State::resume() {
  if (options.resume.empty()) {
    metrics->truncate_after(-1);
    return;
  }
  std::optional<Checkpoint> ckpt;
  if (options.resume == "auto") {
    std::vector<std::string> problems;
    ckpt = checkpoints->load_newest_valid(&problems);
    for (const auto& p : problems) spdlog::warn("skipping unusable checkpoint: {}", p);
    if (!ckpt) {
      spdlog::info("resume auto: no checkpoint in {}, starting fresh", checkpoints->dir());
      metrics->truncate_after(-1);
      return;
    }
  } else {
    ckpt = load_checkpoint(options.resume);
  }
  load_state_dict(*model, ckpt->model, "checkpoint");
  std::istringstream in(ckpt->optimizer);
  torch::serialize::InputArchive archive;
  archive.load_from(in, device);
  optimizer->load(archive);
  scaler->load(ckpt->scaler_scale, ckpt->scaler_growth_tracker);
  restore_rng_states(ckpt->cpu_rng_state, ckpt->cuda_rng_states);
  progress = ckpt->progress;
  loader->restore({progress.epoch, progress.batch_index});
  metrics->truncate_after(progress.step);
  last_validated = ckpt->metrics.empty() ? -1 : progress.step;
  spdlog::info("resumed at step {} (epoch {}, batch {})", progress.step, progress.epoch, progress.batch_index);
}

Checkpoint Trainer::State::snapshot(const std::map<std::string, double>& m) const {
  Checkpoint c;
  c.model = state_dict(*model);
  torch::serialize::OutputArchive archive;
  optimizer->save(archive);
  std::ostringstream os;
  archive.save_to(os);
  c.optimizer = os.str();
  c.scaler_scale = scaler->scale_value();
  c.scaler_growth_tracker = scaler->growth_tracker();
  c.progress = progress;
  const auto pos = loader->state();
  c.progress.epoch = pos.epoch;
  c.progress.batch_index = pos.index;
  std::tie(c.cpu_rng_state, c.cuda_rng_states) = capture_rng_states();
  c.config_yaml = config_to_yaml(config);
  c.tokenizer_files = tokenizer_files;
  c.metrics = m;
  return c;
}

torch::Tensor Trainer::State::forward_backward(const Batch& batch, int micro) {
  const auto audio = batch.audio.to(device, /*non_blocking=*/true);
  const auto lengths = batch.audio_lengths.to(device, true);
  const auto tokens = batch.tokens.to(device, true);
  const auto token_lengths = batch.token_lengths.to(device, true);
  const int hop = model->featurizer()->hop_length();
  std::vector<std::int64_t> frames;  // from the host copy of the lengths: no device sync
  const auto* host_lengths = batch.audio_lengths.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < batch.audio_lengths.size(0); ++i) frames.push_back(host_lengths[i] / hop);
  torch::Tensor log_probs, enc_lengths;
  {
    compat::AutocastGuard autocast(device, precision.autocast, precision.dtype);
    auto [feats, feat_lengths] = model->features(audio, lengths);
    std::mt19937_64 rng(mix_seed({config.trainer.seed, static_cast<std::uint64_t>(progress.step),
                                  static_cast<std::uint64_t>(micro), 0x5BEC}));
    feats = spec_augment(feats, frames, config.model.spec_augment, rng);
    std::tie(log_probs, enc_lengths) = model->forward(feats, feat_lengths);
  }
  auto loss = ctc_loss_mean_volume(log_probs, enc_lengths, tokens, token_lengths, tokenizer->blank_id());
  scaler->scale(loss / std::max(1, config.trainer.accumulate_grad_batches)).backward();
  return loss.detach();
}

void Trainer::State::validate() {
  if (val_sets.empty() || last_validated == progress.step) return;
  last_validated = progress.step;
  const auto& v = config.model.validation_ds;
  EvaluationOptions eo{v.batch_duration > 0 ? v.batch_duration : 120.0, v.batch_size, std::max(1, v.num_workers),
                       config.model.sample_rate, device, config.trainer.precision};
  std::map<std::string, double> m;
  ErrorCounts all;
  nlohmann::json row{{"step", progress.step}};
  for (auto& [name, ds] : val_sets) {
    const auto ev = evaluate(model, ds, *tokenizer, eo);
    all.merge(ev.counts);
    m["val_cer/" + name] = ev.counts.cer();
    m["val_wer/" + name] = ev.counts.wer();
    m["val_cer_nospace/" + name] = ev.counts.cer_nospace();
    spdlog::info("validation {} step {}: CER {:.2f}% WER {:.2f}% CER(no spaces) {:.2f}% ({} utterances)", name,
                 progress.step, 100 * ev.counts.cer(), 100 * ev.counts.wer(), 100 * ev.counts.cer_nospace(),
                 ev.counts.utterances);
  }
  m["val_cer"] = all.cer();
  m["val_wer"] = all.wer();
  m["val_cer_nospace"] = all.cer_nospace();
  for (const auto& [k, val] : m) row[k] = val;
  metrics->append(row);

  const auto& ck = config.checkpoint;
  SORI_CHECK(m.count(ck.monitor), "checkpoint.monitor: unknown metric '", ck.monitor, "' (have val_cer, val_wer, ...)");
  const double value = m[ck.monitor];
  if (progress.best_step < 0 || checkpoints->better(value + (ck.mode == "min" ? ck.early_stopping.min_delta : -ck.early_stopping.min_delta), progress.best_metric)) {
    progress.best_metric = value;
    progress.best_step = progress.step;
    progress.stale_validations = 0;
  } else {
    ++progress.stale_validations;
  }
  checkpoints->save_ranked(snapshot(m));
  if (ck.early_stopping.enabled && progress.stale_validations >= ck.early_stopping.patience) {
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
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(s.device));
  torch::Tensor norm_sum = torch::zeros({}, torch::TensorOptions().device(s.device));
  std::int64_t window_steps = 0, start_step = s.progress.step;
  double window_audio = 0;
  s.model->train();
  while (!s.stop && s.progress.step < s.max_steps && s.loader->state().epoch < tc.max_epochs) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (tc.max_time_s > 0 && elapsed >= tc.max_time_s) {
      spdlog::info("trainer.max_time_s reached after {:.0f} s", elapsed);
      break;
    }
    s.optimizer->zero_grad();
    int micro = 0;
    bool epoch_ended = false;  // validate after the step: a checkpoint must not split an accumulation
    while (micro < accumulate && s.loader->state().epoch < tc.max_epochs) {
      auto batch = s.loader->next();
      if (!batch) {
        spdlog::info("epoch {} done: padding {:.1f}% of audio samples; {} unknown characters dropped by the tokenizer so far",
                     s.loader->state().epoch - 1, 100 * s.loader->last_epoch_padding_fraction(),
                     s.tokenizer->unknown_count());
        epoch_ended = true;
        continue;
      }
      loss_sum += s.forward_backward(*batch, micro);
      window_audio += static_cast<double>(batch->valid_samples) / s.config.model.sample_rate;
      ++micro;
    }
    if (micro == 0) break;
    auto [norm, found_inf] = s.scaler->unscale_and_clip(s.params, tc.gradient_clip_val);
    if (found_inf.item<bool>()) {  // the step's one host read
      ++s.progress.skipped_steps;
    } else {
      for (auto& group : s.optimizer->param_groups())
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(s.lr());
      s.optimizer->step();
      norm_sum += norm;
    }
    s.scaler->update(found_inf);
    ++s.progress.step;
    ++window_steps;

    const auto step = s.progress.step;
    if (step % std::max(1, tc.log_every_n_steps) == 0 || step == s.max_steps) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      const double loss = loss_sum.item<double>() / (window_steps * accumulate);
      const double gnorm = norm_sum.item<double>() / window_steps;
      const double per_step = std::chrono::duration<double>(Clock::now() - start).count() / (step - start_step);
      spdlog::info("step {}/{} epoch {} loss {:.4f} lr {:.3e} grad-norm {:.3f} audio {:.0f} s/s padding {:.1f}% ETA {:.0f} s",
                   step, s.max_steps, s.loader->state().epoch, loss, s.lr(), gnorm, window_audio / secs,
                   100 * s.loader->epoch_padding_fraction(), per_step * (s.max_steps - step));
      s.metrics->append({{"step", step}, {"epoch", s.loader->state().epoch}, {"loss", loss}, {"lr", s.lr()},
                         {"grad_norm", gnorm}, {"audio_s_per_s", window_audio / secs},
                         {"padding", s.loader->epoch_padding_fraction()}, {"skipped_steps", s.progress.skipped_steps},
                         {"elapsed_s", std::chrono::duration<double>(Clock::now() - start).count()}});
      loss_sum.zero_();
      norm_sum.zero_();
      window_steps = 0;
      window_audio = 0;
      window_start = Clock::now();
    }
    if (epoch_ended || step % s.val_interval == 0) s.validate();
    if (s.config.checkpoint.every_n_steps > 0 && step % s.config.checkpoint.every_n_steps == 0)
      s.checkpoints->save_last(s.snapshot({}));
    if (s.options.stop_after_steps > 0 && step >= s.options.stop_after_steps) {
      spdlog::info("stopping after {} steps (--stop-after-steps)", step);
      s.checkpoints->save_last(s.snapshot({}));
      return TrainSummary{step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, false};
    }
  }
  s.validate();
  s.checkpoints->save_last(s.snapshot({}));
  TrainSummary summary{s.progress.step, s.progress.skipped_steps, s.progress.best_metric, s.progress.best_step, s.stop};
  spdlog::info("training done: {} steps ({} skipped), best {} {:.4f} at step {}", summary.steps, summary.skipped_steps,
               s.config.checkpoint.monitor, summary.best_metric, summary.best_step);
  return summary;
}

}  // namespace sori
