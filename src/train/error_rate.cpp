#include "sori/train/error_rate.h"

#include "sori/core/text.h"

namespace sori {

void ErrorCounts::add(const std::string& reference, const std::string& hypothesis) {
  const auto ref = utf8_decode(normalize_whitespace(reference));
  const auto hyp = utf8_decode(normalize_whitespace(hypothesis));
  char_edits += static_cast<std::int64_t>(edit_distance(ref, hyp));
  chars += static_cast<std::int64_t>(ref.size());
  const auto ref_words = split_whitespace(reference), hyp_words = split_whitespace(hypothesis);
  word_edits += static_cast<std::int64_t>(edit_distance(ref_words, hyp_words));
  words += static_cast<std::int64_t>(ref_words.size());
  std::u32string ref_ns, hyp_ns;
  for (char32_t c : ref) if (c != U' ') ref_ns.push_back(c);
  for (char32_t c : hyp) if (c != U' ') hyp_ns.push_back(c);
  nospace_edits += static_cast<std::int64_t>(edit_distance(ref_ns, hyp_ns));
  nospace_chars += static_cast<std::int64_t>(ref_ns.size());
  ++utterances;
}

void ErrorCounts::merge(const ErrorCounts& o) {
  char_edits += o.char_edits;
  chars += o.chars;
  word_edits += o.word_edits;
  words += o.words;
  nospace_edits += o.nospace_edits;
  nospace_chars += o.nospace_chars;
  utterances += o.utterances;
}

}  // namespace sori
