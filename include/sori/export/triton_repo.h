// A Triton Inference Server model repository around an exported ONNX model:
//   DIR/<name>/1/model.onnx, DIR/<name>/config.pbtxt, DIR/<name>/vocab.txt, DIR/README.md.
// With max_batch_size > 0 Triton makes the batch dimension implicit, so `length` (int64 [B])
// is declared dims [1] with reshape { shape: [] } and the variable axes are -1.
#pragma once

#include <string>
#include <vector>

#include "sori/train/pretrained.h"

namespace sori {

struct TritonOptions {
  std::string model_name = "stt_fastconformer";
  int max_batch_size = 16;
  std::vector<int> preferred_batch_sizes = {4, 8, 16};
  int max_queue_delay_us = 100;
  std::string instance_kind = "KIND_GPU";
};

std::string triton_config_pbtxt(const PretrainedModel& model, const TritonOptions& options, bool fp16);
// Writes the repository (the ONNX model with export_onnx).
void write_triton_repo(PretrainedModel& model, const std::string& dir, const TritonOptions& options, bool fp16);

}  // namespace sori
