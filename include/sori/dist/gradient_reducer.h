// Gradient synchronisation with LibTorch's c10d::Reducer, the engine behind Python's
// DistributedDataParallel: gradients live in size-capped buckets (reverse parameter order, a
// small last bucket), and each bucket's all-reduce starts from the autograd hooks as soon as its
// gradients are ready, so communication overlaps the rest of backward. The Reducer divides by the
// world size: after a synchronised backward every rank holds the mean of the ranks' gradients.
//
// Per micro-batch whose backward must synchronise (the last of an accumulation):
//   before_forward(); forward; backward(loss)
// Micro-batches that call neither (plain loss.backward()) accumulate locally (Python's no_sync()).
// Invariant: every parameter receives a gradient in a synchronised backward.
#pragma once

#include <torch/types.h>

#include <memory>
#include <vector>

#include "sori/dist/process_group.h"

namespace c10d {
class Reducer;
}

namespace sori::dist {

struct GradientReducerOptions {
  double bucket_mb = 25.0;  // trainer.ddp_bucket_mb
  bool overlap = true;      // false: one bucket, all-reduced after the whole backward (for tests and benchmarks)
};

class GradientReducer {
 public:
  GradientReducer(ProcessGroup& group, const std::vector<torch::Tensor>& params, const GradientReducerOptions& options);
  ~GradientReducer();
  void before_forward();
  // loss.backward() with the buckets' all-reduces; a failed one names the rank, step and silent rank.
  void backward(const torch::Tensor& loss);

 private:
  ProcessGroup& group_;
  std::unique_ptr<c10d::Reducer> reducer_;
};

}  // namespace sori::dist
