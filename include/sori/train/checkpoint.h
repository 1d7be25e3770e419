// Checkpoints hold everything needed to continue a run bit for bit: model, optimizer, loss
// scaler, step, the global data position and the data-parallel shape it was reached with, every
// rank's RNG states, best metrics, the resolved config and the tokenizer. File layout:
//   "SORICKPC" | payload size (u64 LE) | CRC-32C of the payload (u64 LE) | payload
// where the payload is the archive torch::pickle_save makes of a dict. Files written before
// 2026-12-03 begin "SORICKPT" and hold FNV-1a-64 instead: they load as ever. Written atomically
// (temp file, fsync, rename), so a crash leaves the previous file intact; a torn or altered file
// fails its checksum on load.
#pragma once

#include <torch/types.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sori/model/state_dict.h"
#include "sori/train/loop_schedule.h"

namespace sori {

struct TrainProgress {
  std::int64_t step = 0;          // optimizer steps taken
  std::int64_t position = 0;      // global micro-batches consumed (step · W · A); -1: unknown (older format)
  std::int64_t skipped_steps = 0; // non-finite steps skipped
  double best_metric = 0.0;
  std::int64_t best_step = -1;    // -1: no validation yet
  std::int64_t stale_validations = 0;  // validations without improvement (early stopping)
};

struct Checkpoint {
  StateDict model;
  torch::Tensor optimizer;  // Optimizer::save's bytes (1-D uint8, CPU); undefined: none
  torch::Tensor scaler_scale, scaler_growth_tracker;
  TrainProgress progress;
  DataParallelShape shape;  // micro_batches_per_epoch 0: unknown (older format)
  // Per rank: the CPU generator and the rank's CUDA generator (undefined without CUDA).
  std::vector<torch::Tensor> cpu_rng_states, cuda_rng_states;
  std::string config_yaml;
  std::map<std::string, std::string> tokenizer_files;  // file name -> bytes (vocab.txt, tokenizer.model)
  std::map<std::string, double> metrics;               // validation metrics at this step, if any
  std::string source;  // the file it was loaded from, for errors ("" when made in memory; not saved)
};

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws sori::Error naming the file when it is torn, corrupt or not a Sori checkpoint. Reads the
// previous format (sori-checkpoint-1) too, with an unknown position and shape.
Checkpoint load_checkpoint(const std::string& path);
// The checksum the header of a file beginning with `magic` (its first 8 bytes) holds for
// `payload`; nullopt for a magic that is not a Sori checkpoint's. For tools that build files.
std::optional<std::uint64_t> checkpoint_checksum(std::string_view magic, const void* payload, std::size_t n);

// Checkpoints of one run: <run_dir>/checkpoints/{last.ckpt, last.prev.ckpt, step_<N>.ckpt} and
// index.json listing them with their metrics. `last` is written every checkpoint.every_n_steps;
// step_<N> after validations, keeping the save_top_k best by the monitored metric.
class CheckpointManager {
 public:
  CheckpointManager(std::string run_dir, int save_top_k, std::string monitor, std::string mode);

  void save_last(const Checkpoint& checkpoint);
  // Keeps the checkpoint if its monitored metric ranks within the top k.
  void save_ranked(const Checkpoint& checkpoint);
  // The newest checkpoint that loads; damaged ones (a failed checksum, or a payload LibTorch
  // cannot unpickle) are reported in `problems` and skipped. "Newest" trusts index.json only for
  // files written before it: a file written after it (a kill before the index update) comes first.
  // Its `source` is the file's path.
  std::optional<Checkpoint> load_newest_valid(std::vector<std::string>* problems) const;
  // step_<N> checkpoints, best first.
  std::vector<std::string> ranked_paths() const;
  std::string dir() const { return dir_; }
  bool better(double a, double b) const { return mode_ == "min" ? a < b : a > b; }

 private:
  struct Entry {
    std::int64_t step = 0, epoch = 0;
    std::map<std::string, double> metrics;
  };
  void record(const std::string& file, const Checkpoint& c);
  void write_index() const;
  std::string dir_;
  std::map<std::string, Entry> entries_;  // file name -> what index.json lists
  int top_k_;
  std::string monitor_, mode_;
};

}  // namespace sori
