#include "sori/model/ctc_decode.h"

#include <torch/torch.h>

namespace sori {

std::vector<CtcHypothesis> greedy_ctc_decode(const torch::Tensor& log_probs, const torch::Tensor& lengths, int blank) {
  const auto best = log_probs.argmax(-1).to(torch::kCPU, torch::kInt64).contiguous();
  const auto lens = lengths.to(torch::kCPU, torch::kInt64).contiguous();
  const auto* b = best.data_ptr<std::int64_t>();
  const auto* l = lens.data_ptr<std::int64_t>();
  const auto batch = best.size(0), t_max = best.size(1);
  std::vector<CtcHypothesis> out(static_cast<std::size_t>(batch));
  for (std::int64_t i = 0; i < batch; ++i) {
    std::int64_t prev = blank;
    for (std::int64_t t = 0; t < std::min(l[i], t_max); ++t) {
      const auto tok = b[i * t_max + t];
      if (tok != blank && tok != prev) {
        out[i].tokens.push_back(static_cast<int>(tok));
        out[i].frames.push_back(t);
      }
      prev = tok;
    }
  }
  return out;
}

}  // namespace sori
