// Duration-bucketed dynamic batching, sharded across data-parallel ranks.
//
// Invariants:
// - An epoch's batches depend only on (seed, epoch) and the durations: never on thread counts.
// - Every rank gets exactly batches_per_epoch() batches; together the ranks cover every
//   utterance of the epoch (the batch list is padded by repeating its first batches up to a
//   multiple of world_size, so no rank runs dry first).
// - The position within training is the small State (epoch, index); restoring it resumes with
//   exactly the next batch.
#pragma once

#include <cstdint>
#include <vector>

namespace sori {

struct SamplerOptions {
  double batch_duration = 0.0;  // seconds per batch (sum of durations); 0: fixed batch_size
  int batch_size = 0;
  int num_buckets = 8;
  bool shuffle = true;
  std::uint64_t seed = 0;
  int rank = 0;
  int world_size = 1;
};

class DurationBucketSampler {
 public:
  struct State {
    std::int64_t epoch = 0;
    std::int64_t index = 0;  // next batch within this rank's epoch
    bool operator==(const State& o) const { return epoch == o.epoch && index == o.index; }
  };

  DurationBucketSampler(std::vector<double> durations, SamplerOptions options);

  // This rank's batches for `epoch`, each a list of utterance indices.
  std::vector<std::vector<std::size_t>> epoch_batches(std::int64_t epoch) const;
  std::int64_t batches_per_epoch() const { return batches_per_rank_; }
  std::size_t size() const { return durations_.size(); }
  const SamplerOptions& options() const { return options_; }

 private:
  std::vector<std::vector<std::size_t>> all_batches(std::int64_t epoch) const;

  std::vector<double> durations_;
  SamplerOptions options_;
  std::vector<std::vector<std::size_t>> buckets_;  // indices sorted by duration, split by count
  std::int64_t batches_per_rank_ = 0;
};

}  // namespace sori
