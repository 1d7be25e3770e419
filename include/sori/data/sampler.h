// Duration-bucketed dynamic batching into one global sequence of micro-batches per epoch, shared
// by all data-parallel ranks (the loader shards it: rank r of W takes micro-batch i·W + r).
//
// Invariants:
// - An epoch's sequence depends only on (seed, epoch), the durations and the options: never on
//   thread counts, the rank or the world size.
// - Every utterance is in exactly one batch per epoch: nothing is repeated or dropped.
// - batches_per_epoch() is the same every epoch and a multiple of bucket_group (G).
// - Every aligned run of G micro-batches (G·k .. G·k + G-1) comes from one duration bucket, so
//   for any world size W dividing G the W micro-batches that ranks run side by side have similar
//   lengths and no rank waits long for the slowest.
// - A batch holds at most batch_size utterances, or at most batch_duration seconds.
#pragma once

#include <cstdint>
#include <vector>

namespace sori {

struct SamplerOptions {
  double batch_duration = 0.0;  // seconds per batch (sum of durations); 0: fixed batch_size
  int batch_size = 0;
  int num_buckets = 8;
  int bucket_group = 8;  // G: consecutive micro-batches drawn from one bucket (1 for evaluation)
  bool shuffle = true;
  std::uint64_t seed = 0;
};

class DurationBucketSampler {
 public:
  // Throws if a bucket has fewer utterances than its batch count rounded up to a multiple of G.
  DurationBucketSampler(std::vector<double> durations, SamplerOptions options);

  // The global sequence of `epoch`, each batch a list of utterance indices.
  std::vector<std::vector<std::size_t>> epoch_batches(std::int64_t epoch) const;
  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  std::size_t size() const { return durations_.size(); }
  const SamplerOptions& options() const { return options_; }

  // Throws unless world_size divides bucket_group, naming the values that would work.
  static void check_world_size(int bucket_group, int world_size);

 private:
  std::vector<double> durations_;
  SamplerOptions options_;
  std::vector<std::vector<std::size_t>> buckets_;  // indices sorted by duration, split by count
  std::vector<std::size_t> bucket_batches_;        // per bucket, a multiple of G
  std::int64_t batches_per_epoch_ = 0;
};

}  // namespace sori
