#include <gtest/gtest.h>

#include <numeric>
#include <random>
#include <set>

#include "sori/data/sampler.h"

using namespace sori;

namespace {
std::vector<double> random_durations(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(0.5, 16.0);
  std::vector<double> out(n);
  for (auto& x : out) x = d(rng);
  return out;
}
SamplerOptions options(int rank = 0, int world = 1) {
  SamplerOptions o;
  o.batch_duration = 60;
  o.num_buckets = 8;
  o.seed = 1234;
  o.rank = rank;
  o.world_size = world;
  return o;
}
}  // namespace

TEST(Sampler, DeterministicFromSeedAndEpoch) {
  auto d = random_durations(500, 1);
  DurationBucketSampler a(d, options()), b(d, options());
  EXPECT_EQ(a.epoch_batches(3), b.epoch_batches(3));
  EXPECT_NE(a.epoch_batches(3), a.epoch_batches(4));  // reshuffled per epoch
}

TEST(Sampler, BatchesRespectDurationBudgetAndCoverEpochOnce) {
  auto d = random_durations(500, 2);
  DurationBucketSampler s(d, options());
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    auto batches = s.epoch_batches(epoch);
    EXPECT_EQ(static_cast<std::int64_t>(batches.size()), s.batches_per_epoch());  // same count every epoch
    std::multiset<std::size_t> seen;
    for (const auto& b : batches) {
      double sum = 0;
      for (auto i : b) sum += d[i];
      EXPECT_LE(sum, 60.0 + 1e-9);
      seen.insert(b.begin(), b.end());
    }
    EXPECT_EQ(seen.size(), d.size());
    EXPECT_EQ(std::set<std::size_t>(seen.begin(), seen.end()).size(), d.size());
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

TEST(Sampler, FixedBatchSizeMode) {
  auto d = random_durations(103, 4);
  SamplerOptions o = options();
  o.batch_duration = 0;
  o.batch_size = 10;
  DurationBucketSampler s(d, o);
  for (const auto& b : s.epoch_batches(0)) EXPECT_LE(b.size(), 10u);
}

TEST(Sampler, ShardsHaveEqualCountsAndCoverTheEpoch) {
  auto d = random_durations(777, 5);
  for (int world : {2, 3, 4, 8}) {
    std::set<std::size_t> covered;
    std::int64_t count = -1;
    for (int rank = 0; rank < world; ++rank) {
      DurationBucketSampler s(d, options(rank, world));
      auto batches = s.epoch_batches(2);
      if (count < 0) count = static_cast<std::int64_t>(batches.size());
      EXPECT_EQ(static_cast<std::int64_t>(batches.size()), count) << "world " << world << " rank " << rank;
      EXPECT_EQ(s.batches_per_epoch(), count);
      for (const auto& b : batches) covered.insert(b.begin(), b.end());
    }
    EXPECT_EQ(covered.size(), d.size()) << "world " << world;
  }
}

TEST(Sampler, RejectsBadOptions) {
  auto d = random_durations(10, 6);
  SamplerOptions o = options(2, 2);
  EXPECT_THROW(DurationBucketSampler(d, o), std::exception);
  o = options();
  o.batch_duration = 0;
  EXPECT_THROW(DurationBucketSampler(d, o), std::exception);
}
