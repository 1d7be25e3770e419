#include "tone_corpus.h"

#include <cmath>
#include <random>

#include "sori/data/audio.h"

namespace sori::test {

std::string make_tone_corpus(const TempDir& dir, const std::string& name, int count, unsigned seed) {
  const std::string alphabet = "abcdef";
  std::mt19937 rng(seed);
  std::string lines;
  for (int i = 0; i < count; ++i) {
    std::string text;
    const int len = 2 + static_cast<int>(rng() % 4);
    for (int k = 0; k < len; ++k) text += alphabet[rng() % alphabet.size()];
    std::vector<float> audio(1600, 0.0f);
    for (char c : text) {
      const double hz = 300.0 + 250.0 * (c - 'a');
      for (int s = 0; s < 1280; ++s) audio.push_back(0.4f * static_cast<float>(std::sin(2 * M_PI * hz * s / 16000.0)));
      audio.insert(audio.end(), 320, 0.0f);
    }
    audio.insert(audio.end(), 1600, 0.0f);
    const std::string wav = name + "_" + std::to_string(i) + ".wav";
    write_wav(dir.path(wav), audio, 16000);
    lines += "{\"audio_filepath\": \"" + wav + "\", \"duration\": " + std::to_string(audio.size() / 16000.0) +
             ", \"text\": \"" + text + "\"}\n";
  }
  const std::string manifest = dir.path(name + ".jsonl");
  write_text(manifest, lines);
  return manifest;
}

std::string tiny_config_yaml(const std::string& train_manifest, const std::string& val_manifest,
                             const std::string& run_dir) {
  return "name: tiny\n"
         "model:\n"
         "  train_ds: {manifest_filepath: " + train_manifest + ", batch_size: 4, num_buckets: 2, num_workers: 1, max_duration: 30}\n"
         "  validation_ds: {manifest_filepath: " + val_manifest + ", batch_size: 8, max_duration: 30}\n"
         "  tokenizer: {type: char, dir: " + run_dir + "/no_vocab}\n"
         "  spec_augment: {freq_masks: 0, time_masks: 0}\n"
         "  encoder: {n_layers: 1, d_model: 32, n_heads: 2, subsampling_factor: 4, subsampling_conv_channels: 8,\n"
         "            conv_kernel_size: 5, dropout: 0.0, dropout_pre_encoder: 0.0, dropout_att: 0.0}\n"
         "  optim: {lr: 5.0e-3, weight_decay: 0.0, sched: {name: CosineAnnealing, warmup_steps: 10, min_lr: 1.0e-4}}\n"
         "trainer: {device: cpu, max_steps: 200, max_epochs: 1000, num_threads: 1, log_every_n_steps: 10, val_check_interval: 50, bucket_group: 1, run_dir: " + run_dir + "}\n"
         "checkpoint: {every_n_steps: 50, save_top_k: 2}\n";
}

}  // namespace sori::test
