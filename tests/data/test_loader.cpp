#include <gtest/gtest.h>

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

// All batches of one epoch, as (indices, audio sum) pairs.
std::vector<std::pair<std::vector<std::size_t>, double>> drain(DataLoader& loader) {
  std::vector<std::pair<std::vector<std::size_t>, double>> out;
  while (auto b = loader.next()) out.emplace_back(b->indices, b->audio.sum().item<double>());
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
  auto a = drain(l0), b = drain(l3);
  ASSERT_EQ(a.size(), static_cast<std::size_t>(sampler.batches_per_epoch()));
  EXPECT_EQ(a, b);
  EXPECT_EQ(l0.state().epoch, 1);
  EXPECT_EQ(l0.state().index, 0);
}

TEST(Loader, RestoredPositionContinuesWithTheNextBatch) {
  Fixture f;
  DurationBucketSampler sampler(f.durations(), sampler_options());
  DataLoader straight(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(2));
  drain(straight);
  auto epoch1 = drain(straight);

  DataLoader first(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(2));
  drain(first);
  first.next();
  first.next();
  const auto saved = first.state();
  EXPECT_EQ(saved.epoch, 1);
  EXPECT_EQ(saved.index, 2);

  DataLoader resumed(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(2));
  resumed.restore(saved);
  auto rest = drain(resumed);
  ASSERT_EQ(rest.size(), epoch1.size() - 2);
  for (std::size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i], epoch1[i + 2]);
}

TEST(Loader, ReportsPaddingAndTokens) {
  Fixture f;
  DurationBucketSampler sampler(f.durations(), sampler_options());
  DataLoader loader(f.dataset, *f.tokenizer, sampler, nullptr, loader_options(1));
  auto b = loader.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->tokens.size(0), b->audio.size(0));
  EXPECT_GT(b->token_lengths.min().item<std::int64_t>(), 0);
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
  LoaderOptions skip = loader_options(1);
  skip.skip_invalid = true;
  DataLoader tolerant(f.dataset, *f.tokenizer, sampler, nullptr, skip);
  auto b = tolerant.next();
  ASSERT_TRUE(b);
  EXPECT_EQ(b->audio.size(0), 23);
  EXPECT_EQ(tolerant.skipped_utterances(), 1u);
}
