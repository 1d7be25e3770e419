// Typed configuration, nested the way NeMo nests its YAML (model.train_ds, model.encoder, ...),
// so a NeMo user recognises every key. The key list lives in one place (src/config/config_schema.h)
// and drives loading, validation (unknown keys are errors naming file, line and nearest key) and
// printing of the resolved config.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sori {

// NeMo decides some keys by the scalar's type: an int counts (frames, steps), a float in [0, 1]
// is a fraction (of an utterance's length, of an epoch). `time_width: 40` vs `time_width: 0.05`.
struct FractionOrCount {
  bool is_fraction = true;
  double value = 1.0;
  static FractionOrCount fraction(double f) { return {true, f}; }
  static FractionOrCount count(double n) { return {false, n}; }
  // Resolves against a total: a fraction of it, or the count itself.
  double resolve(double total) const { return is_fraction ? value * total : value; }
};

struct DatasetConfig {
  // One or more manifests (YAML list or comma-separated string).
  std::vector<std::string> manifest_filepath;
  double batch_duration = 0.0;  // seconds of audio per batch (sum of durations); 0: use batch_size
  int batch_size = 0;           // fixed utterances per batch, when batch_duration is 0
  int num_buckets = 8;
  double min_duration = 0.1;
  double max_duration = 16.7;
  bool shuffle = true;
  int num_workers = 2;
  int prefetch_batches = 4;
  bool skip_invalid = false;
  bool drop_infeasible = true;  // drop utterances CTC cannot align (see docs/DATA.md)
};

struct TokenizerConfig {
  std::string type = "char";  // char | sentencepiece | jamo
  std::string dir;            // holds vocab.txt (char, jamo) or tokenizer.model (sentencepiece)
  int vocab_size = 256;       // for `sori tokenizer train`
};

struct PreprocessorConfig {
  int features = 80;
  double window_size = 0.025;
  double window_stride = 0.01;
  int n_fft = 512;
  double dither = 1.0e-5;
  double preemph = 0.97;
  double log_zero_guard_value = 5.9604644775390625e-08;  // 2^-24, NeMo's default
};

struct SpecAugmentConfig {
  int freq_masks = 2;
  int freq_width = 27;
  int time_masks = 10;
  FractionOrCount time_width = FractionOrCount::fraction(0.05);
  double mask_value = 0.0;
};

struct NoiseConfig {
  double prob = 0.0;
  std::vector<double> snr_db = {10.0, 30.0};
  std::vector<std::string> manifest_filepath;  // noise recordings; empty: generated noise
  std::string color = "pink";                  // generated noise: white | pink
};

struct AugmentationConfig {
  std::vector<double> speed_perturb;  // e.g. [0.9, 1.0, 1.1]; empty: none
  NoiseConfig noise;
  std::string resample_quality = "sinc_medium";  // sinc_best | sinc_medium | sinc_fastest | linear
};

struct EncoderConfig {
  int feat_in = -1;  // -1: model.preprocessor.features
  int n_layers = 16;
  int d_model = 176;
  int n_heads = 4;
  std::string subsampling = "dw_striding";
  int subsampling_factor = 8;
  int subsampling_conv_channels = 256;
  int ff_expansion_factor = 4;
  std::string self_attention_model = "rel_pos";
  int conv_kernel_size = 9;
  std::string conv_norm_type = "batch_norm";
  bool xscaling = true;
  bool untie_biases = true;
  int pos_emb_max_len = 5000;
  double dropout = 0.1;
  double dropout_pre_encoder = 0.1;
  double dropout_emb = 0.0;
  double dropout_att = 0.1;
  bool use_pytorch_sdpa = false;
};

struct DecoderConfig {
  int num_classes = -1;                 // -1: from the tokenizer (vocabulary size; blank is extra)
  std::vector<std::string> vocabulary;  // char models imported from NeMo keep it here
};

struct SchedConfig {
  std::string name = "CosineAnnealing";  // CosineAnnealing | NoamAnnealing | none
  int warmup_steps = 1000;
  double warmup_ratio = 0.0;  // used when warmup_steps is 0
  double min_lr = 1.0e-5;
};

