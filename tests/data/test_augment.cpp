#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "sori/data/augment.h"
#include "test_util.h"

using namespace sori;

namespace {
double power(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return s / x.size();
}
}  // namespace

TEST(Augment, NoiseHitsRequestedSnr) {
  auto signal = test::tone(1.0, 16000);
  const auto clean = signal;
  std::mt19937_64 rng(1);
  auto noise = generate_noise(signal.size(), "white", rng);
  mix_at_snr(signal, noise, 10.0);
  std::vector<float> added(signal.size());
  for (std::size_t i = 0; i < signal.size(); ++i) added[i] = signal[i] - clean[i];
  EXPECT_NEAR(10.0 * std::log10(power(clean) / power(added)), 10.0, 1e-3);
}

TEST(Augment, PinkNoiseHasUnitPowerAndMoreLowFrequency) {
  std::mt19937_64 rng(3);
  auto pink = generate_noise(1 << 15, "pink", rng);
  EXPECT_NEAR(power(pink), 1.0, 1e-3);
  // Lag-1 autocorrelation: white ~0, pink clearly positive.
  double ac = 0;
  for (std::size_t i = 1; i < pink.size(); ++i) ac += pink[i] * pink[i - 1];
  EXPECT_GT(ac / pink.size(), 0.3);
}

TEST(Augment, DeterministicGivenSeed) {
  AugmentationConfig c;
  c.speed_perturb = {0.9, 1.0, 1.1};
  c.noise.prob = 1.0;
  WaveformAugmenter aug(c, 16000);
  EXPECT_DOUBLE_EQ(aug.max_speed(), 1.1);
  auto run = [&](std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    auto x = test::tone(0.5, 16000);
    double speed = aug.pick_speed(rng);
    aug.add_noise(x, rng);
    return std::make_pair(speed, x);
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42).second, run(43).second);
}

TEST(Augment, NoiseFromManifestIsUsed) {
  test::TempDir dir;
  test::write_text(dir.path("noise.jsonl"), test::wav_entry(dir, "n.wav", 0.3, "", 16000));
  AugmentationConfig c;
  c.noise.prob = 1.0;
  c.noise.snr_db = {0.0, 0.0};
  c.noise.manifest_filepath = {dir.path("noise.jsonl")};
  WaveformAugmenter aug(c, 16000);
  std::vector<float> x(16000, 0.0f);
  x[0] = 1.0f;  // non-silent
  std::mt19937_64 rng(5);
  aug.add_noise(x, rng);
  // The 0.3 s tone is tiled over the whole second: the end carries noise too.
  double tail = 0;
  for (std::size_t i = 15000; i < 16000; ++i) tail += std::abs(x[i]);
  EXPECT_GT(tail, 0.0);
}
