#include "sori/train/run_setup.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include "sori/core/cpu_threads.h"
#include "sori/core/error.h"
#include "sori/core/host.h"
#include "sori/core/torch_compat.h"

namespace sori {

void configure_threads(int num_threads, const torch::Device& device) {
  configure_cpu_threads(num_threads);
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
}

nlohmann::json describe_run_environment(const torch::Device& device, int world_size) {
  nlohmann::json info;
  info["host"] = host_name();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);)
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      info["cpu"] = line.substr(line.find(':') + 2);
      break;
    }
  info["cores"] = std::thread::hardware_concurrency();
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  info["memory_gib"] = std::round(memory / (1ull << 30) * 10) / 10;
  info["device"] = device.str();
  if (device.is_cuda()) info["gpu"] = compat::device_name(device);
  info["world_size"] = world_size;
  info["intra_op_threads"] = torch::get_num_threads();
  info["libtorch"] = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
                     std::to_string(TORCH_VERSION_PATCH);
  info["started"] = utc_timestamp(std::time(nullptr));
  return info;
}

namespace {
at::Generator cuda_generator(const torch::Device& device) {
  return at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, device.has_index() ? device.index() : 0));
}
}  // namespace

std::pair<torch::Tensor, torch::Tensor> capture_rng_state(const torch::Device& device) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  torch::Tensor cpu_state, cuda_state;
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu_state = cpu.get_state();
  }
  if (device.is_cuda()) {
    auto gen = cuda_generator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    cuda_state = gen.get_state();
  }
  return {cpu_state, cuda_state};
}

void restore_rng_state(const torch::Tensor& cpu_state, const torch::Tensor& cuda_state, const torch::Device& device) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(cpu_state);
  }
  if (device.is_cuda() && cuda_state.defined()) {
    auto gen = cuda_generator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda_state);
  }
}

void seed_generators(std::uint64_t seed, const torch::Device& device) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_current_seed(seed);
  }
  if (device.is_cuda()) {
    auto gen = cuda_generator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(seed);
  }
}

// "auto" and "cuda" bind cuda:LOCAL_RANK, or device 0 when the launcher left one GPU visible.
torch::Device training_device(const std::string& name, const dist::LaunchEnv& env) {
  if (name == "cpu" || (name == "auto" && !compat::cuda_available())) return torch::kCPU;
  if (name == "auto" || name == "cuda") {
    const auto visible = static_cast<int>(torch::cuda::device_count());
    SORI_CHECK(visible > 0, "trainer.device: ", name, " but no CUDA device is visible");
    const int index = visible == 1 ? 0 : env.local_rank;
    SORI_CHECK(index < visible, "trainer.device: local rank ", env.local_rank, " has no GPU (", visible,
               " visible); start one process per GPU");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  return torch::Device(name);
}

// Ranks given other overrides (a seed, a batch size) would train on other data orders and shapes
// while their collectives still line up: refuse at start-up, quoting the first differing line.
void check_same_config(dist::ProcessGroup& group, const std::string& yaml) {
  const auto all = group.exchange("config", yaml);
  for (std::size_t r = 1; r < all.size(); ++r) {
    if (all[r] == all[0]) continue;
    std::istringstream a(all[0]), b(all[r]);
    std::string la, lb;
    int line = 0;
    for (bool more = true; more && la == lb;) {
      ++line;
      const bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
      if (!ga) la = "<end>";
      if (!gb) lb = "<end>";
      more = ga || gb;
    }
    SORI_FAIL("rank ", r, " resolved another configuration than rank 0 (line ", line, " of the resolved config: rank 0 '",
              la, "', rank ", r, " '", lb, "'): every rank must get the same config file and overrides");
  }
}

}  // namespace sori
