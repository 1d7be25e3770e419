#include "sori/train/training_data.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>
#include <sstream>

#include "sori/core/error.h"
#include "sori/core/hash.h"
#include "sori/data/feasibility.h"

namespace sori {

namespace {

namespace fs = std::filesystem;

std::unique_ptr<Tokenizer> choose_tokenizer(const Config& c, const std::map<std::string, std::string>* from_checkpoint) {
  const auto& tc = c.model.tokenizer;
  if (!from_checkpoint) return load_tokenizer(tc, c.model.train_ds.manifest_filepath);
  // A vocabulary rebuilt from (possibly changed) manifests would silently re-map the CTC head.
  const auto configured = tc.dir.empty() ? std::map<std::string, std::string>{} : read_tokenizer_files(tc.dir);
  auto tokenizer = load_tokenizer_from_files(tc.type, *from_checkpoint);
  if (!configured.empty() && configured != *from_checkpoint) {
    const auto other = load_tokenizer_from_files(tc.type, configured);
    SORI_FAIL("model.tokenizer.dir ", tc.dir, " holds another vocabulary (", other->vocab_size(),
              " tokens) than the checkpoint (", tokenizer->vocab_size(),
              " tokens): resuming and fine-tuning keep the checkpoint's tokenizer. Point model.tokenizer.dir at the "
              "checkpoint's vocabulary (<run_dir>/tokenizer), or start from `sori import-nemo --new-tokenizer` to "
              "train a new one");
  }
  return tokenizer;
}

std::uint64_t fnv1a(const std::string& s, std::uint64_t h) { return fnv1a64(s.data(), s.size(), h); }

// Agreement between ranks on what they will train on.
void check_same_data(dist::ProcessGroup& group, const Tokenizer& tokenizer, const Dataset& train) {
  std::uint64_t h = kFnv1a64Offset;
  for (const auto& token : tokenizer.vocabulary()) h = fnv1a(token + '\n', h);
  const std::uint64_t vocab = h;
  for (const auto& e : train.entries)
    h = fnv1a(e.audio_filepath + '\t' + std::to_string(e.offset) + '\t' + std::to_string(e.duration) + '\t' + e.text, h);
  std::ostringstream mine;
  mine << std::hex << vocab << ' ' << h << ' ' << train.entries.size();
  const auto all = group.exchange("data", mine.str());
  std::string differing;
  for (std::size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0]) differing += (differing.empty() ? "" : ", ") + std::to_string(r);
  SORI_CHECK(differing.empty(), "rank(s) ", differing, " built another vocabulary or training set than rank 0 (",
             "vocabulary hash, utterance-list hash, count: rank 0 '", all[0], "'): every rank must see the same ",
             "manifests, audio files and tokenizer");
}

}  // namespace

TrainingData::TrainingData(const Config& c, dist::ProcessGroup& group, const torch::Device& device,
                           const std::map<std::string, std::string>* checkpoint_tokenizer) {
  tokenizer = choose_tokenizer(c, checkpoint_tokenizer);
  if (group.is_main()) {
    const auto dir = (fs::path(c.trainer.run_dir) / "tokenizer").string();
    tokenizer->save(dir);
    tokenizer_files = read_tokenizer_files(dir);
  }
  augmenter = std::make_unique<WaveformAugmenter>(c.model.augmentation, c.model.sample_rate);
  const FeasibilityChecker checker(c, *tokenizer, augmenter->max_speed());
  const auto& ds = c.model.train_ds;
  if (group.is_main()) {
    std::vector<FeasibilityReport> feasibility;
    for (const auto& m : ds.manifest_filepath) feasibility.push_back(check_feasibility(m, checker));
    spdlog::info("{}", format_feasibility(feasibility, c, augmenter->max_speed()));
  }
  DatasetFilters filters{ds.min_duration, ds.max_duration, ds.skip_invalid, true, {}, {}};
  filters.transcribable = [&](const std::string& text) { return tokenizer->transcribable(text); };
  if (ds.drop_infeasible) filters.feasible = [&](const ManifestEntry& e) { return checker.feasible(e); };
  train_set = load_dataset(ds.manifest_filepath, filters);
  spdlog::info("train: {} utterances, {:.2f} h; {}", train_set.entries.size(), train_set.hours(),
               train_set.dropped.summary());
  check_same_data(group, *tokenizer, train_set);
  const auto& v = c.model.validation_ds;
  for (const auto& m : v.manifest_filepath) {
    DatasetFilters vf{v.min_duration, v.max_duration, v.skip_invalid, true, {}, {}};
    val_sets.emplace_back(fs::path(m).stem().string(), load_dataset({m}, vf));
  }

  std::vector<double> durations;
  for (const auto& e : train_set.entries) durations.push_back(e.duration);
  sampler = std::make_unique<DurationBucketSampler>(durations, train_sampler_options(c));
  const auto lo = train_loader_options(c, device.is_cuda(), group.rank(), group.world_size());
  loader = std::make_unique<DataLoader>(train_set, *tokenizer, *sampler, augmenter.get(), lo);
}

SamplerOptions train_sampler_options(const Config& c) {
  const auto& ds = c.model.train_ds;
  SamplerOptions so;
  so.batch_duration = ds.batch_duration;
  so.batch_size = ds.batch_size;
  so.num_buckets = ds.num_buckets;
  so.bucket_group = c.trainer.bucket_group;
  so.shuffle = ds.shuffle;
  so.seed = c.trainer.seed;
  return so;
}

LoaderOptions train_loader_options(const Config& c, bool pin_memory, int rank, int world_size) {
  const auto& ds = c.model.train_ds;
  LoaderOptions lo;
  lo.num_workers = ds.num_workers;
  lo.prefetch_batches = ds.prefetch_batches;
  lo.sample_rate = c.model.sample_rate;
  lo.quality = parse_resample_quality(c.model.augmentation.resample_quality);
  lo.augment = true;
  lo.pin_memory = pin_memory;
  lo.skip_invalid = ds.skip_invalid;
  lo.seed = c.trainer.seed;
  lo.rank = rank;
  lo.world_size = world_size;
  return lo;
}

}  // namespace sori
