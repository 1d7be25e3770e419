// librosa-style mel filterbank (slaney mel scale, slaney area normalisation), as NeMo builds it
// with librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, norm="slaney").
#pragma once

#include <vector>

namespace sori {

// Row-major [n_mels][n_fft / 2 + 1], computed in double precision.
std::vector<double> mel_filterbank(int sample_rate, int n_fft, int n_mels, double fmin, double fmax);

double hz_to_mel_slaney(double hz);
double mel_to_hz_slaney(double mel);

}  // namespace sori
