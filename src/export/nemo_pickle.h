// A small reader for the pickles torch.save writes (protocol 2), enough for NeMo's
// model_weights.ckpt: an OrderedDict (with a `_metadata` BUILD state) of tensors rebuilt by
// torch._utils._rebuild_tensor_v2 from storages stored as zip records. LibTorch's own unpickler
// turns collections.OrderedDict into None, hence this one. Private to src/export.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace sori::nemo {

// Reads a torch.save'd file (zip format) held in memory and returns its top-level dict of
// tensors (an OrderedDict or a plain dict). Throws sori::Error naming `source` on anything else.
std::map<std::string, torch::Tensor> load_torch_state_dict(const std::string& bytes, const std::string& source);

}  // namespace sori::nemo
