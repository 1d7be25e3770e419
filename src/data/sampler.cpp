#include "sori/data/sampler.h"

#include <algorithm>
#include <iomanip>
#include <numeric>
#include <random>
#include <sstream>
#include <string>

#include "sori/core/error.h"
#include "sori/core/rng.h"

namespace sori {
namespace {

// "1, 2, 4 or 8"
std::string join_or(const std::vector<int>& v) {
  std::ostringstream os;
  for (std::size_t i = 0; i < v.size(); ++i) os << (i == 0 ? "" : i + 1 == v.size() ? " or " : ", ") << v[i];
  return os.str();
}

// Bucket b of n is the b-th equal-count slice of the utterances sorted by duration, so bucket
// boundaries follow the duration distribution (quantiles).
std::pair<std::size_t, std::size_t> bucket_range(std::size_t size, int b, int n) {
  return {size * b / n, size * (b + 1) / n};
}

// Batches per bucket. The count is fixed (not greedy packing of the shuffled order) so every
// epoch has the same number: capacity is what fits when all items are as long as the bucket's
// longest, which also bounds every batch by batch_duration. Rounding the count up to a multiple
// of `group` only makes batches smaller, so the bound still holds.
std::vector<std::size_t> batch_counts(const std::vector<double>& durations, const std::vector<std::size_t>& sorted,
                                      const SamplerOptions& o, int num_buckets, int group) {
  std::vector<std::size_t> counts;
  for (int b = 0; b < num_buckets; ++b) {
    const auto [lo, hi] = bucket_range(sorted.size(), b, num_buckets);
    const std::size_t size = hi - lo;
    std::size_t capacity = static_cast<std::size_t>(std::max(1, o.batch_size));
    if (o.batch_duration > 0) {
      // Clamped to the bucket's size in double, so a zero duration cannot overflow the cast.
      const double fits = std::min(static_cast<double>(size), o.batch_duration / durations[sorted[hi - 1]]);
      capacity = static_cast<std::size_t>(std::max(1.0, fits));
    }
    const std::size_t n = (size + capacity - 1) / capacity;
    counts.push_back((n + group - 1) / group * group);
  }
  return counts;
}

// The first bucket with fewer utterances than batches, or -1.
int first_short_bucket(const std::vector<std::size_t>& counts, std::size_t size) {
  const int n = static_cast<int>(counts.size());
  for (int b = 0; b < n; ++b) {
    const auto [lo, hi] = bucket_range(size, b, n);
    if (hi - lo < counts[b]) return b;
  }
  return -1;
}

// Says which bucket is too small and the largest bucket_group and num_buckets that would fit.
[[noreturn]] void fail_short_bucket(const std::vector<double>& durations, const std::vector<std::size_t>& sorted,
                                    const SamplerOptions& o, int num_buckets, int b, std::size_t batches) {
  const int group = o.bucket_group;
  const auto [lo, hi] = bucket_range(sorted.size(), b, num_buckets);
  // bucket_group 1 always fits: a batch count never exceeds the bucket's size.
  int max_group = group - 1;
  while (first_short_bucket(batch_counts(durations, sorted, o, num_buckets, max_group), sorted.size()) >= 0) --max_group;
  int max_buckets = num_buckets - 1;
  while (max_buckets >= 1 && first_short_bucket(batch_counts(durations, sorted, o, max_buckets, group), sorted.size()) >= 0)
    --max_buckets;
  // Rounding up is not monotonic in G, so name the values that fit rather than bounds.
  std::ostringstream fix;
  fix << "the largest values that fit are trainer.bucket_group = " << max_group
      << " (it must stay a multiple of the world size)";
  if (max_buckets >= 1) fix << " or model.train_ds.num_buckets = " << max_buckets;
  SORI_FAIL("sampler: duration bucket ", b + 1, " of ", num_buckets, " (", std::fixed, std::setprecision(2),
            durations[sorted[lo]], " to ", durations[sorted[hi - 1]], " s) holds ", hi - lo,
            " utterances, fewer than its ", batches,
            " batches: batch counts are rounded up to a multiple of trainer.bucket_group = ", group,
            " so that ranks stepping together draw from one bucket; ", fix.str());
}

}  // namespace

DurationBucketSampler::DurationBucketSampler(std::vector<double> durations, SamplerOptions options)
    : durations_(std::move(durations)), options_(options) {
  SORI_CHECK(options_.batch_duration > 0 || options_.batch_size > 0,
             "sampler: set batch_duration (seconds) or batch_size, found neither");
  SORI_CHECK(options_.num_buckets >= 1, "sampler: expected num_buckets >= 1, found ", options_.num_buckets);
  SORI_CHECK(options_.bucket_group >= 1, "sampler: expected trainer.bucket_group >= 1, found ", options_.bucket_group);
  SORI_CHECK(!durations_.empty(), "sampler: the dataset is empty");
  const int nb = std::min<int>(options_.num_buckets, static_cast<int>(durations_.size()));
  std::vector<std::size_t> sorted(durations_.size());
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](std::size_t a, std::size_t b) { return durations_[a] < durations_[b]; });

  bucket_batches_ = batch_counts(durations_, sorted, options_, nb, options_.bucket_group);
  if (const int b = first_short_bucket(bucket_batches_, sorted.size()); b >= 0)
    fail_short_bucket(durations_, sorted, options_, nb, b, bucket_batches_[b]);
  for (int b = 0; b < nb; ++b) {
    const auto [lo, hi] = bucket_range(sorted.size(), b, nb);
    buckets_.emplace_back(sorted.begin() + lo, sorted.begin() + hi);
  }
  batches_per_epoch_ =
      static_cast<std::int64_t>(std::accumulate(bucket_batches_.begin(), bucket_batches_.end(), std::size_t{0}));
}

