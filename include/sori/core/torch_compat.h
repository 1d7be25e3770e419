// The one place where LibTorch 1.13 and 2.x differ for us. Everything else calls these.
#pragma once

#include <torch/torch.h>

#include <string>

namespace sori::compat {

// Centred STFT with zero ("constant") padding and a complex result. 1.13 and 2.x share the
// stft.center overload; return_complex must be given explicitly on 2.x.
inline torch::Tensor stft_centered(const torch::Tensor& x, int64_t n_fft, int64_t hop, int64_t win_length,
                                   const torch::Tensor& window) {
  return torch::stft(x, n_fft, hop, win_length, window, /*center=*/true, /*pad_mode=*/"constant",
                     /*normalized=*/false, /*onesided=*/true, /*return_complex=*/true);
}

inline bool cuda_available() { return torch::cuda::is_available(); }

// "auto" picks CUDA when present; "cpu", "cuda" and "cuda:N" are taken as written.
inline torch::Device parse_device(const std::string& name) {
  if (name == "auto") return cuda_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  return torch::Device(name);
}

}  // namespace sori::compat
