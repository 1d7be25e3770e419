#include "sori/train/run_setup.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <mutex>

#include "sori/core/error.h"
#include "sori/core/torch_compat.h"

namespace sori {

void configure_threads(int num_threads, const torch::Device& device) {
  if (num_threads > 0) torch::set_num_threads(num_threads);
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
}

std::pair<torch::Tensor, std::vector<torch::Tensor>> capture_rng_states() {
  auto cpu = at::detail::getDefaultCPUGenerator();
  torch::Tensor cpu_state;
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu_state = cpu.get_state();
  }
  std::vector<torch::Tensor> cuda;
  if (compat::cuda_available()) {
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
      auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(gen.mutex());
      cuda.push_back(gen.get_state());
    }
  }
  return {cpu_state, cuda};
}

void restore_rng_states(const torch::Tensor& cpu_state, const std::vector<torch::Tensor>& cuda) {
  auto cpu = at::detail::getDefaultCPUGenerator();
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(cpu_state);
  }
  if (!compat::cuda_available()) return;
  const auto n = std::min<std::size_t>(cuda.size(), torch::cuda::device_count());
  for (std::size_t i = 0; i < n; ++i) {
    auto gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda[i]);
  }
}

}  // namespace sori
