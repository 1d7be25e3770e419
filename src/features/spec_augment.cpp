#include "sori/features/spec_augment.h"

#include <torch/torch.h>

#include <algorithm>

#include "sori/core/error.h"
#include "sori/core/rng.h"

namespace sori {

namespace {
// Python's random.randint(lo, hi): inclusive bounds.
std::int64_t randint(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(hi - lo + 1)));
}

// [B, M] spans -> [B, N] bool mask of positions inside any span.
torch::Tensor spans_to_mask(const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
                            std::int64_t batch, std::int64_t n, const torch::Device& device) {
  const auto m = static_cast<std::int64_t>(starts.size()) / batch;
  if (m == 0) return torch::zeros({batch, n}, torch::TensorOptions().dtype(torch::kBool).device(device));
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  auto s = torch::tensor(starts, opts).view({batch, m, 1}).to(device);
  auto e = torch::tensor(ends, opts).view({batch, m, 1}).to(device);
  auto pos = torch::arange(n, opts.device(device)).view({1, 1, n});
  return ((pos >= s) & (pos < e)).any(1);
}
}  // namespace

torch::Tensor spec_augment(const torch::Tensor& features, const std::vector<std::int64_t>& frame_lengths,
                           const SpecAugmentConfig& c, std::mt19937_64& rng) {
  SORI_CHECK(features.dim() == 3, "spec_augment: expected features [B, F, T], found ", features.dim(), " dimensions");
  const std::int64_t B = features.size(0), F = features.size(1), T = features.size(2);
  SORI_CHECK(static_cast<std::int64_t>(frame_lengths.size()) == B, "spec_augment: ", frame_lengths.size(),
             " lengths for a batch of ", B);
  SORI_CHECK(c.freq_width <= F, "model.spec_augment.freq_width ", c.freq_width, " exceeds the ", F, " feature bins");
  std::vector<std::int64_t> fs, fe, ts, te;
  for (std::int64_t b = 0; b < B; ++b) {
    const std::int64_t len = frame_lengths[static_cast<std::size_t>(b)];
    for (int i = 0; i < c.freq_masks; ++i) {
      const auto start = randint(rng, 0, F - c.freq_width);
      const auto width = randint(rng, 0, c.freq_width);
      fs.push_back(start);
      fe.push_back(start + width);
    }
    const std::int64_t max_width = c.time_width.is_fraction
                                       ? std::max<std::int64_t>(1, static_cast<std::int64_t>(len * c.time_width.value))
                                       : static_cast<std::int64_t>(c.time_width.value);
    const std::int64_t upper = std::max<std::int64_t>(1, len - max_width);
    for (int i = 0; i < c.time_masks; ++i) {
      const auto start = randint(rng, 0, upper);
      const auto width = randint(rng, 0, max_width);
      ts.push_back(std::min(start, len));
      te.push_back(std::min(start + width, len));
    }
  }
  const auto device = features.device();
  auto freq_mask = spans_to_mask(fs, fe, B, F, device);  // [B, F]
  auto time_mask = spans_to_mask(ts, te, B, T, device);  // [B, T]
  auto valid = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(device)).unsqueeze(0) <
               torch::tensor(frame_lengths, torch::kInt64).to(device).unsqueeze(1);
  auto mask = (freq_mask.unsqueeze(2) | time_mask.unsqueeze(1)) & valid.unsqueeze(1);
  return features.masked_fill(mask, c.mask_value);
}

}  // namespace sori
