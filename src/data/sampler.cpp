#include "sori/data/sampler.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "sori/core/error.h"
#include "sori/core/rng.h"

namespace sori {

DurationBucketSampler::DurationBucketSampler(std::vector<double> durations, SamplerOptions options)
    : durations_(std::move(durations)), options_(options) {
  SORI_CHECK(options_.batch_duration > 0 || options_.batch_size > 0,
             "sampler: set batch_duration (seconds) or batch_size, found neither");
  SORI_CHECK(options_.world_size >= 1 && options_.rank >= 0 && options_.rank < options_.world_size,
             "sampler: expected 0 <= rank < world_size, found rank ", options_.rank, " of ", options_.world_size);
  SORI_CHECK(!durations_.empty(), "sampler: the dataset is empty");
  const int nb = std::max(1, std::min<int>(options_.num_buckets, static_cast<int>(durations_.size())));
  std::vector<std::size_t> order(durations_.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return durations_[a] < durations_[b]; });
  // Equal-count buckets: each holds about the same number of utterances, so bucket boundaries
  // follow the duration distribution (quantiles).
  for (int b = 0; b < nb; ++b) {
    const std::size_t lo = order.size() * b / nb, hi = order.size() * (b + 1) / nb;
    buckets_.emplace_back(order.begin() + lo, order.begin() + hi);
  }
  const auto total = static_cast<std::int64_t>(all_batches(0).size());
  batches_per_rank_ = (total + options_.world_size - 1) / options_.world_size;
}

std::vector<std::vector<std::size_t>> DurationBucketSampler::all_batches(std::int64_t epoch) const {
  std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(epoch), 0x5A3B1E}));
  std::vector<std::vector<std::size_t>> batches;
  for (auto bucket : buckets_) {
    if (options_.shuffle) shuffle_in_place(bucket, rng);
    // The number of batches per bucket is fixed (not greedy packing of the shuffled order), so
    // every epoch has the same batch count: capacity is what fits when all items are as long as
    // the bucket's longest, which also bounds every batch by batch_duration.
    std::size_t capacity = static_cast<std::size_t>(std::max(1, options_.batch_size));
    if (options_.batch_duration > 0) {
      double longest = 0;
      for (std::size_t idx : bucket) longest = std::max(longest, durations_[idx]);
      capacity = std::max<std::size_t>(1, static_cast<std::size_t>(options_.batch_duration / longest));
    }
    const std::size_t n = (bucket.size() + capacity - 1) / capacity;
    for (std::size_t b = 0; b < n; ++b)
      batches.emplace_back(bucket.begin() + bucket.size() * b / n, bucket.begin() + bucket.size() * (b + 1) / n);
  }
  if (options_.shuffle) shuffle_in_place(batches, rng);
  return batches;
}

std::vector<std::vector<std::size_t>> DurationBucketSampler::epoch_batches(std::int64_t epoch) const {
  auto all = all_batches(epoch);
  const std::size_t padded = static_cast<std::size_t>(batches_per_rank_) * options_.world_size;
  for (std::size_t i = 0; all.size() < padded; ++i) all.push_back(all[i]);
  std::vector<std::vector<std::size_t>> mine;
  for (std::size_t i = static_cast<std::size_t>(options_.rank); i < all.size(); i += options_.world_size)
    mine.push_back(std::move(all[i]));
  return mine;
}

}  // namespace sori
