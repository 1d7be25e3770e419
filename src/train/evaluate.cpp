#include "sori/train/evaluate.h"

#include <torch/torch.h>

#include <filesystem>

#include "sori/core/fs.h"
#include "sori/core/text.h"
#include "sori/core/torch_compat.h"
#include "sori/data/loader.h"
#include "sori/model/ctc_decode.h"
#include "sori/train/precision.h"

namespace sori {

Evaluation evaluate(CtcModel& model, const Dataset& dataset, const Tokenizer& tokenizer, const EvaluationOptions& o) {
  std::vector<double> durations;
  for (const auto& e : dataset.entries) durations.push_back(e.duration);
  SamplerOptions so;
  so.batch_duration = o.batch_size > 0 ? 0.0 : o.batch_duration;
  so.batch_size = o.batch_size;
  so.num_buckets = 4;
  so.bucket_group = 1;
  so.shuffle = false;
  DurationBucketSampler sampler(durations, so);
  LoaderOptions lo;
  lo.num_workers = o.num_workers;
  lo.sample_rate = o.sample_rate;
  lo.pin_memory = o.device.is_cuda();
  lo.rank = o.rank;
  lo.world_size = o.world_size;
  lo.skip_invalid = o.skip_invalid;
  DataLoader loader(dataset, tokenizer, sampler, nullptr, lo);

  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const Precision precision = resolve_precision(o.precision, o.device);
  Evaluation ev;
  ev.references.resize(dataset.entries.size());
  ev.hypotheses.resize(dataset.entries.size());
  ev.decoded.assign(dataset.entries.size(), false);
  for (std::int64_t g = o.rank; g < sampler.batches_per_epoch(); g += o.world_size) {
    const auto batch = loader.next();
    if (batch.empty()) continue;
    auto audio = batch.audio.to(o.device, /*non_blocking=*/true);
    auto lengths = batch.audio_lengths.to(o.device, true);
    compat::AutocastGuard autocast(o.device, precision.autocast, precision.dtype);
    auto [feats, feat_lengths] = model->features(audio, lengths);
    auto [log_probs, enc_lengths] = model->forward(feats, feat_lengths);
    const auto hyps = greedy_ctc_decode(log_probs, enc_lengths, tokenizer.blank_id());
    for (std::size_t i = 0; i < hyps.size(); ++i) {
      const auto index = batch.indices[i];
      ev.decoded[index] = true;
      ev.references[index] = normalize_whitespace(dataset.entries[index].text);
      ev.hypotheses[index] = tokenizer.decode(hyps[i].tokens);
    }
  }
  ev.utterance_counts.resize(dataset.entries.size());
  for (std::size_t i = 0; i < ev.references.size(); ++i)
    if (ev.decoded[i]) {
      ev.utterance_counts[i].add(ev.references[i], ev.hypotheses[i]);
      ev.counts.merge(ev.utterance_counts[i]);
    }
  if (was_training) model->train();
  return ev;
}

void write_trn(const std::string& dir, const Evaluation& ev) {
  auto trn = [](const std::string& text, std::size_t i) {
    std::string line;
    for (char32_t c : utf8_decode(text)) {
      if (!line.empty()) line += ' ';
      line += c == U' ' ? std::string("\xE2\x96\x81") : utf8_encode(c);
    }
    return line + " (utt_" + std::to_string(i) + ")\n";
  };
  std::string ref, hyp;
  for (std::size_t i = 0; i < ev.references.size(); ++i) {
    ref += trn(ev.references[i], i);
    hyp += trn(ev.hypotheses[i], i);
  }
  std::filesystem::create_directories(dir);
  write_file_atomic((std::filesystem::path(dir) / "ref.trn").string(), ref);
  write_file_atomic((std::filesystem::path(dir) / "hyp.trn").string(), hyp);
}

}  // namespace sori
