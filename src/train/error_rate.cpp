#include "sori/train/error_rate.h"

#include <algorithm>

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

std::vector<AlignedChar> align_characters(const std::string& reference, const std::string& hypothesis) {
  const auto ref = utf8_decode(normalize_whitespace(reference));
  const auto hyp = utf8_decode(normalize_whitespace(hypothesis));
  const std::size_t n = ref.size(), m = hyp.size(), width = m + 1;
  // cost[i * width + j]: edits between the first i reference and first j hypothesis characters.
  std::vector<std::uint32_t> cost((n + 1) * width);
  for (std::size_t j = 0; j <= m; ++j) cost[j] = static_cast<std::uint32_t>(j);
  for (std::size_t i = 1; i <= n; ++i) {
    cost[i * width] = static_cast<std::uint32_t>(i);
    for (std::size_t j = 1; j <= m; ++j)
      cost[i * width + j] = std::min({cost[(i - 1) * width + j] + 1, cost[i * width + j - 1] + 1,
                                      cost[(i - 1) * width + j - 1] + (ref[i - 1] == hyp[j - 1] ? 0u : 1u)});
  }
  std::vector<AlignedChar> steps;
  std::size_t i = n, j = m;
  while (i > 0 || j > 0) {
    const std::uint32_t here = cost[i * width + j];
    if (i > 0 && j > 0 && here == cost[(i - 1) * width + j - 1] + (ref[i - 1] == hyp[j - 1] ? 0u : 1u)) {
      steps.push_back({ref[i - 1] == hyp[j - 1] ? EditOp::equal : EditOp::substitute, ref[i - 1], hyp[j - 1]});
      --i;
      --j;
    } else if (i > 0 && here == cost[(i - 1) * width + j] + 1) {
      steps.push_back({EditOp::remove, ref[i - 1], 0});
      --i;
    } else {
      steps.push_back({EditOp::insert, 0, hyp[j - 1]});
      --j;
    }
  }
  std::reverse(steps.begin(), steps.end());
  return steps;
}

}  // namespace sori
