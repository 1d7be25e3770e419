// Waveform augmentation: speed perturbation (applied while resampling, see load_audio) and
// additive noise at a random SNR. Every choice is drawn from the engine the caller passes, which
// the loader seeds from (seed, epoch, batch, item): deterministic whatever the thread count.
#pragma once

#include <random>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/manifest.h"

namespace sori {

class WaveformAugmenter {
 public:
  WaveformAugmenter(const AugmentationConfig& config, int sample_rate);

  // A factor from config.speed_perturb (1.0 when none); the loader draws one per batch.
  double pick_speed(std::mt19937_64& rng) const;
  // Fastest factor any utterance can get (for CTC feasibility).
  double max_speed() const;
  // Adds noise with probability noise.prob at an SNR drawn uniformly from noise.snr_db.
  void add_noise(std::vector<float>& audio, std::mt19937_64& rng) const;

 private:
  std::vector<float> make_noise(std::size_t n, std::mt19937_64& rng) const;

  AugmentationConfig config_;
  int sample_rate_;
  std::vector<ManifestEntry> noise_files_;
};

// Generated noise, unit variance. color: "white" or "pink" (1/f, Paul Kellet's filter).
std::vector<float> generate_noise(std::size_t n, const std::string& color, std::mt19937_64& rng);

// Scales `noise` so that signal power / noise power = snr_db and adds it. Silent signals are left alone.
void mix_at_snr(std::vector<float>& signal, const std::vector<float>& noise, double snr_db);

}  // namespace sori
