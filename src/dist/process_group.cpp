#include "sori/dist/process_group.h"

#include <spdlog/spdlog.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/torch.h>

#include <algorithm>

#include "c10d_group.h"
#include "sori/core/error.h"
#include "sori/core/torch_compat.h"

namespace sori::dist {

namespace {

using std::chrono::milliseconds;

std::string seconds_text(milliseconds ms) { return std::to_string(ms.count() / 1000.0).substr(0, 5) + " s"; }

c10::intrusive_ptr<c10d::Store> connect_store(const LaunchEnv& env, bool server, milliseconds timeout) {
  c10d::TCPStoreOptions o;
  o.port = static_cast<std::uint16_t>(env.master_port);
  o.isServer = server;
  o.waitWorkers = false;  // the group's own rendezvous waits for every rank
  o.timeout = timeout;
  try {
    auto tcp = c10::make_intrusive<c10d::TCPStore>(env.master_addr, o);
    return c10::make_intrusive<c10d::PrefixStore>(env.key_prefix(), tcp);
  } catch (const std::exception& e) {
    SORI_FAIL("rank ", env.rank, ": cannot ", server ? "serve" : "reach", " the rendezvous store at ", env.master_addr,
              ":", env.master_port, " within ", seconds_text(timeout), ": ",
              server ? "is the port taken?" : "rank 0's host (which serves the store), or torchrun's agent, is gone",
              " (", e.what(), ")");
  }
}

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

}  // namespace

ProcessGroup::ProcessGroup() = default;

ProcessGroup::ProcessGroup(const LaunchEnv& env, const torch::Device& device, const ProcessGroupOptions& options)
    : rank_(env.rank), world_size_(env.world_size), impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.env = env;
  m.device = device;
  m.options = options;
  // With torchrun's agent store every rank is a client; otherwise rank 0 serves the store.
  m.store = connect_store(env, !env.use_agent_store && env.rank == 0, options.startup_timeout);
  try {
    m.group = device.is_cuda() ? compat::new_nccl_group(m.store, rank_, world_size_, options.timeout)
                               : compat::new_gloo_group(m.store, rank_, world_size_, options.timeout,
                                                        is_loopback(env.master_addr) ? "127.0.0.1" : "");
  } catch (const c10::Error& e) {
    SORI_FAIL("rank ", rank_, ": the ", device.is_cuda() ? "NCCL" : "Gloo", " process group of ", world_size_,
              " ranks did not form within ", seconds_text(options.startup_timeout), ": ", e.what());
  }
  const auto interval = std::clamp(milliseconds(options.timeout.count() / 8), milliseconds(500), milliseconds(30000));
  m.monitor = std::make_unique<RankMonitor>(connect_store(env, false, 2 * interval), rank_, world_size_, interval,
                                            env.master_addr + ":" + std::to_string(env.master_port));
  spdlog::info("data-parallel: {}; {} backend on {}, collective timeout {}", env.describe(),
               device.is_cuda() ? "NCCL" : "Gloo", device.str(), seconds_text(options.timeout));
}

ProcessGroup::~ProcessGroup() = default;

ProcessGroup::Impl& ProcessGroup::impl() const {
  SORI_CHECK(impl_ != nullptr, "dist: a single-process group has no c10d group");
  return *impl_;
}

namespace {

template <class F>
void collective(const ProcessGroup& group, const char* name, F&& run) {
  try {
    run();
  } catch (const c10::Error& e) {
    SORI_FAIL(group.describe_failure(std::string(name) + " failed: " + e.what_without_backtrace()));
  }
}

}  // namespace

void ProcessGroup::all_reduce_sum(torch::Tensor& tensor) {
  if (!impl_) return;
  std::vector<at::Tensor> tensors{tensor};
  collective(*this, "all-reduce", [&] { impl_->group->allreduce(tensors)->wait(); });
}

void ProcessGroup::broadcast_from_main(const std::vector<torch::Tensor>& tensors) {
  if (!impl_ || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  constexpr std::size_t kBufferBytes = 256u << 20;  // DDP's broadcast bucket
  collective(*this, "broadcast", [&] { c10d::broadcast_coalesced(impl_->group, tensors, kBufferBytes, 0); });
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& tensor) {
  if (!impl_) return {tensor};
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_size_; ++r) out[0].push_back(torch::empty_like(tensor));
  std::vector<at::Tensor> in{tensor.contiguous()};
  collective(*this, "all-gather", [&] { impl_->group->allgather(out, in)->wait(); });
  return out[0];
}

void ProcessGroup::barrier() {
  if (!impl_) return;
  auto one = torch::ones({1}, torch::TensorOptions().device(impl_->device));
  all_reduce_sum(one);
  one.cpu();  // the barrier holds once the sum has arrived (NCCL completes asynchronously)
}

std::vector<std::string> ProcessGroup::exchange(const std::string& name, const std::string& value) {
  if (!impl_) return {value};
  auto& store = *impl_->store;
  const auto key = [&](int r) { return "exchange/" + name + "/" + std::to_string(r); };
  store.set(key(rank_), std::vector<std::uint8_t>(value.begin(), value.end()));
  std::vector<std::string> values;
  for (int r = 0; r < world_size_; ++r) {
    try {
      const auto bytes = store.get(key(r));
      values.emplace_back(bytes.begin(), bytes.end());
    } catch (const c10::Error&) {
      std::string missing;
      for (int k = r; k < world_size_; ++k)
        if (!store.check({key(k)})) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
      SORI_FAIL("rank ", rank_, ": rank(s) ", missing, " did not reach start-up step '", name, "' within ",
                seconds_text(impl_->options.startup_timeout), " (trainer.dist_startup_timeout_s)");
    }
  }
  return values;
}

void ProcessGroup::set_step(std::int64_t step) {
  if (impl_) impl_->monitor->set_step(step);
}

std::string ProcessGroup::describe_failure(const std::string& what) const {
  if (!impl_) return what;
  std::string text = "rank " + std::to_string(rank_) + " at step " + std::to_string(impl_->monitor->step()) + ": " + what;
  const auto diagnosis = impl_->monitor->diagnosis();
  return diagnosis.empty() ? text : text + "\n  " + diagnosis;
}

}  // namespace sori::dist
