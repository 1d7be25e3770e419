#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <numeric>
#include <random>
#include <set>

#include "sori/core/error.h"
#include "sori/data/sampler.h"
#include "test_util.h"

using namespace sori;

namespace {
std::vector<double> random_durations(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(0.5, 16.0);
  std::vector<double> out(n);
  for (auto& x : out) x = d(rng);
  return out;
}

SamplerOptions options(int group = 8) {
  SamplerOptions o;
  o.batch_duration = 60;
  o.num_buckets = 8;
  o.bucket_group = group;
  o.seed = 1234;
  return o;
}

// The bucket of every utterance, by the documented rule: equal-count slices of the utterances
// sorted by duration.
std::vector<int> bucket_of(const std::vector<double>& d, int num_buckets) {
  std::vector<std::size_t> sorted(d.size());
  std::iota(sorted.begin(), sorted.end(), 0);
  std::stable_sort(sorted.begin(), sorted.end(), [&](std::size_t a, std::size_t b) { return d[a] < d[b]; });
  std::vector<int> out(d.size());
  for (int b = 0; b < num_buckets; ++b)
    for (std::size_t r = d.size() * b / num_buckets; r < d.size() * (b + 1) / num_buckets; ++r) out[sorted[r]] = b;
  return out;
}

// The bucket a batch comes from; fails the test if its utterances span several.
int batch_bucket(const std::vector<std::size_t>& batch, const std::vector<int>& bucket) {
  const int b = bucket[batch.front()];
  for (auto i : batch) EXPECT_EQ(bucket[i], b);
  return b;
}

}  // namespace

TEST(Sampler, DeterministicFromSeedAndEpoch) {
  auto d = random_durations(500, 1);
  DurationBucketSampler a(d, options()), b(d, options());
  EXPECT_EQ(a.epoch_batches(3), b.epoch_batches(3));
  EXPECT_NE(a.epoch_batches(3), a.epoch_batches(4));  // reshuffled per epoch
  SamplerOptions other = options();
  other.seed = 99;
  EXPECT_NE(DurationBucketSampler(d, other).epoch_batches(3), a.epoch_batches(3));
}

TEST(Sampler, CoversEveryUtteranceOnceWithinBudgetAndConstantCount) {
  auto d = random_durations(500, 2);
  DurationBucketSampler s(d, options());
  EXPECT_EQ(s.batches_per_epoch() % 8, 0);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    auto batches = s.epoch_batches(epoch);
    EXPECT_EQ(static_cast<std::int64_t>(batches.size()), s.batches_per_epoch());
    std::multiset<std::size_t> seen;
    for (const auto& b : batches) {
      EXPECT_FALSE(b.empty());
      double sum = 0;
      for (auto i : b) sum += d[i];
      EXPECT_LE(sum, 60.0 + 1e-9);
      seen.insert(b.begin(), b.end());
    }
    EXPECT_EQ(seen.size(), d.size());  // nothing repeated ...
    EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), d.size());  // ... nothing dropped
  }
}

TEST(Sampler, BucketsKeepPaddingLow) {
  auto d = random_durations(2000, 3);
  DurationBucketSampler s(d, options());
  double padded = 0, valid = 0;
  for (const auto& b : s.epoch_batches(0)) {
    double mx = 0;
    for (auto i : b) { mx = std::max(mx, d[i]); valid += d[i]; }
    padded += mx * b.size();
  }
  EXPECT_LT(1.0 - valid / padded, 0.10);
}

TEST(Sampler, AlignedGroupsComeFromOneBucketAndShardEvenly) {
  auto d = random_durations(777, 5);
  const auto bucket = bucket_of(d, 8);
  DurationBucketSampler s(d, options(8));
  const auto batches = s.epoch_batches(2);
  std::vector<int> group_buckets;
  for (std::size_t g = 0; g < batches.size(); g += 8) {
    const int b = batch_bucket(batches[g], bucket);
    for (std::size_t k = g; k < g + 8; ++k) EXPECT_EQ(batch_bucket(batches[k], bucket), b) << "micro-batch " << k;
    group_buckets.push_back(b);
  }
  EXPECT_FALSE(std::is_sorted(group_buckets.begin(), group_buckets.end()));  // groups of all buckets mixed

  // What the loader does: rank r of W takes micro-batch i·W + r.
  for (int world : {1, 2, 4, 8}) {
    std::set<std::size_t> covered;
    for (std::size_t i = 0; i < batches.size(); i += world) {
      const int b = batch_bucket(batches[i], bucket);
      for (int r = 0; r < world; ++r) {
        EXPECT_EQ(batch_bucket(batches[i + r], bucket), b) << "world " << world << " micro-step " << i / world;
        covered.insert(batches[i + r].begin(), batches[i + r].end());
      }
    }
    EXPECT_EQ(covered.size(), d.size()) << "world " << world;
  }
}

