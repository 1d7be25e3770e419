#include "sori/core/torch_compat.h"

#ifdef SORI_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#endif

namespace sori::compat {

bool bf16_supported(const torch::Device& device) {
#ifdef SORI_WITH_CUDA
  if (device.is_cuda()) return at::cuda::getDeviceProperties(device.has_index() ? device.index() : 0)->major >= 8;
#endif
  (void)device;
  return false;
}

}  // namespace sori::compat
