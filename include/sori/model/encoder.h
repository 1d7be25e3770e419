// NeMo's ConformerEncoder with FastConformer settings (modules/conformer_encoder.py):
// features [B, feat_in, T] -> pre_encode (ConvSubsampling) -> xscale + relative positional
// encoding -> n_layers ConformerBlocks -> [B, d_model, T'].
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/pimpl.h>

#include <utility>

#include "sori/config/config.h"
#include "sori/model/attention.h"
#include "sori/model/subsampling.h"

namespace sori {

class ConformerEncoderImpl : public torch::nn::Module {
 public:
  explicit ConformerEncoderImpl(const EncoderConfig& config);
  // features [B, feat_in, T], lengths int64 [B] -> encoded [B, d_model, T'], lengths [B]
  std::pair<torch::Tensor, torch::Tensor> forward(const torch::Tensor& features, const torch::Tensor& lengths);
  const EncoderConfig& config() const { return config_; }

 private:
  EncoderConfig config_;
  ConvSubsampling pre_encode_{nullptr};
  RelPositionalEncoding pos_enc_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
};
TORCH_MODULE(ConformerEncoder);

}  // namespace sori
