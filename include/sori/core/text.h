// UTF-8 and edit-distance helpers shared by the config loader, tokenizers and metrics.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sori {

// Decodes UTF-8 into code points. Invalid bytes become U+FFFD (never throws): transcripts from
// the wild must not crash the loader.
std::u32string utf8_decode(std::string_view s);
std::string utf8_encode(std::u32string_view s);
std::string utf8_encode(char32_t c);
bool utf8_valid(std::string_view s);

// Collapses runs of white space to one ASCII space and trims both ends.
std::string normalize_whitespace(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::vector<std::string> split_whitespace(std::string_view s);
std::string trim(std::string_view s);

// Levenshtein distance over any sequence of comparable items.
template <typename Seq>
std::size_t edit_distance(const Seq& a, const Seq& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate closest to `word` by edit distance ("" when there are none).
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace sori
