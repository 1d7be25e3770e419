// A run's metrics.jsonl (see MetricsLog and Trainer) read back for plots and reports. Training rows
// carry loss, lr, grad_norm, ...; validation rows carry val_cer, val_wer, val_cer_nospace and, per
// validation manifest, val_cer/<name>, val_wer/<name>, val_cer_nospace/<name>. A row is a validation
// row when any key starts with "val_". Each list is sorted by step (stable: file order within a step).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sori {

struct MetricsRow {
  std::int64_t step = 0;
  std::map<std::string, double> values;  // numbers only; a JSON null (a non-finite value) is NaN
  // NaN when the row lacks `key`.
  double value(const std::string& key) const;
};

struct MetricsHistory {
  std::string path;
  std::vector<MetricsRow> training, validation;
  bool torn_last_line = false;
  // The <name>s of val_cer/<name> across all validation rows, sorted.
  std::vector<std::string> validation_sets() const;
};

// Throws sori::Error naming the file when it is missing, or path:line for a row without an integer
// step or a bad line before the last.
MetricsHistory read_metrics_history(const std::string& path);

// <run_dir>/metrics.jsonl for plotting: also an error, naming the path, when the file is missing
// or holds no rows.
MetricsHistory read_run_metrics(const std::string& run_dir);

}  // namespace sori
