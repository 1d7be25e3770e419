#include "sori/dist/gradient_reducer.h"

#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <limits>

#include "c10d_group.h"
#include "sori/core/error.h"
#include "sori/core/torch_compat.h"

namespace sori::dist {

namespace {
constexpr std::int64_t kFirstBucketBytes = 1 << 20;  // DDP's: the last bucket reduced stays small
}

GradientReducer::GradientReducer(ProcessGroup& group, const std::vector<torch::Tensor>& params,
                                 const GradientReducerOptions& options)
    : group_(group) {
  SORI_CHECK(options.bucket_mb > 0, "trainer.ddp_bucket_mb: expected > 0, found ", options.bucket_mb);
  const auto unlimited = std::numeric_limits<std::int64_t>::max();
  const std::int64_t cap = options.overlap ? static_cast<std::int64_t>(options.bucket_mb * (1 << 20)) : unlimited;
  const std::int64_t first_cap = options.overlap ? std::min(cap, kFirstBucketBytes) : unlimited;
  // As DDP: buckets assigned in definition order, then reversed, because gradients become ready
  // roughly in reverse order of definition.
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      params, {static_cast<std::size_t>(first_cap), static_cast<std::size_t>(cap)});
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  reducer_ = compat::new_reducer(params, buckets, limits, group.impl().group, cap, first_cap);
}

GradientReducer::~GradientReducer() = default;

void GradientReducer::before_forward() {
  try {
    reducer_->prepare_for_forward();
    // After the first synchronised backward the Reducer re-buckets by the order in which
    // gradients really became ready (once; a collective, so at the same point on every rank).
    reducer_->rebuild_buckets();
  } catch (const c10::Error& e) {
    SORI_FAIL(group_.describe_failure(std::string("gradient bucket rebuild failed: ") + e.what_without_backtrace()));
  }
}

void GradientReducer::backward(const torch::Tensor& loss) {
  reducer_->prepare_for_backward({});
  try {
    loss.backward();
  } catch (const c10::Error& e) {
    // The bucket all-reduces run inside backward, outside ProcessGroup's own collectives.
    SORI_FAIL(group_.describe_failure(std::string("gradient all-reduce failed: ") + e.what_without_backtrace()));
  }
}

}  // namespace sori::dist
