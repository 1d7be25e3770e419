#include "sori/features/mel_filterbank.h"

#include <algorithm>
#include <cmath>

namespace sori {

namespace {
constexpr double kFSp = 200.0 / 3.0;      // linear part: 66.67 Hz per mel
constexpr double kMinLogHz = 1000.0;      // log part starts here
constexpr double kMinLogMel = kMinLogHz / kFSp;
const double kLogStep = std::log(6.4) / 27.0;
}  // namespace

double hz_to_mel_slaney(double hz) {
  return hz >= kMinLogHz ? kMinLogMel + std::log(hz / kMinLogHz) / kLogStep : hz / kFSp;
}

double mel_to_hz_slaney(double mel) {
  return mel >= kMinLogMel ? kMinLogHz * std::exp(kLogStep * (mel - kMinLogMel)) : kFSp * mel;
}

std::vector<double> mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin, double fmax) {
  const int n_freqs = n_fft / 2 + 1;
  std::vector<double> fft_freqs(n_freqs);
  for (int k = 0; k < n_freqs; ++k) fft_freqs[k] = static_cast<double>(sample_rate) / 2.0 * k / (n_freqs - 1);
  const double mel_lo = hz_to_mel_slaney(fmin), mel_hi = hz_to_mel_slaney(fmax);
  std::vector<double> mel_f(n_mels + 2);
  for (int i = 0; i < n_mels + 2; ++i) mel_f[i] = mel_to_hz_slaney(mel_lo + (mel_hi - mel_lo) * i / (n_mels + 1));
  std::vector<double> weights(static_cast<std::size_t>(n_mels) * n_freqs, 0.0);
  for (int m = 0; m < n_mels; ++m) {
    const double lower_w = mel_f[m + 1] - mel_f[m], upper_w = mel_f[m + 2] - mel_f[m + 1];
    const double enorm = 2.0 / (mel_f[m + 2] - mel_f[m]);
    for (int k = 0; k < n_freqs; ++k) {
      const double lower = (fft_freqs[k] - mel_f[m]) / lower_w;
      const double upper = (mel_f[m + 2] - fft_freqs[k]) / upper_w;
      weights[static_cast<std::size_t>(m) * n_freqs + k] = std::max(0.0, std::min(lower, upper)) * enorm;
    }
  }
  return weights;
}

}  // namespace sori
