// Our weights under NeMo's state-dict keys (they are the same names, see docs/TRAINING.md),
// including the preprocessor buffers preprocessor.featurizer.window and .fb, in a pickle that
// Python's torch.load opens as a dict: `model.load_state_dict(torch.load(path))` in NeMo.
#pragma once

#include <string>

#include "sori/train/pretrained.h"

namespace sori {

// The pickle bytes (torch.save-compatible zip) of the model's NeMo-keyed tensors.
std::string nemo_weights_pickle(CtcModel& model);
void export_nemo_state_dict(PretrainedModel& model, const std::string& path);

}  // namespace sori
