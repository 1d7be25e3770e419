// CTC loss with NeMo's "mean_volume" reduction: the sum of per-utterance losses divided by the
// sum of target lengths, computed in fp32 on (T, B, V+1) log-probs. zero_infinity as NeMo (our
// loader already drops CTC-infeasible utterances, so it only guards against the unexpected).
#pragma once

#include <torch/types.h>

namespace sori {

torch::Tensor ctc_loss_mean_volume(const torch::Tensor& log_probs /*[B, T, V+1]*/, const torch::Tensor& log_prob_lengths,
                                   const torch::Tensor& targets /*[B, U]*/, const torch::Tensor& target_lengths,
                                   int64_t blank);

}  // namespace sori
