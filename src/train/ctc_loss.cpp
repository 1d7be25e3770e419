#include "sori/train/ctc_loss.h"

#include <torch/torch.h>

namespace sori {

torch::Tensor ctc_loss_per_utterance(const torch::Tensor& log_probs, const torch::Tensor& log_prob_lengths,
                                     const torch::Tensor& targets, const torch::Tensor& target_lengths, int64_t blank) {
  const auto lp = log_probs.scalar_type() == torch::kFloat64 ? log_probs : log_probs.to(torch::kFloat32);
  return torch::ctc_loss(lp.transpose(0, 1), targets, log_prob_lengths, target_lengths, blank, at::Reduction::None,
                         /*zero_infinity=*/true);
}

torch::Tensor ctc_loss_mean_volume(const torch::Tensor& log_probs, const torch::Tensor& log_prob_lengths,
                                   const torch::Tensor& targets, const torch::Tensor& target_lengths, int64_t blank) {
  const auto losses = ctc_loss_per_utterance(log_probs, log_prob_lengths, targets, target_lengths, blank);
  return losses.sum() / target_lengths.sum().to(losses.scalar_type());
}

}  // namespace sori
