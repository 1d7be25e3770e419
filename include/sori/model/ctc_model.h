// The whole FastConformer-CTC model, laid out like NeMo's EncDecCTCModel so that state-dict keys
// are NeMo's: preprocessor.featurizer.{window,fb}, encoder.*, decoder.decoder_layers.0.*.
// The CTC decoder is NeMo's ConvASRDecoder: Conv1d(d_model, V + 1, 1) then log_softmax; the
// blank is the last index, V.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sori/config/config.h"
#include "sori/features/log_mel.h"
#include "sori/model/encoder.h"

namespace sori {

class ConvCtcDecoderImpl : public torch::nn::Module {
 public:
  ConvCtcDecoderImpl(int feat_in, int num_classes_with_blank);
  // encoded [B, d, T] -> log-probs [B, T, V + 1]
  torch::Tensor forward(const torch::Tensor& encoded);
  int num_classes_with_blank() const { return num_classes_; }

 private:
  int num_classes_;
  torch::nn::Sequential decoder_layers_{nullptr};
};
TORCH_MODULE(ConvCtcDecoder);

class CtcModelImpl : public torch::nn::Module {
 public:
  // vocab_size V: the decoder has V + 1 outputs.
  CtcModelImpl(const ModelConfig& config, int vocab_size);

  // audio [B, N], lengths [B] -> features [B, F, T], frame lengths [B] (on the model's device)
  std::pair<torch::Tensor, torch::Tensor> features(const torch::Tensor& audio, const torch::Tensor& lengths);
  // features -> log-probs [B, T', V + 1], encoded lengths [B]
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features, const torch::Tensor& lengths);

  LogMelFeatures featurizer() { return featurizer_; }
  ConformerEncoder encoder() { return encoder_; }
  ConvCtcDecoder decoder() { return decoder_; }
  int vocab_size() const { return vocab_size_; }

 private:
  int vocab_size_;
  LogMelFeatures featurizer_{nullptr};
  ConformerEncoder encoder_{nullptr};
  ConvCtcDecoder decoder_{nullptr};
};
TORCH_MODULE(CtcModel);

// Parameter counts of the model's parts, for `sori model-info`.
struct ParameterCount {
  std::string name;
  std::int64_t count;
};
std::vector<ParameterCount> count_parameters(CtcModel& model);
std::int64_t count_parameters(const torch::nn::Module& module);

}  // namespace sori
