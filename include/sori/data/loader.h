// Threaded data loader: worker threads decode, resample, augment and tokenize whole batches off
// the training thread into a bounded reorder buffer; next() hands them out strictly in sampler
// order. Per-utterance randomness is seeded from (seed, epoch, batch, item), so the batches are
// identical for any num_workers (0 = load on the calling thread).
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
};

class DataLoader {
 public:
  // The dataset, tokenizer, sampler and augmenter must outlive the loader.
  DataLoader(const Dataset& dataset, const Tokenizer& tokenizer, const DurationBucketSampler& sampler,
             const WaveformAugmenter* augmenter, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch of the current epoch, or nullopt at its end; the position then moves to the
  // start of the next epoch.
  std::optional<Batch> next();
  // Position of the batch next() returns next: what a checkpoint saves.
  DurationBucketSampler::State state() const { return state_; }
  void restore(const DurationBucketSampler::State& state);

  // Padding fraction over the batches handed out so far in this epoch, and over the whole of
  // the last finished epoch.
  double epoch_padding_fraction() const;
  double last_epoch_padding_fraction() const { return last_epoch_padding_; }
  std::size_t skipped_utterances() const { return skipped_.load(); }

 private:
  Batch load_batch(std::int64_t k) const;
  Utterance load_utterance(std::size_t index, std::int64_t k, std::size_t position, double speed) const;
  void start_epoch();
  void stop_workers();
  void worker_loop();

  const Dataset& dataset_;
  const Tokenizer& tokenizer_;
  const DurationBucketSampler& sampler_;
  const WaveformAugmenter* augmenter_;
  LoaderOptions options_;

  DurationBucketSampler::State state_;
  std::vector<std::vector<std::size_t>> batches_;  // this epoch's
  std::int64_t epoch_padded_ = 0, epoch_valid_ = 0;
  double last_epoch_padding_ = 0.0;
  mutable std::atomic<std::size_t> skipped_{0};

  // Worker state, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> workers_;
  std::int64_t next_claim_ = 0;
  bool stopping_ = false;
  std::map<std::int64_t, std::pair<std::optional<Batch>, std::exception_ptr>> ready_;
};

}  // namespace sori
