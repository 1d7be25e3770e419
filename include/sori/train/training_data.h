// A training run's data on one rank: the tokenizer (the checkpoint's when resuming or
// fine-tuning, never one rebuilt from changed manifests), the filtered training and validation
// sets, the global duration-bucket sampler and this rank's loader. Every rank builds the same
// utterance list and vocabulary; their hashes are compared at start-up and a mismatch names the
// ranks that differ.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/augment.h"
#include "sori/data/dataset.h"
#include "sori/data/loader.h"
#include "sori/data/sampler.h"
#include "sori/data/tokenizer.h"
#include "sori/dist/process_group.h"

namespace sori {

struct TrainingData {
  // checkpoint_tokenizer: the resumed checkpoint's tokenizer files, or null for a fresh run.
  TrainingData(const Config& config, dist::ProcessGroup& group, const torch::Device& device,
               const std::map<std::string, std::string>* checkpoint_tokenizer);

  std::unique_ptr<Tokenizer> tokenizer;
  std::map<std::string, std::string> tokenizer_files;  // what checkpoints carry
  std::unique_ptr<WaveformAugmenter> augmenter;
  Dataset train_set;
  std::vector<std::pair<std::string, Dataset>> val_sets;
  std::unique_ptr<DurationBucketSampler> sampler;
  std::unique_ptr<DataLoader> loader;
};

// The trainer's sampler and loader settings for model.train_ds (`sori bench data` uses them too).
SamplerOptions train_sampler_options(const Config& config);
LoaderOptions train_loader_options(const Config& config, bool pin_memory, int rank, int world_size);

}  // namespace sori
