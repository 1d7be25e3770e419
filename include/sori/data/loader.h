// Threaded data loader for one data-parallel rank: worker threads decode, resample, augment and
// tokenize whole micro-batches off the training thread into a bounded reorder buffer; next()
// hands them out strictly in order. The sampler's epochs form one endless global sequence of
// micro-batches (epoch e's batch i has global index e·N + i, and an epoch's tail runs straight
// into the next); rank r of W takes global indices position + r, position + W + r, ...
// Randomness is seeded from (seed, epoch, batch-in-epoch, item): a micro-batch gets the same
// draws for any num_workers, rank or world size.
#pragma once

#include <condition_variable>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sori/data/audio.h"
#include "sori/data/augment.h"
#include "sori/data/collate.h"
#include "sori/data/dataset.h"
#include "sori/data/sampler.h"
#include "sori/data/tokenizer.h"

namespace sori {

struct LoaderOptions {
  int num_workers = 2;
  int prefetch_batches = 4;
  int sample_rate = 16000;
  ResampleQuality quality = ResampleQuality::SincMedium;
  bool augment = false;  // speed perturbation and noise (training only)
  bool pin_memory = false;
  bool skip_invalid = false;  // skip utterances that fail to decode instead of stopping
  std::uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
};

class DataLoader {
 public:
  // The dataset, tokenizer, sampler and augmenter must outlive the loader.
  DataLoader(const Dataset& dataset, const Tokenizer& tokenizer, const DurationBucketSampler& sampler,
             const WaveformAugmenter* augmenter, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // This rank's next micro-batch. Under skip_invalid it may hold no utterance (all failed).
  Batch next();
  // Global index of the first micro-batch of the next micro-step (a multiple of world_size):
  // the training position a checkpoint saves.
  std::int64_t position() const { return position_; }
  void restore(std::int64_t position);

  // Padding fraction of this rank's batches handed out so far in the current epoch.
  double epoch_padding_fraction() const;
  // Utterances left out under skip_invalid from the batches next() returned so far.
  std::size_t skipped_utterances() const { return skipped_; }

 private:
  // The micro-batch with global index g (loads on the calling thread).
  Batch load_batch(std::int64_t g) const;
  Utterance load_utterance(std::size_t index, std::int64_t epoch, std::int64_t i, std::size_t position,
                           double speed) const;
  std::shared_ptr<const std::vector<std::vector<std::size_t>>> epoch_batches(std::int64_t epoch) const;
  std::int64_t global_index(std::int64_t k) const;  // this rank's k-th micro-batch from position_at_start_
  void start_workers();
  void stop_workers();
  void worker_loop();

  const Dataset& dataset_;
  const Tokenizer& tokenizer_;
  const DurationBucketSampler& sampler_;
  const WaveformAugmenter* augmenter_;
  LoaderOptions options_;

  std::int64_t position_ = 0, position_at_start_ = 0;
  std::int64_t handed_out_ = 0;  // micro-batches next() returned since position_at_start_
  std::int64_t padding_epoch_ = -1, epoch_padded_ = 0, epoch_valid_ = 0;
  std::size_t skipped_ = 0;

  // Shared with the workers, guarded by mutex_.
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::int64_t next_claim_ = 0;  // k of the next micro-batch a worker takes
  bool stopping_ = false;
  std::map<std::int64_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready_;
  mutable std::map<std::int64_t, std::shared_ptr<const std::vector<std::vector<std::size_t>>>> epochs_;
};

}  // namespace sori
