// The decoded validation utterances a run keeps for people to read: <run_dir>/validation/rank<R>.jsonl,
// one file per rank, each rewritten atomically at every validation with that rank's share, one
// line per utterance:
//   {"step": N, "dataset": "<name>", "where": "manifest.jsonl:12", "audio": "a.wav", "duration": 2.5,
//    "reference": "...", "hypothesis": "...", "char_edits": 3, "chars": 20, "word_edits": 1, "words": 4}
// The files are pooled and only the highest step kept: a rank that a resume on fewer ranks no longer
// has leaves a file from an older validation behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sori {

struct ValidationUtterance {
  std::int64_t step = 0;
  std::string dataset, where, audio;
  double duration = 0.0;
  std::string reference, hypothesis;
  std::int64_t char_edits = 0, chars = 0, word_edits = 0, words = 0;
  // char_edits / chars; an empty reference with edits counts as infinitely bad.
  double cer() const;
};

struct ValidationExamples {
  std::int64_t step = -1;  // -1: no validation file, or only empty ones
  std::vector<ValidationUtterance> utterances;
  std::vector<std::string> files;  // the rank files read
};

// Empty when the run has no validation/ folder. Throws sori::Error naming path:line for a row
// without step, reference, hypothesis, char_edits or chars.
ValidationExamples read_validation_examples(const std::string& run_dir);

// The `n` with the highest utterance CER, worst first; equal CERs rank the one with more edits
// first, then by dataset and place, so the order is stable from run to run.
std::vector<ValidationUtterance> worst_utterances(std::vector<ValidationUtterance> utterances, std::size_t n);

}  // namespace sori