TEST(Sampler, WithoutShuffleKeepsBucketOrder) {
  auto d = random_durations(300, 6);
  SamplerOptions o = options(4);
  o.shuffle = false;
  DurationBucketSampler s(d, o);
  const auto bucket = bucket_of(d, 8);
  std::vector<int> order;
  for (const auto& b : s.epoch_batches(0)) order.push_back(batch_bucket(b, bucket));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(s.epoch_batches(0), s.epoch_batches(1));
}

TEST(Sampler, BatchCountRoundedUpToGroupWithSmallerBatches) {
  // One bucket of 100 one-second utterances, 10 s per batch: 10 batches of 10, rounded up to 16
  // batches of 6 or 7.
  std::vector<double> d(100, 1.0);
  SamplerOptions o = options(8);
  o.batch_duration = 10;
  o.num_buckets = 1;
  DurationBucketSampler s(d, o);
  EXPECT_EQ(s.batches_per_epoch(), 16);
  for (const auto& b : s.epoch_batches(0)) {
    EXPECT_GE(b.size(), 6u);
    EXPECT_LE(b.size(), 7u);
  }
  o.bucket_group = 1;
  EXPECT_EQ(DurationBucketSampler(d, o).batches_per_epoch(), 10);
}

TEST(Sampler, FixedBatchSizeMode) {
  auto d = random_durations(103, 4);
  SamplerOptions o = options(4);
  o.batch_duration = 0;
  o.batch_size = 10;
  o.num_buckets = 2;
  DurationBucketSampler s(d, o);
  EXPECT_EQ(s.batches_per_epoch(), 16);  // buckets of 51 and 52: 6 batches each, rounded up to 8
  std::set<std::size_t> seen;
  for (const auto& b : s.epoch_batches(0)) {
    EXPECT_LE(b.size(), 10u);
    seen.insert(b.begin(), b.end());
  }
  EXPECT_EQ(seen.size(), d.size());
}

TEST(Sampler, TooSmallBucketSaysWhatWouldFit) {
  // Three buckets of 8 utterances, one batch each, rounded up to 16 batches: more than 8.
  std::vector<double> d(24);
  for (std::size_t i = 0; i < d.size(); ++i) d[i] = 1.0 + 0.1 * static_cast<double>(i);
  SamplerOptions o = options(16);
  o.batch_duration = 0;
  o.batch_size = 100;
  o.num_buckets = 3;
  const std::string msg = test::error_text([&] { (void)DurationBucketSampler(d, o); });
  for (const char* part : {"bucket 1 of 3", "holds 8 utterances", "16 batches", "trainer.bucket_group = 16",
                           "trainer.bucket_group = 8", "model.train_ds.num_buckets = 1"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;

  // Five utterances cannot fill 8 batches however they are bucketed.
  d.resize(5);
  o.bucket_group = 8;
  const std::string tiny = test::error_text([&] { (void)DurationBucketSampler(d, o); });
  EXPECT_NE(tiny.find("trainer.bucket_group = 1"), std::string::npos) << tiny;
  EXPECT_EQ(tiny.find("num_buckets ="), std::string::npos) << tiny;
}

TEST(Sampler, CheckWorldSizeAcceptsDivisorsOfTheGroup) {
  for (int world : {1, 2, 4, 8}) EXPECT_NO_THROW(DurationBucketSampler::check_world_size(8, world)) << world;
  for (int world : {3, 5, 6, 7, 16}) EXPECT_THROW(DurationBucketSampler::check_world_size(8, world), Error) << world;
  const std::string msg = test::error_text([] { DurationBucketSampler::check_world_size(8, 3); });
  for (const char* part : {"trainer.bucket_group = 8", "world size 3", "1, 2, 4 or 8 ranks", "3, 6, 9 or 12"})
    EXPECT_NE(msg.find(part), std::string::npos) << part << " not in: " << msg;
  const std::string big = test::error_text([] { DurationBucketSampler::check_world_size(64, 3); });
  EXPECT_NE(big.find("60, 63, 66 or 69"), std::string::npos) << big;
}

TEST(Sampler, RejectsBadOptions) {
  auto d = random_durations(10, 6);
  SamplerOptions o = options();
  o.batch_duration = 0;
  EXPECT_THROW(DurationBucketSampler(d, o), Error);
  o = options();
  o.bucket_group = 0;
  EXPECT_THROW(DurationBucketSampler(d, o), Error);
  o = options();
  o.num_buckets = 0;
  EXPECT_THROW(DurationBucketSampler(d, o), Error);
  EXPECT_THROW(DurationBucketSampler({}, options()), Error);
  EXPECT_THROW(DurationBucketSampler::check_world_size(0, 1), Error);
  EXPECT_THROW(DurationBucketSampler::check_world_size(8, 0), Error);
}
