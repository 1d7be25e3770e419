// What ProcessGroup hides from its users: the c10d objects, for the other dist/ files only.
#pragma once

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <memory>

#include "rank_monitor.h"
#include "sori/dist/process_group.h"

namespace sori::dist {

struct ProcessGroup::Impl {
  LaunchEnv env;
  torch::Device device = torch::kCPU;
  ProcessGroupOptions options;
  c10::intrusive_ptr<c10d::Store> store;  // prefixed with env.key_prefix()
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  std::unique_ptr<RankMonitor> monitor;
};

}  // namespace sori::dist
