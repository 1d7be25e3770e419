// Greedy-CTC evaluation of a model on one dataset: hypotheses and corpus-level CER/WER.
// Used by validation during training and by `sori eval`.
#pragma once

#include <string>
#include <vector>

#include "sori/config/config.h"
#include "sori/data/dataset.h"
#include "sori/data/tokenizer.h"
#include "sori/model/ctc_model.h"
#include "sori/train/error_rate.h"

namespace sori {

struct EvaluationOptions {
  double batch_duration = 120.0;
  int batch_size = 0;
  int num_workers = 1;
  int sample_rate = 16000;
  torch::Device device = torch::kCPU;
  std::string precision = "32";
  // Data-parallel validation: rank r decodes batches r, r + W, ... of the same batch list, and
  // the summed counts of all ranks equal one process's.
  int rank = 0;
  int world_size = 1;
  // Leave out utterances that fail to decode (validation_ds.skip_invalid); they count nowhere.
  bool skip_invalid = false;
};

struct Evaluation {
  ErrorCounts counts;                               // this rank's share
  std::vector<std::string> references, hypotheses;  // in dataset order (empty where another rank decoded)
  std::vector<bool> decoded;                        // in dataset order: this rank decoded it
  std::vector<ErrorCounts> utterance_counts;        // in dataset order (zero where another rank decoded)
};

Evaluation evaluate(CtcModel& model, const Dataset& dataset, const Tokenizer& tokenizer, const EvaluationOptions& options);

// Writes sclite trn files (one token per character, spaces as '▁', "(utt_id)" at the end of each
// line) so that sclite's word error rate over them is our CER.
void write_trn(const std::string& dir, const Evaluation& evaluation);

}  // namespace sori
