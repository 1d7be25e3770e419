#include "sori/train/ctc_loss.h"

#include <torch/torch.h>

namespace sori {

torch::Tensor ctc_loss_mean_volume(const torch::Tensor& log_probs, const torch::Tensor& log_prob_lengths,
                                   const torch::Tensor& targets, const torch::Tensor& target_lengths, int64_t blank) {
  auto per_utterance = torch::ctc_loss(log_probs.to(torch::kFloat32).transpose(0, 1), targets, log_prob_lengths,
                                       target_lengths, blank, at::Reduction::None, /*zero_infinity=*/true);
  return per_utterance.sum() / target_lengths.sum().to(torch::kFloat32);
}

}  // namespace sori
