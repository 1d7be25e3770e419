#include <gtest/gtest.h>

#include <future>

#include "sori/core/error.h"
#include "sori/data/loader.h"
#include "test_util.h"

using namespace sori;

namespace {
struct Fixture {
  test::TempDir dir;
  Dataset dataset;
  std::unique_ptr<CharTokenizer> tokenizer;
  Fixture() {
    std::string lines;
    for (int i = 0; i < 24; ++i)
      lines += test::wav_entry(dir, "u" + std::to_string(i) + ".wav", 0.2 + 0.05 * i, i % 2 ? "ab ba" : "abba a");
    test::write_text(dir.path("m.jsonl"), lines);
    dataset = load_dataset({dir.path("m.jsonl")}, DatasetFilters{});
    tokenizer = CharTokenizer::build({dir.path("m.jsonl")}, false);
  }
  std::vector<double> durations() const {
    std::vector<double> d;
    for (const auto& e : dataset.entries) d.push_back(e.duration);
    return d;
  }
};

SamplerOptions sampler_options() {
  SamplerOptions o;
  o.batch_duration = 2.0;
  o.num_buckets = 3;
  o.seed = 9;
  o.bucket_group = 1;
  return o;
}

LoaderOptions loader_options(int workers) {
  LoaderOptions o;
  o.num_workers = workers;
  o.prefetch_batches = 2;
  o.augment = true;
  o.seed = 9;
  return o;
}

// The next n batches, as (indices, audio sum) pairs.
std::vector<std::pair<std::vector<std::size_t>, double>> take(DataLoader& loader, std::int64_t n) {
  std::vector<std::pair<std::vector<std::size_t>, double>> out;
  for (std::int64_t i = 0; i < n; ++i) {
    const auto b = loader.next();
    out.emplace_back(b.indices, b.audio.sum().item<double>());
  }
  return out;
}
}  // namespace

TEST(Collate, PadsDynamicallyWithLengths) {
  std::vector<Utterance> u(2);
  u[0].audio = {1, 2, 3};
  u[0].tokens = {4};
  u[1].audio = {5};
  u[1].tokens = {1, 2, 3};
  auto b = collate(u);
  EXPECT_EQ(b.audio.sizes(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(b.tokens.sizes(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(b.audio_lengths[1].item<std::int64_t>(), 1);
  EXPECT_EQ(b.token_lengths[0].item<std::int64_t>(), 1);
  EXPECT_EQ(b.audio[1][1].item<float>(), 0.0f);
  EXPECT_NEAR(b.padding_fraction(), 2.0 / 6.0, 1e-12);
}

TEST(Loader, SameBatchesWhateverTheWorkerCount) {
  Fixture f;
  WaveformAugmenter aug(AugmentationConfig{{0.9, 1.0, 1.1}, NoiseConfig{1.0, {5, 20}, {}, "white"}, "sinc_fastest"}, 16000);
  DurationBucketSampler sampler(f.durations(), sampler_options());
  DataLoader l0(f.dataset, *f.tokenizer, sampler, &aug, loader_options(0));
  DataLoader l3(f.dataset, *f.tokenizer, sampler, &aug, loader_options(3));
  const auto n = sampler.batches_per_epoch();
  EXPECT_EQ(take(l0, n + 2), take(l3, n + 2));  // across the epoch boundary too
  EXPECT_EQ(l0.position(), n + 2);
}

TEST(Loader, RanksShareTheGlobalSequenceAndDrawAsOneProcess) {
  Fixture f;
  WaveformAugmenter aug(AugmentationConfig{{0.9, 1.0, 1.1}, NoiseConfig{1.0, {5, 20}, {}, "white"}, "sinc_fastest"}, 16000);
  DurationBucketSampler sampler(f.durations(), sampler_options());
  const auto n = sampler.batches_per_epoch();
  DataLoader one(f.dataset, *f.tokenizer, sampler, &aug, loader_options(1));
  const auto all = take(one, 2 * n);  // two epochs: the tail of the first runs into the second
  for (int world : {2, 3}) {
    for (int rank = 0; rank < world; ++rank) {
      auto o = loader_options(1);
      o.rank = rank;
      o.world_size = world;
      DataLoader shard(f.dataset, *f.tokenizer, sampler, &aug, o);
      const auto mine = take(shard, (2 * n - rank + world - 1) / world);
      for (std::size_t i = 0; i < mine.size(); ++i)
        EXPECT_EQ(mine[i], all[i * world + rank]) << "world " << world << " rank " << rank << " batch " << i;
      EXPECT_EQ(shard.position(), static_cast<std::int64_t>(mine.size()) * world);
    }
  }
}

TEST(Loader, RestoredPositionContinuesWithTheNextBatch) {
  Fixture f;
  DurationBucketSampler sampler(f.durations(), sampler_options());
  const auto n = sampler.batches_per_epoch();
  DataLoader straight(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(2));
  const auto all = take(straight, n + 3);

  DataLoader resumed(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(2));
  resumed.restore(n - 1);
  const auto rest = take(resumed, 4);
  for (std::size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i], all[static_cast<std::size_t>(n) - 1 + i]);
  auto o = loader_options(1);
  o.world_size = 2;
  DataLoader two(f.dataset, *f.tokenizer, sampler, nullptr, o);
  EXPECT_THROW(two.restore(3), Error);  // a position must be a multiple of the world size
}

TEST(Loader, ReportsPaddingAndTokens) {
  Fixture f;
  DurationBucketSampler sampler(f.durations(), sampler_options());
  DataLoader loader(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(1));
  auto b = loader.next();
  EXPECT_EQ(b.tokens.size(0), b.audio.size(0));
  EXPECT_GT(b.token_lengths.min().item<std::int64_t>(), 0);
  EXPECT_GE(loader.epoch_padding_fraction(), 0.0);
  EXPECT_LT(loader.epoch_padding_fraction(), 0.5);
}

TEST(Loader, DecodeFailureNamesManifestLine) {
  Fixture f;
  f.dataset.entries[0].audio_filepath = f.dir.path("vanished.wav");
  SamplerOptions so = sampler_options();
  so.batch_duration = 0;
  so.batch_size = 100;
  so.num_buckets = 1;
  DurationBucketSampler sampler(f.durations(), so);
  DataLoader loader(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(1));
  try {
    loader.next();
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.jsonl:1"), std::string::npos) << e.what();
  }
  // Asking again gives the same error, not a wait for a batch no worker makes again.
  auto again = std::async(std::launch::async, [&] { return test::error_text([&] { loader.next(); }); });
  ASSERT_EQ(again.wait_for(std::chrono::seconds(10)), std::future_status::ready) << "next() hangs after a failure";
  EXPECT_NE(again.get().find("m.jsonl:1"), std::string::npos);
  LoaderOptions skip = loader_options(1);
  skip.skip_invalid = true;
  DataLoader tolerant(f.dataset, *f.tokenizer, sampler, nullptr, skip);
  auto b = tolerant.next();
  EXPECT_EQ(b.audio.size(0), 23);
  EXPECT_EQ(tolerant.skipped_utterances(), 1u);
}
