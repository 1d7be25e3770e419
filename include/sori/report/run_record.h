// Everything `sori report` shows about one run, read from its trainer.run_dir:
//   metrics.jsonl               training and validation rows (metrics_history.h)
//   config.yaml                 the resolved config, shown verbatim
//   run_info.json               one object describing hardware and software; whatever keys it has
//   checkpoints/*.ckpt          with checkpoints/index.json's step, epoch and metrics per file
//   validation/rank<R>.jsonl    the latest validation's utterances (validation_examples.h)
// Only the folder itself is required: a part that is missing is left empty, and a part that is
// damaged is described in `problems` instead of ending the report.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sori/report/metrics_history.h"
#include "sori/report/validation_examples.h"

namespace sori {

struct CheckpointFile {
  std::string file;  // name inside checkpoints/
  std::uintmax_t bytes = 0;
  bool indexed = false;  // index.json describes it; else step, epoch and metrics are unknown
  std::int64_t step = -1, epoch = -1;
  std::map<std::string, double> metrics;
};

struct RunRecord {
  std::string dir, name;  // dir: absolute
  std::optional<MetricsHistory> metrics;  // none: no metrics.jsonl
  std::string config_yaml;
  std::string monitor = "val_cer", mode = "min";  // the config's checkpoint.monitor and .mode
  std::vector<std::pair<std::string, std::string>> info;  // run_info.json, in its order
  std::vector<CheckpointFile> checkpoints;                // by step, then name
  ValidationExamples validation;
  // run_info.json's "started" (else config.yaml's time) and metrics.jsonl's time (else the newest
  // file's), as UTC "YYYY-MM-DDTHH:MM:SSZ"; "" when unknown.
  std::string started, updated;
  std::vector<std::string> problems;
};

// A run's name: its folder's.
std::string run_name(const std::string& dir);
// Names for a legend: folder names, or the paths as given where two runs share a folder name.
std::vector<std::string> run_names(const std::vector<std::string>& dirs);

// Throws sori::Error when `dir` is not a folder or holds none of config.yaml, metrics.jsonl and
// checkpoints/ (not a run directory).
RunRecord read_run(const std::string& dir);

}  // namespace sori
