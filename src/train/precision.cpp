#include "sori/train/precision.h"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "sori/core/error.h"

namespace sori {

Precision resolve_precision(const std::string& name, const torch::Device& device) {
  const bool half = name == "16" || name == "16-mixed" || name == "fp16";
  const bool bf16 = name == "bf16" || name == "bf16-mixed";
  SORI_CHECK(half || bf16 || name == "32" || name == "fp32" || name == "64",
             "trainer.precision: expected 32, bf16, 16 or 64, found '", name, "'");
  if (name == "64") return {false, at::kFloat, false, at::kDouble};
  if ((half || bf16) && !device.is_cuda()) {
    spdlog::warn("trainer.precision={} needs CUDA; running fp32 on {}", name, device.str());
    return {};
  }
  if (half) return {true, at::kHalf, true};
  if (bf16) return {true, at::kBFloat16, false};
  return {};
}

}  // namespace sori
