// Stand-in for LibTorch's distributed-autograd context header, which c10d's reducer.hpp includes
// but Debian's libtorch-dev does not ship. The Reducer only static_asserts that its gradient
// callback type equals DistAutogradContext::GradCallback, so these two declarations (the same as
// PyTorch's) are all it needs. CMake puts this folder on the include path only when the real
// header is missing (PyTorch wheels ship it).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch::distributed::autograd {

class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;

}  // namespace torch::distributed::autograd
