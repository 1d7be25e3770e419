// Corpus-level error rates, as NeMo's WER metric with use_cer: total edits over total reference
// units across a manifest (never a mean of per-utterance rates).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sori {

struct ErrorCounts {
  std::int64_t char_edits = 0, chars = 0;                  // spaces count as characters
  std::int64_t word_edits = 0, words = 0;                  // whitespace-split words
  std::int64_t nospace_edits = 0, nospace_chars = 0;       // spaces removed from both sides
  std::int64_t utterances = 0;
  void add(const std::string& reference, const std::string& hypothesis);
  void merge(const ErrorCounts& other);
  double cer() const { return chars ? static_cast<double>(char_edits) / chars : 0.0; }
  double wer() const { return words ? static_cast<double>(word_edits) / words : 0.0; }
  // Korean's usual figure: spacing is inconsistent in Korean transcripts.
  double cer_nospace() const { return nospace_chars ? static_cast<double>(nospace_edits) / nospace_chars : 0.0; }
};

// One step of a character alignment: `reference` is 0 for an insertion, `hypothesis` 0 for a
// deletion.
enum class EditOp { equal, substitute, insert, remove };
struct AlignedChar {
  EditOp op;
  char32_t reference, hypothesis;
};

// A minimal-edit alignment of the two texts' characters, as ErrorCounts counts them (white space
// normalised first): its non-equal steps number exactly the utterance's char_edits. Where several
// alignments are minimal, substitutions are preferred to a deletion plus an insertion. Quadratic
// in time and memory: meant for single utterances.
std::vector<AlignedChar> align_characters(const std::string& reference, const std::string& hypothesis);

}  // namespace sori
