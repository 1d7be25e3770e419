#include "sori/data/augment.h"

#include <algorithm>
#include <cmath>

#include "sori/core/error.h"
#include "sori/core/rng.h"
#include "sori/data/audio.h"

namespace sori {

WaveformAugmenter::WaveformAugmenter(const AugmentationConfig& config, int sample_rate)
    : config_(config), sample_rate_(sample_rate) {
  for (double s : config_.speed_perturb)
    SORI_CHECK(s > 0.0, "model.augmentation.speed_perturb: factors must be > 0, found ", s);
  SORI_CHECK(config_.noise.snr_db.size() == 2 && config_.noise.snr_db[0] <= config_.noise.snr_db[1],
             "model.augmentation.noise.snr_db: expected [low, high], found ", config_.noise.snr_db.size(),
             " values");
  SORI_CHECK(config_.noise.color == "white" || config_.noise.color == "pink",
             "model.augmentation.noise.color: expected white or pink, found '", config_.noise.color, "'");
  for (const auto& m : config_.noise.manifest_filepath) {
    auto entries = read_manifest(m);
    noise_files_.insert(noise_files_.end(), entries.begin(), entries.end());
  }
}

double WaveformAugmenter::pick_speed(std::mt19937_64& rng) const {
  if (config_.speed_perturb.empty()) return 1.0;
  return config_.speed_perturb[uniform_below(rng, config_.speed_perturb.size())];
}

double WaveformAugmenter::max_speed() const {
  if (config_.speed_perturb.empty()) return 1.0;
  return *std::max_element(config_.speed_perturb.begin(), config_.speed_perturb.end());
}

std::vector<float> generate_noise(std::size_t n, const std::string& color, std::mt19937_64& rng) {
  std::vector<float> out(n);
  if (color == "white") {
    for (auto& x : out) x = static_cast<float>(standard_normal(rng));
    return out;
  }
  double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  double sq = 0;
  for (auto& x : out) {
    const double w = standard_normal(rng);
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.96900 * b2 + w * 0.1538520;
    b3 = 0.86650 * b3 + w * 0.3104856;
    b4 = 0.55000 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.0168980;
    const double pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
    x = static_cast<float>(pink);
    sq += pink * pink;
  }
  const float scale = n ? static_cast<float>(1.0 / std::sqrt(sq / n + 1e-12)) : 1.f;
  for (auto& x : out) x *= scale;
  return out;
}

void mix_at_snr(std::vector<float>& signal, const std::vector<float>& noise, double snr_db) {
  double ps = 0, pn = 0;
  const std::size_t n = std::min(signal.size(), noise.size());
  for (std::size_t i = 0; i < n; ++i) {
    ps += static_cast<double>(signal[i]) * signal[i];
    pn += static_cast<double>(noise[i]) * noise[i];
  }
  if (ps <= 0 || pn <= 0) return;
  const double scale = std::sqrt(ps / (pn * std::pow(10.0, snr_db / 10.0)));
  for (std::size_t i = 0; i < n; ++i) signal[i] += static_cast<float>(scale * noise[i]);
}

std::vector<float> WaveformAugmenter::make_noise(std::size_t n, std::mt19937_64& rng) const {
  if (noise_files_.empty()) return generate_noise(n, config_.noise.color, rng);
  const auto& e = noise_files_[uniform_below(rng, noise_files_.size())];
  const double need = static_cast<double>(n) / sample_rate_;
  AudioReadOptions o;
  o.target_sample_rate = sample_rate_;
  o.offset = e.offset + std::max(0.0, e.duration - need) * uniform_unit(rng);
  o.duration = std::min(need, e.duration);
  auto clip = load_audio(e.audio_filepath, o);
  SORI_CHECK(!clip.empty(), "noise ", e.where(), ": decoded no samples from ", e.audio_filepath);
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = clip[i % clip.size()];  // tile short noise
  return out;
}

void WaveformAugmenter::add_noise(std::vector<float>& audio, std::mt19937_64& rng) const {
  if (config_.noise.prob <= 0 || audio.empty()) return;
  if (uniform_unit(rng) >= config_.noise.prob) return;
  const double lo = config_.noise.snr_db[0], hi = config_.noise.snr_db[1];
  const double snr = lo + (hi - lo) * uniform_unit(rng);
  mix_at_snr(audio, make_noise(audio.size(), rng), snr);
}

}  // namespace sori
