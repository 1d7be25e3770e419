// SpecAugment with NeMo's semantics (SpecAugment in spectr_augment.py): per utterance,
// freq_masks bands of width U[0, freq_width] starting at U[0, F - freq_width], and time_masks
// spans of width U[0, w] starting at U[0, max(1, L - w)] with w = max(1, int(L * time_width))
// for a float time_width or w = time_width frames for an int. All bounds inclusive, like Python's
// randint. Unlike NeMo, every mask stops at the utterance's length, so padding is never touched.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <random>
#include <vector>

#include "sori/config/config.h"

namespace sori {

// features [B, F, T] on any device; frame_lengths on the host (no device sync needed).
torch::Tensor spec_augment(const torch::Tensor& features, const std::vector<std::int64_t>& frame_lengths,
                           const SpecAugmentConfig& config, std::mt19937_64& rng);

}  // namespace sori