std::vector<std::vector<std::size_t>> DurationBucketSampler::epoch_batches(std::int64_t epoch) const {
  std::mt19937_64 rng(mix_seed({options_.seed, static_cast<std::uint64_t>(epoch), 0x5A3B1E}));
  std::vector<std::vector<std::size_t>> by_bucket;
  by_bucket.reserve(static_cast<std::size_t>(batches_per_epoch_));
  for (std::size_t b = 0; b < buckets_.size(); ++b) {
    auto bucket = buckets_[b];
    if (options_.shuffle) shuffle_in_place(bucket, rng);
    const std::size_t n = bucket_batches_[b], size = bucket.size();
    for (std::size_t k = 0; k < n; ++k)
      by_bucket.emplace_back(bucket.begin() + size * k / n, bucket.begin() + size * (k + 1) / n);
  }
  // Each bucket's count is a multiple of G, so groups of G never straddle two buckets.
  const auto group = static_cast<std::size_t>(options_.bucket_group);
  std::vector<std::size_t> groups(by_bucket.size() / group);
  std::iota(groups.begin(), groups.end(), 0);
  if (options_.shuffle) shuffle_in_place(groups, rng);
  std::vector<std::vector<std::size_t>> sequence;
  sequence.reserve(by_bucket.size());
  for (std::size_t g : groups)
    for (std::size_t k = 0; k < group; ++k) sequence.push_back(std::move(by_bucket[g * group + k]));
  return sequence;
}

void DurationBucketSampler::check_world_size(int bucket_group, int world_size) {
  SORI_CHECK(bucket_group >= 1, "expected trainer.bucket_group >= 1, found ", bucket_group);
  SORI_CHECK(world_size >= 1, "expected a world size >= 1, found ", world_size);
  if (bucket_group % world_size == 0) return;
  std::vector<int> sizes, groups;
  for (int d = 1; d <= bucket_group; ++d)
    if (bucket_group % d == 0) sizes.push_back(d);
  // Four multiples of the world size around the current bucket_group.
  for (int k = std::max(1, bucket_group / world_size - 1), i = 0; i < 4; ++k, ++i) groups.push_back(k * world_size);
  SORI_FAIL("trainer.bucket_group = ", bucket_group, " is not a multiple of the world size ", world_size,
            ": the micro-batches that the ranks run side by side must come from one group of bucket_group; "
            "with bucket_group ", bucket_group, " run on ", join_or(sizes), " ranks, or with ", world_size,
            " ranks set trainer.bucket_group to ", join_or(groups));
}

}  // namespace sori
