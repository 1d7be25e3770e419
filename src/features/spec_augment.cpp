#include "sori/features/spec_augment.h"

#include <torch/torch.h>

#include <algorithm>

#include "sori/core/error.h"
#include "sori/core/rng.h"
#include "sori/core/torch_compat.h"

namespace sori {

namespace {
// Python's random.randint(lo, hi): inclusive bounds.
std::int64_t randint(std::mt19937_64& rng, std::int64_t lo, std::int64_t hi) {
  return lo + static_cast<std::int64_t>(uniform_below(rng, static_cast<std::uint64_t>(hi - lo + 1)));
}

// Marks [start, end) of each of row b's spans in the host mask `m` ([B, N] bool).
void mark_spans(torch::Tensor& m, const std::vector<std::int64_t>& starts, const std::vector<std::int64_t>& ends,
                std::int64_t batch) {
  auto a = m.accessor<bool, 2>();
  const auto per_row = static_cast<std::int64_t>(starts.size()) / batch;
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = b * per_row; i < (b + 1) * per_row; ++i)
      for (auto k = starts[static_cast<std::size_t>(i)]; k < std::min(ends[static_cast<std::size_t>(i)], m.size(1)); ++k)
        a[b][k] = true;
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
  // All three masks are made on the host and travel in one non-blocking copy: the step reads
  // nothing back from the device here.
  const auto device = features.device();
  auto host = compat::staging_tensor({B, F + 2 * T}, torch::kBool, device).zero_();
  auto freq_mask = host.narrow(1, 0, F), time_mask = host.narrow(1, F, T), valid = host.narrow(1, F + T, T);
  mark_spans(freq_mask, fs, fe, B);
  mark_spans(time_mask, ts, te, B);
  for (std::int64_t b = 0; b < B; ++b) valid[b].narrow(0, 0, std::min(T, frame_lengths[static_cast<std::size_t>(b)])).fill_(true);
  const auto on_device = host.to(device, /*non_blocking=*/true);
  const auto f = on_device.narrow(1, 0, F), t = on_device.narrow(1, F, T), v = on_device.narrow(1, F + T, T);
  auto mask = (f.unsqueeze(2) | t.unsqueeze(1)) & v.unsqueeze(1);
  return features.masked_fill(mask, c.mask_value);
}

}  // namespace sori
