// NeMo-compatible log-mel features (FilterbankFeatures in NeMo's features.py), batched on the
// device the module lives on. In order: dither (training only), preemphasis with samples past
// each length zeroed, centred STFT with zero padding and a symmetric Hann window, power
// spectrum, slaney mel filterbank, log(x + 2^-24), per-feature normalisation over valid frames
// (std with n-1, then + 1e-5), and frames past len // hop set to 0. Computed in float64 inside
// (see log_mel.cpp), returned as float32.
// The buffers `window` [win_length] and `fb` [1, n_mels, n_fft/2+1] are NeMo's
// preprocessor.featurizer.window / .fb.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <utility>

#include "sori/config/config.h"

namespace sori {

class LogMelFeaturesImpl : public torch::nn::Module {
 public:
  LogMelFeaturesImpl(const PreprocessorConfig& config, int sample_rate);

  // audio float [B, T], lengths int64 [B] (samples) -> features [B, n_mels, T / hop + 1] and
  // frame lengths int64 [B] (= lengths / hop).
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& audio, const torch::Tensor& lengths);

  int hop_length() const { return hop_; }
  // Frames for a given number of samples (host-side twin of forward's lengths).
  std::int64_t frames_for(std::int64_t samples) const { return samples / hop_; }

 private:
  PreprocessorConfig config_;
  int hop_, win_length_;
  torch::Tensor window_, fb_;
};
TORCH_MODULE(LogMelFeatures);

// NeMo's normalize_batch(per_feature): mean and std (n-1) over each utterance's valid frames.
torch::Tensor normalize_per_feature(const torch::Tensor& x, const torch::Tensor& frame_lengths);

}  // namespace sori
