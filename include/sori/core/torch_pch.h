// Precompiled header for the targets that build tensors (CMake target_precompile_headers).
#pragma once
#include <torch/torch.h>
