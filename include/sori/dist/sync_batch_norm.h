// Sync BatchNorm (NeMo trains FastConformer with sync_batchnorm: true): in training, every
// BatchNorm normalises with the statistics of the global batch, all ranks' frames together.
// Forward all-reduces (count, sum, sum of squares) over B·T frames per rank, padding included
// as in NeMo; backward all-reduces the two gradient sums the input gradient needs. The running
// variance uses the global unbiased count, so running statistics stay equal on every rank.
// With world size W and equal-length inputs, outputs, running statistics and gradients equal
// those of one process on the concatenated batch (tests/dist/test_sync_batch_norm.cpp).
// Eval mode is untouched (running statistics).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>

#include "sori/dist/process_group.h"

namespace sori::dist {

// x [B, C, T] -> normalised x; updates norm's running statistics and num_batches_tracked.
torch::Tensor sync_batch_norm(torch::nn::BatchNorm1dImpl& norm, const torch::Tensor& x, ProcessGroup& group);

// Routes every BatchNorm of the model's conformer convolutions through sync_batch_norm.
void install_sync_batch_norm(torch::nn::Module& model, ProcessGroup& group);

// While alive, this rank's sync BatchNorm contributes no frames: the stand-in forward of a
// micro-batch whose utterances all failed to load still takes part in the collectives.
class ExcludedFromBatchStatistics {
 public:
  ExcludedFromBatchStatistics();
  ~ExcludedFromBatchStatistics();
  ExcludedFromBatchStatistics(const ExcludedFromBatchStatistics&) = delete;
  ExcludedFromBatchStatistics& operator=(const ExcludedFromBatchStatistics&) = delete;

 private:
  bool previous_;
};

}  // namespace sori::dist
