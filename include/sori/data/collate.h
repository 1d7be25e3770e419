// Dynamic-padding collation: each batch is padded to its own longest utterance.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sori {

struct Utterance {
  std::vector<float> audio;
  std::vector<int> tokens;
  std::size_t index = 0;  // position in the dataset
};

struct Batch {
  torch::Tensor audio;          // float32 [B, Tmax], zero-padded
  torch::Tensor audio_lengths;  // int64 [B]
  torch::Tensor tokens;         // int64 [B, Umax], zero-padded
  torch::Tensor token_lengths;  // int64 [B]
  std::vector<std::size_t> indices;
  std::int64_t global_index = 0;  // in the endless sequence of micro-batches (epoch · N + batch)
  std::int64_t epoch = 0;
  std::int64_t padded_samples = 0;  // B * Tmax
  std::int64_t valid_samples = 0;   // sum of audio_lengths
  std::vector<std::string> left_out;  // under skip_invalid: why each utterance that failed to load failed
  bool empty() const { return indices.empty(); }
  double padding_fraction() const {
    return padded_samples ? 1.0 - static_cast<double>(valid_samples) / padded_samples : 0.0;
  }
};

// pin_memory: page-locked host tensors for asynchronous copies to CUDA. No utterances give an
// empty batch (B = 0): a micro-batch whose utterances all failed to load under skip_invalid.
Batch collate(std::vector<Utterance> utterances, bool pin_memory = false);

}  // namespace sori
