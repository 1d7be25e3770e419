// A run directory as the trainer leaves it, made up for the report tests: metrics.jsonl (20
// training rows, steps 10..200, loss spanning two decades; validations at 50, 100, 150, 200 on
// manifests dev_a and dev_b), config.yaml, run_info.json, checkpoints with index.json (plus a file
// the index does not list), and validation/rank{0,1}.jsonl at step 200 with rank2.jsonl left from
// step 150. Transcripts include markup ("<script>") and Hangul.
#pragma once

#include <string>

namespace sori::test {

struct SyntheticRun {
  double scale = 1.0;           // multiplies losses and error rates, to tell runs apart
  bool torn_last_line = false;  // append half a row to metrics.jsonl
};

void write_synthetic_run(const std::string& dir, const SyntheticRun& options = {});

// One line of validation/rank<R>.jsonl: `line` of manifest `dataset`, with the edits and counts the
// trainer would record for it.
std::string validation_row(int step, const std::string& dataset, int line, const std::string& reference,
                           const std::string& hypothesis);

}  // namespace sori::test
