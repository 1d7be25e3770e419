#include "sori/train/run_setup.h"

#include <ATen/Context.h>
#include <torch/torch.h>

#include <mutex>

#include "sori/core/error.h"

namespace sori {

void configure_threads(int num_threads, const torch::Device& device) {
  if (num_threads > 0) torch::set_num_threads(num_threads);
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(true);
    at::globalContext().setAllowTF32CuDNN(true);
  }
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

}  // namespace sori
