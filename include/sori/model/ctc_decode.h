// Greedy CTC decoding: argmax per frame, collapse repeats, drop blanks.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace sori {

struct CtcHypothesis {
  std::vector<int> tokens;
  std::vector<std::int64_t> frames;  // encoder frame where each token starts (for timestamps)
};

// log_probs [B, T, V+1] (any device), lengths [B] -> one hypothesis per utterance.
std::vector<CtcHypothesis> greedy_ctc_decode(const torch::Tensor& log_probs, const torch::Tensor& lengths, int blank);

}  // namespace sori