struct OptimConfig {
  std::string name = "adamw";
  double lr = 1.0e-3;
  std::vector<double> betas = {0.9, 0.98};
  double weight_decay = 1.0e-3;
  double eps = 1.0e-8;
  SchedConfig sched;
};

struct ModelConfig {
  int sample_rate = 16000;
  DatasetConfig train_ds;
  DatasetConfig validation_ds;
  DatasetConfig test_ds;
  TokenizerConfig tokenizer;
  PreprocessorConfig preprocessor;
  SpecAugmentConfig spec_augment;
  AugmentationConfig augmentation;
  EncoderConfig encoder;
  DecoderConfig decoder;
  OptimConfig optim;
};

struct TrainerConfig {
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int num_threads = 0;          // 0: keep LibTorch's default
  std::int64_t max_steps = -1;
  int max_epochs = 50;
  double max_time_s = 0.0;  // stop after this much training time; 0: no limit
  FractionOrCount val_check_interval = FractionOrCount::fraction(1.0);
  int accumulate_grad_batches = 1;
  double gradient_clip_val = 1.0;
  std::string precision = "32";  // 32 | bf16 | 16 | 64 (float64, for numerical tests)
  std::string run_dir;           // default runs/<name>
  std::uint64_t seed = 1234;
  int log_every_n_steps = 50;
  // Steps with non-finite gradients are skipped and counted; this many in a row end the run
  // with an error (it has diverged). 0: never.
  int max_consecutive_skips = 20;
  // Each rank appends the utterances (manifest:line) of every micro-batch it trains on to
  // <run_dir>/utterances/rank<R>.jsonl: an audit of the data order across resumes.
  bool log_utterances = false;
  // Data-parallel training (docs/DISTRIBUTED.md). The world size comes from the launcher.
  int bucket_group = 8;                   // G: runs of G same-bucket micro-batches; the world size must divide it
  double dist_timeout_s = 600.0;          // a collective waits this long for a silent rank
  double dist_startup_timeout_s = 1800.0;  // rendezvous and start-up agreement (large manifests filter slowly)
  double ddp_bucket_mb = 25.0;            // gradient all-reduce bucket size
  bool ddp_overlap = true;                // all-reduce buckets while backward runs
  bool sync_batchnorm = true;             // BatchNorm statistics over all ranks' frames, as NeMo trains
  // CTC normalisation: global_tokens = sum of utterance losses over all ranks and micro-batches
  // of the step / their total target tokens; nemo = per-micro-batch mean_volume, averaged.
  std::string loss_reduction = "global_tokens";
};

struct EarlyStoppingConfig {
  bool enabled = false;
  int patience = 10;  // validations without improvement
  double min_delta = 0.0;
};

struct CheckpointConfig {
  int every_n_steps = 500;
  int save_top_k = 3;
  std::string monitor = "val_cer";
  std::string mode = "min";  // min | max
  // A checkpoint that cannot be written (disk full, quota, I/O error): `stop` ends the run with
  // an error, `continue` logs it and trains on. The previous checkpoints stay intact either way.
  std::string on_write_error = "stop";
  // Write checkpoints on a background thread from a copy taken at the step boundary. Off by
  // default: a kill loses the write in flight too, up to two save intervals instead of one.
  bool async_write = false;
  EarlyStoppingConfig early_stopping;
};

struct Config {
  std::string name = "sori";
  ModelConfig model;
  TrainerConfig trainer;
  CheckpointConfig checkpoint;
};

// Loads a YAML file, applies `key.path=value` overrides (Hydra style), validates and resolves
// derived defaults (trainer.run_dir). Throws sori::Error naming file:line and the nearest key.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});
Config load_config_from_string(const std::string& yaml, const std::string& source_name,
                               const std::vector<std::string>& overrides = {});

// The resolved config as YAML (loadable again by load_config).
std::string config_to_yaml(const Config& config);

}  // namespace sori
