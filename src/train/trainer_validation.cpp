#include "trainer_state.h"

namespace sori {

void Trainer::State::tensorboard(const std::function<void(EventFileWriter&)>& write) {
  if (!events) return;
  try {
    write(*events);
  } catch (const std::exception& e) {
    spdlog::error("TensorBoard logging stopped ({}); training goes on, metrics.jsonl has every figure", e.what());
    events.reset();
  }
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
    const std::string tag = "val/examples/" + name;  // C++17 lambdas cannot capture a structured binding
    tensorboard([&](EventFileWriter& w) { w.text(tag, progress.step, validation_examples_markdown(ev, 5)); });
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

}  // namespace sori
