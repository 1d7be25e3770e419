// CTC loss on (T, B, V+1) log-probs in fp32 (float64 for float64 input), blank = V,
// zero_infinity as NeMo (our loader already drops CTC-infeasible utterances, so it only guards
// against the unexpected). NeMo's "mean_volume" reduction divides the sum of the utterances'
// losses by the sum of their target lengths; the training step applies that division over the
// whole step (all ranks and micro-batches), so it takes the per-utterance losses.
#pragma once

#include <torch/types.h>

namespace sori {

// [B] losses of the utterances.
torch::Tensor ctc_loss_per_utterance(const torch::Tensor& log_probs /*[B, T, V+1]*/, const torch::Tensor& log_prob_lengths,
                                     const torch::Tensor& targets /*[B, U]*/, const torch::Tensor& target_lengths,
                                     int64_t blank);

torch::Tensor ctc_loss_mean_volume(const torch::Tensor& log_probs, const torch::Tensor& log_prob_lengths,
                                   const torch::Tensor& targets, const torch::Tensor& target_lengths, int64_t blank);

}  // namespace sori
