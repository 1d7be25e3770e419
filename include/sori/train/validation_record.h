// What a validation leaves for people to read besides its metrics: every utterance this rank
// decoded, with reference, hypothesis and edit counts (<run_dir>/validation/rank<R>.jsonl, which
// `sori report` pools across ranks; format in docs/REPORTS.md), and a few examples as Markdown for
// TensorBoard's text plugin.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "sori/data/dataset.h"
#include "sori/train/evaluate.h"

namespace sori {

// One JSON line per utterance of `dataset` this rank decoded, in dataset order: step, dataset,
// where (manifest:line), audio, duration, reference, hypothesis, char_edits, chars, word_edits,
// words. Invalid UTF-8 in a transcript is replaced, never a reason to fail.
std::string validation_result_lines(const Evaluation& evaluation, const Dataset& dataset, const std::string& name,
                                    std::int64_t step);

// A Markdown table of the first `count` utterances this rank decoded: reference | hypothesis.
std::string validation_examples_markdown(const Evaluation& evaluation, std::size_t count);

}  // namespace sori
