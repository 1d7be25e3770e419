// The one list of config keys. Each visit_fields names every key of a struct once; the YAML
// reader and writer (yaml_io.h) walk these lists, so a key added here is loaded, validated and
// printed with no other change.
#pragma once

#include "sori/config/config.h"

namespace sori::schema {

template <class V> void visit_fields(V& v, DatasetConfig& c) {
  v("manifest_filepath", c.manifest_filepath);
  v("batch_duration", c.batch_duration);
  v("batch_size", c.batch_size);
  v("num_buckets", c.num_buckets);
  v("min_duration", c.min_duration);
  v("max_duration", c.max_duration);
  v("shuffle", c.shuffle);
  v("num_workers", c.num_workers);
  v("prefetch_batches", c.prefetch_batches);
  v("skip_invalid", c.skip_invalid);
  v("drop_infeasible", c.drop_infeasible);
}

template <class V> void visit_fields(V& v, TokenizerConfig& c) {
  v("type", c.type);
  v("dir", c.dir);
  v("vocab_size", c.vocab_size);
}

template <class V> void visit_fields(V& v, PreprocessorConfig& c) {
  v("features", c.features);
  v("window_size", c.window_size);
  v("window_stride", c.window_stride);
  v("n_fft", c.n_fft);
  v("dither", c.dither);
  v("preemph", c.preemph);
  v("log_zero_guard_value", c.log_zero_guard_value);
}

template <class V> void visit_fields(V& v, SpecAugmentConfig& c) {
  v("freq_masks", c.freq_masks);
  v("freq_width", c.freq_width);
  v("time_masks", c.time_masks);
  v("time_width", c.time_width);
  v("mask_value", c.mask_value);
}

template <class V> void visit_fields(V& v, NoiseConfig& c) {
  v("prob", c.prob);
  v("snr_db", c.snr_db);
  v("manifest_filepath", c.manifest_filepath);
  v("color", c.color);
}

template <class V> void visit_fields(V& v, AugmentationConfig& c) {
  v("speed_perturb", c.speed_perturb);
  v("noise", c.noise);
  v("resample_quality", c.resample_quality);
}

template <class V> void visit_fields(V& v, EncoderConfig& c) {
  v("feat_in", c.feat_in);
  v("n_layers", c.n_layers);
  v("d_model", c.d_model);
  v("n_heads", c.n_heads);
  v("subsampling", c.subsampling);
  v("subsampling_factor", c.subsampling_factor);
  v("subsampling_conv_channels", c.subsampling_conv_channels);
  v("ff_expansion_factor", c.ff_expansion_factor);
  v("self_attention_model", c.self_attention_model);
  v("conv_kernel_size", c.conv_kernel_size);
  v("conv_norm_type", c.conv_norm_type);
  v("xscaling", c.xscaling);
  v("untie_biases", c.untie_biases);
  v("pos_emb_max_len", c.pos_emb_max_len);
  v("dropout", c.dropout);
  v("dropout_pre_encoder", c.dropout_pre_encoder);
  v("dropout_emb", c.dropout_emb);
  v("dropout_att", c.dropout_att);
}

template <class V> void visit_fields(V& v, DecoderConfig& c) {
  v("num_classes", c.num_classes);
  v("vocabulary", c.vocabulary);
}

template <class V> void visit_fields(V& v, SchedConfig& c) {
  v("name", c.name);
  v("warmup_steps", c.warmup_steps);
  v("warmup_ratio", c.warmup_ratio);
  v("min_lr", c.min_lr);
}

template <class V> void visit_fields(V& v, OptimConfig& c) {
  v("name", c.name);
  v("lr", c.lr);
  v("betas", c.betas);
  v("weight_decay", c.weight_decay);
  v("eps", c.eps);
  v("sched", c.sched);
}

template <class V> void visit_fields(V& v, ModelConfig& c) {
  v("sample_rate", c.sample_rate);
  v("train_ds", c.train_ds);
  v("validation_ds", c.validation_ds);
  v("test_ds", c.test_ds);
  v("tokenizer", c.tokenizer);
  v("preprocessor", c.preprocessor);
  v("spec_augment", c.spec_augment);
  v("augmentation", c.augmentation);
  v("encoder", c.encoder);
  v("decoder", c.decoder);
  v("optim", c.optim);
}

template <class V> void visit_fields(V& v, TrainerConfig& c) {
  v("device", c.device);
  v("num_threads", c.num_threads);
  v("max_steps", c.max_steps);
  v("max_epochs", c.max_epochs);
  v("max_time_s", c.max_time_s);
  v("val_check_interval", c.val_check_interval);
  v("accumulate_grad_batches", c.accumulate_grad_batches);
  v("gradient_clip_val", c.gradient_clip_val);
  v("precision", c.precision);
  v("run_dir", c.run_dir);
  v("seed", c.seed);
  v("log_every_n_steps", c.log_every_n_steps);
  v("max_consecutive_skips", c.max_consecutive_skips);
  v("log_utterances", c.log_utterances);
  v("bucket_group", c.bucket_group);
  v("dist_timeout_s", c.dist_timeout_s);
  v("dist_startup_timeout_s", c.dist_startup_timeout_s);
  v("ddp_bucket_mb", c.ddp_bucket_mb);
  v("ddp_overlap", c.ddp_overlap);
  v("sync_batchnorm", c.sync_batchnorm);
  v("loss_reduction", c.loss_reduction);
}

template <class V> void visit_fields(V& v, EarlyStoppingConfig& c) {
  v("enabled", c.enabled);
  v("patience", c.patience);
  v("min_delta", c.min_delta);
}

template <class V> void visit_fields(V& v, CheckpointConfig& c) {
  v("every_n_steps", c.every_n_steps);
  v("save_top_k", c.save_top_k);
  v("monitor", c.monitor);
  v("mode", c.mode);
  v("on_write_error", c.on_write_error);
  v("early_stopping", c.early_stopping);
}

template <class V> void visit_fields(V& v, Config& c) {
  v("name", c.name);
  v("model", c.model);
  v("trainer", c.trainer);
  v("checkpoint", c.checkpoint);
}

}  // namespace sori::schema
