#include "sori/model/ctc_model.h"

#include <torch/torch.h>

#include "sori/core/error.h"

namespace sori {

ConvCtcDecoderImpl::ConvCtcDecoderImpl(int feat_in, int num_classes_with_blank) : num_classes_(num_classes_with_blank) {
  auto conv = torch::nn::Conv1d(torch::nn::Conv1dOptions(feat_in, num_classes_with_blank, 1));
  // NeMo's ConvASRDecoder applies init_weights(mode="xavier_uniform"): weight only, default bias.
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(conv->weight);
  decoder_layers_ = register_module("decoder_layers", torch::nn::Sequential(conv));
}

torch::Tensor ConvCtcDecoderImpl::forward(const torch::Tensor& encoded) {
  return torch::log_softmax(decoder_layers_->forward(encoded).transpose(1, 2), -1);
}

CtcModelImpl::CtcModelImpl(const ModelConfig& config, int vocab_size) : vocab_size_(vocab_size) {
  SORI_CHECK(vocab_size > 0, "model: vocabulary size must be > 0, found ", vocab_size);
  auto preprocessor = std::make_shared<torch::nn::Module>();
  featurizer_ = preprocessor->register_module("featurizer", LogMelFeatures(config.preprocessor, config.sample_rate));
  register_module("preprocessor", preprocessor);
  EncoderConfig enc = config.encoder;
  if (enc.feat_in < 0) enc.feat_in = config.preprocessor.features;
  SORI_CHECK(enc.feat_in == config.preprocessor.features, "model.encoder.feat_in ", enc.feat_in,
             " differs from model.preprocessor.features ", config.preprocessor.features);
  encoder_ = register_module("encoder", ConformerEncoder(enc));
  decoder_ = register_module("decoder", ConvCtcDecoder(enc.d_model, vocab_size + 1));
}

std::pair<torch::Tensor, torch::Tensor> CtcModelImpl::features(const torch::Tensor& audio, const torch::Tensor& lengths) {
  return featurizer_->forward(audio, lengths);
}

std::pair<torch::Tensor, torch::Tensor> CtcModelImpl::forward(const torch::Tensor& features, const torch::Tensor& lengths) {
  auto [encoded, enc_lengths] = encoder_->forward(features, lengths);
  return {decoder_->forward(encoded), enc_lengths};
}

std::int64_t count_parameters(const torch::nn::Module& module) {
  std::int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

std::vector<ParameterCount> count_parameters(CtcModel& model) {
  std::vector<ParameterCount> out;
  for (const auto& child : model->encoder()->named_children()) {
    if (child.key() == "layers") {
      std::int64_t i = 0;
      for (const auto& layer : child.value()->children()) out.push_back({"encoder.layers." + std::to_string(i++), count_parameters(*layer)});
    } else {
      out.push_back({"encoder." + child.key(), count_parameters(*child.value())});
    }
  }
  out.push_back({"encoder", count_parameters(*model->encoder())});
  out.push_back({"decoder", count_parameters(*model->decoder())});
  out.push_back({"total", count_parameters(*model)});
  return out;
}

}  // namespace sori
