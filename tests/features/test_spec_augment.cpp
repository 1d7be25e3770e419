#include <gtest/gtest.h>
#include <torch/torch.h>

#include "sori/features/spec_augment.h"

using namespace sori;

TEST(SpecAugment, MasksStayWithinLengths) {
  SpecAugmentConfig c;  // 2 freq masks of <= 27, 10 time masks of <= 5% of length
  c.time_masks = 10;
  auto x = torch::ones({3, 80, 200});
  std::vector<std::int64_t> lengths = {200, 120, 37};
  for (int b = 0; b < 3; ++b) x[b].narrow(1, lengths[b], 200 - lengths[b]).fill_(7.0);  // padding marker
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    std::mt19937_64 rng(seed);
    auto y = spec_augment(x, lengths, c, rng);
    for (int b = 0; b < 3; ++b) {
      auto pad = y[b].narrow(1, lengths[b], 200 - lengths[b]);
      EXPECT_TRUE(torch::all(pad == 7.0).item<bool>()) << "padding touched, seed " << seed;
    }
  }
}

TEST(SpecAugment, MaskWidthsFollowConfig) {
  SpecAugmentConfig c;
  c.freq_masks = 1;
  c.freq_width = 10;
  c.time_masks = 0;
  auto x = torch::ones({1, 80, 100});
  std::size_t masked_any = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    std::mt19937_64 rng(seed);
    auto y = spec_augment(x, {100}, c, rng);
    // A frequency mask covers whole rows, at most 10 of them.
    auto rows = (y[0] == 0).all(1).sum().item<std::int64_t>();
    EXPECT_LE(rows, 10);
    EXPECT_EQ((y[0] == 0).sum().item<std::int64_t>(), rows * 100);
    masked_any += rows > 0;
  }
  EXPECT_GT(masked_any, 150u);

  // Integer time_width: spans of at most that many frames.
  SpecAugmentConfig t;
  t.freq_masks = 0;
  t.time_masks = 1;
  t.time_width = FractionOrCount::count(7);
  for (std::uint64_t seed = 0; seed < 100; ++seed) {
    std::mt19937_64 rng(seed);
    auto y = spec_augment(x, {100}, t, rng);
    EXPECT_LE((y[0] == 0).all(0).sum().item<std::int64_t>(), 7);
  }
}

TEST(SpecAugment, DeterministicGivenSeed) {
  SpecAugmentConfig c;
  auto x = torch::randn({2, 80, 150});
  std::mt19937_64 r1(3), r2(3);
  EXPECT_TRUE(torch::equal(spec_augment(x, {150, 90}, c, r1), spec_augment(x, {150, 90}, c, r2)));
}
