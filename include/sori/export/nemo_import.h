// `sori import-nemo`: a NeMo FastConformer-CTC .nemo archive -> a Sori checkpoint.
// A .nemo is a tar (gzip-compressed or plain; NeMo tries both) holding model_config.yaml,
// model_weights.ckpt (torch.save of the state dict: a pickled OrderedDict) and tokenizer files
// that the config references as `nemo:<name>`; a char model keeps its vocabulary in
// decoder.vocabulary. The layer count and sizes come from the config. RNNT/TDT/hybrid
// decoders and encoders other than ConformerEncoder (rel_pos, dw_striding) are refused.
#pragma once

#include <map>
#include <string>

namespace sori {

struct NemoImportResult {
  std::string tokenizer_type;
  int vocab_size = 0;
  int n_layers = 0;
  int d_model = 0;
  std::size_t tensors = 0;
};

struct NemoImportOptions {
  // Another vocabulary (e.g. English -> Korean): the tokenizer in this folder (vocab.txt or
  // tokenizer.model, of new_tokenizer_type) replaces NeMo's and the CTC head is re-initialised
  // as NeMo initialises it; everything else keeps NeMo's weights.
  std::string new_tokenizer_dir;
  std::string new_tokenizer_type = "char";
  // Where to write the tokenizer files, so a training config's model.tokenizer.dir can use them.
  std::string tokenizer_out;
};

// Writes a checkpoint at step 0 with a fresh optimizer: for `sori train --resume` (with a config
// of the same architecture and tokenizer) or export.
NemoImportResult import_nemo(const std::string& nemo_path, const std::string& output_checkpoint,
                             const NemoImportOptions& options = {});

}  // namespace sori
