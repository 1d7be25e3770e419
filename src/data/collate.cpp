#include "sori/data/collate.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstring>

#include "sori/core/error.h"

namespace sori {

Batch collate(std::vector<Utterance> utts, bool pin_memory) {
  const auto B = static_cast<std::int64_t>(utts.size());
  std::size_t tmax = 0, umax = 0;
  for (const auto& u : utts) {
    tmax = std::max(tmax, u.audio.size());
    umax = std::max(umax, u.tokens.size());
  }
  Batch b;
  b.audio = torch::zeros({B, static_cast<std::int64_t>(tmax)}, torch::kFloat32);
  b.audio_lengths = torch::empty({B}, torch::kInt64);
  b.tokens = torch::zeros({B, static_cast<std::int64_t>(std::max<std::size_t>(umax, 1))}, torch::kInt64);
  b.token_lengths = torch::empty({B}, torch::kInt64);
  float* audio = b.audio.data_ptr<float>();
  auto* alen = b.audio_lengths.data_ptr<std::int64_t>();
  auto* tok = b.tokens.data_ptr<std::int64_t>();
  auto* tlen = b.token_lengths.data_ptr<std::int64_t>();
  const std::int64_t tok_stride = b.tokens.size(1);
  for (std::int64_t i = 0; i < B; ++i) {
    const auto& u = utts[static_cast<std::size_t>(i)];
    if (!u.audio.empty()) std::memcpy(audio + i * tmax, u.audio.data(), u.audio.size() * sizeof(float));
    alen[i] = static_cast<std::int64_t>(u.audio.size());
    for (std::size_t k = 0; k < u.tokens.size(); ++k) tok[i * tok_stride + static_cast<std::int64_t>(k)] = u.tokens[k];
    tlen[i] = static_cast<std::int64_t>(u.tokens.size());
    b.indices.push_back(u.index);
    b.valid_samples += alen[i];
  }
  b.padded_samples = B * static_cast<std::int64_t>(tmax);
  if (pin_memory) {
    b.audio = b.audio.pin_memory();
    b.audio_lengths = b.audio_lengths.pin_memory();
    b.tokens = b.tokens.pin_memory();
    b.token_lengths = b.token_lengths.pin_memory();
  }
  return b;
}

}  // namespace sori
