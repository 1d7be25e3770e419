#include "sori/export/triton_repo.h"

#include <filesystem>
#include <sstream>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/export/onnx_export.h"

namespace sori {

std::string triton_config_pbtxt(const PretrainedModel& m, const TritonOptions& o, bool fp16) {
  SORI_CHECK(o.max_batch_size > 0, "triton: --max-batch-size must be > 0 (dynamic batching), found ", o.max_batch_size);
  std::ostringstream s;
  s << "name: \"" << o.model_name << "\"\n"
    << "platform: \"onnxruntime_onnx\"\n"
    << "max_batch_size: " << o.max_batch_size << "\n"
    << "input [\n"
    << "  { name: \"audio_signal\" data_type: TYPE_FP32 dims: [ " << m.config.model.preprocessor.features << ", -1 ] },\n"
    << "  { name: \"length\" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } }\n"
    << "]\n"
    << "output [\n"
    << "  { name: \"logprobs\" data_type: TYPE_FP32 dims: [ -1, " << m.tokenizer->vocab_size() + 1 << " ] },\n"
    << "  { name: \"encoded_lengths\" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } }\n"
    << "]\n"
    << "dynamic_batching {\n  preferred_batch_size: [ ";
  for (std::size_t i = 0; i < o.preferred_batch_sizes.size(); ++i) s << (i ? ", " : "") << o.preferred_batch_sizes[i];
  s << " ]\n  max_queue_delay_microseconds: " << o.max_queue_delay_us << "\n}\n"
    << "instance_group [ { kind: " << o.instance_kind << " count: 1 } ]\n"
    << "parameters { key: \"precision\" value: { string_value: \"" << (fp16 ? "fp16" : "fp32") << "\" } }\n";
  return s.str();
}

void write_triton_repo(PretrainedModel& m, const std::string& dir, const TritonOptions& o, bool fp16) {
  namespace fs = std::filesystem;
  const auto model_dir = fs::path(dir) / o.model_name;
  fs::create_directories(model_dir / "1");
  export_onnx(m, (model_dir / "1" / "model.onnx").string(), OnnxExportOptions{fp16});
  write_file_atomic((model_dir / "config.pbtxt").string(), triton_config_pbtxt(m, o, fp16));
  std::string vocab;
  for (const auto& t : m.tokenizer->vocabulary()) vocab += (t == " " ? std::string("\xE2\x96\x81") : t) + "\n";
  write_file_atomic((model_dir / "vocab.txt").string(), vocab);
  std::ostringstream readme;
  readme << "# Triton model repository (written by `sori export --triton-repo`)\n\n"
         << "`" << o.model_name << "`: FastConformer-CTC as ONNX (opset 17). Inputs: `audio_signal` float32 [B, "
         << m.config.model.preprocessor.features << ", T] log-mel features (NeMo's preprocessing; settings in the\n"
         << "model's metadata_props) and `length` int64 [B]. Outputs: `logprobs` float32 [B, T', "
         << m.tokenizer->vocab_size() + 1 << "] (blank = " << m.tokenizer->blank_id()
         << ", the last index) and `encoded_lengths` int64 [B]. `vocab.txt` lists the tokens in id order\n"
         << "(the space written as U+2581).\n\n"
         << "Dynamic batching: Triton's dynamic batcher merges only requests of the same shape.\n"
         << "Clients should therefore pad features to a few length buckets (for example multiples of\n"
         << "2 s of audio) and pass the true `length`: the model masks the padding, so results on the\n"
         << "valid frames do not change.\n";
  write_file_atomic((fs::path(dir) / "README.md").string(), readme.str());
}

}  // namespace sori
