// The communication of one training process with its peers: LibTorch's c10d process group (NCCL
// for CUDA tensors, Gloo for CPU ones) over a TCPStore rendezvous, set up from the launch
// environment (torchrun or SLURM, see launch_env.h). A single process is a group of one whose
// operations do nothing, so the trainer has no separate single-process path.
//
// Invariants:
// - Every rank calls the collectives in the same order with tensors of the same shapes.
// - Store keys live under LaunchEnv::key_prefix() (/sori/attempt_<restart>), so an elastic
//   restart never reads a previous attempt's values from torchrun's long-lived agent store.
// - Start-up agreement (exchange()) waits up to startup_timeout; collectives up to timeout. A
//   collective that fails (a peer died or stayed silent past the timeout) throws sori::Error
//   naming the step and, where the rank monitor knows it, the silent rank.
#pragma once

#include <torch/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sori/dist/launch_env.h"

namespace sori::dist {

struct ProcessGroupOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(600)};           // trainer.dist_timeout_s
  std::chrono::milliseconds startup_timeout{std::chrono::seconds(1800)};  // trainer.dist_startup_timeout_s
};

class ProcessGroup {
 public:
  // A group of one: no store, no communication.
  ProcessGroup();
  // Rendezvous and the c10d group for `device` (NCCL when it is CUDA, else Gloo).
  ProcessGroup(const LaunchEnv& env, const torch::Device& device, const ProcessGroupOptions& options);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  bool is_main() const { return rank_ == 0; }
  bool distributed() const { return impl_ != nullptr; }

  // Sums over all ranks in place. The tensor lives on the training device.
  void all_reduce_sum(torch::Tensor& tensor);
  // Copies rank 0's tensors into every rank's, coalesced into few messages.
  void broadcast_from_main(const std::vector<torch::Tensor>& tensors);
  // Every rank's tensor (same shape and dtype everywhere), indexed by rank.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  void barrier();
  // Start-up agreement through the store: every rank's value for `name`, indexed by rank.
  std::vector<std::string> exchange(const std::string& name, const std::string& value);

  // The training step this rank is at, for the rank monitor's heartbeat and error messages.
  void set_step(std::int64_t step);
  // `what` with the rank, the step and the monitor's diagnosis (silent ranks, unreachable store).
  std::string describe_failure(const std::string& what) const;

  struct Impl;
  Impl& impl() const;  // for dist/ internals (the gradient reducer); distributed() must be true

 private:
  int rank_ = 0, world_size_ = 1;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sori::dist
