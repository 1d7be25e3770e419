// ONNX export of a trained FastConformer-CTC (encoder + CTC head), built op by op with the ONNX
// protobuf API (LibTorch has no C++ exporter). IR 8, opset 17. Inputs as NeMo's export:
// `audio_signal` float32 [B, n_mels, T] and `length` int64 [B]; outputs `logprobs` float32
// [B, T', V+1] and `encoded_lengths` int64 [B] (our addition). B and T are dynamic; padding is
// masked as in evaluation. BatchNorm is folded into the depthwise convolution. Vocabulary,
// blank index, sample rate, subsampling factor and feature settings go to metadata_props.
#pragma once

#include <string>

#include "sori/train/pretrained.h"

namespace sori {

struct OnnxExportOptions {
  bool fp16 = false;  // weights and compute in float16, float32 inputs and outputs
  // The graph starts from 16 kHz audio: `audio` float32 [B, N] and `audio_length` int64 [B],
  // with preemphasis, STFT (opset-17 STFT), mel projection, log and per-feature normalisation
  // computed in float64 inside, as LogMelFeatures does.
  bool with_preprocessor = false;
};

// Writes the model atomically after onnx::checker::check_model and shape inference pass.
void export_onnx(PretrainedModel& model, const std::string& path, const OnnxExportOptions& options = {});

}  // namespace sori
