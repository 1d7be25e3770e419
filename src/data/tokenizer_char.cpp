#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/text.h"
#include "sori/data/jamo.h"
#include "sori/data/manifest.h"
#include "sori/data/tokenizer.h"

namespace sori {

namespace {
constexpr char32_t kSpaceMark = 0x2581;  // '▁' stands for ' ' in vocab.txt
}

CharTokenizer::CharTokenizer(std::u32string vocabulary, bool jamo) : chars_(std::move(vocabulary)), jamo_(jamo) {
  SORI_CHECK(!chars_.empty(), "char tokenizer: empty vocabulary");
  for (std::size_t i = 0; i < chars_.size(); ++i) index_.emplace_back(chars_[i], static_cast<int>(i));
  std::sort(index_.begin(), index_.end());
  for (std::size_t i = 1; i < index_.size(); ++i)
    SORI_CHECK(index_[i].first != index_[i - 1].first, "char tokenizer: character '",
               utf8_encode(index_[i].first), "' appears twice in the vocabulary");
}

std::unique_ptr<CharTokenizer> CharTokenizer::load(const std::string& vocab_file, bool jamo) {
  std::ifstream in(vocab_file);
  SORI_CHECK(in, "tokenizer vocabulary ", vocab_file, ": cannot open file");
  std::u32string chars;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto cps = utf8_decode(line);
    SORI_CHECK(cps.size() == 1, "tokenizer vocabulary ", vocab_file, ":", line_no,
               ": expected one character per line, found '", line, "'");
    chars.push_back(cps[0] == kSpaceMark ? U' ' : cps[0]);
  }
  return std::make_unique<CharTokenizer>(chars, jamo);
}

std::unique_ptr<CharTokenizer> CharTokenizer::build(const std::vector<std::string>& manifests, bool jamo) {
  std::set<char32_t> seen;
  if (jamo)
    for (char32_t c : jamo::all_jamo()) seen.insert(c);
  for (const auto& m : manifests)
    for (const auto& e : read_manifest(m, /*skip_invalid=*/true)) {
      auto cps = utf8_decode(normalize_whitespace(e.text));
      if (jamo) cps = jamo::decompose(cps);
      seen.insert(cps.begin(), cps.end());
    }
  if (seen.empty()) {
    std::string names;
    for (const auto& m : manifests) names += (names.empty() ? "" : ", ") + m;
    SORI_FAIL("char tokenizer: no utterance with text in the training manifests (", names,
              ") to build a vocabulary from: is the manifest empty?");
  }
  return std::make_unique<CharTokenizer>(std::u32string(seen.begin(), seen.end()), jamo);
}

std::vector<int> CharTokenizer::encode(const std::string& text) const {
  auto cps = utf8_decode(normalize_whitespace(text));
  if (jamo_) cps = jamo::decompose(cps);
  std::vector<int> ids;
  ids.reserve(cps.size());
  for (char32_t c : cps) {
    auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(c, -1));
    if (it == index_.end() || it->first != c) {
      unknown_.fetch_add(1);
      continue;
    }
    ids.push_back(it->second);
  }
  return ids;
}

std::string CharTokenizer::decode(const std::vector<int>& ids) const {
  std::u32string out;
  for (int id : ids)
    if (id >= 0 && id < vocab_size()) out.push_back(chars_[static_cast<std::size_t>(id)]);
  return utf8_encode(jamo_ ? jamo::compose(out) : out);
}

std::vector<std::string> CharTokenizer::vocabulary() const {
  std::vector<std::string> v;
  for (char32_t c : chars_) v.push_back(utf8_encode(c));
  return v;
}

void CharTokenizer::save(const std::string& dir) const {
  std::string out;
  for (char32_t c : chars_) out += utf8_encode(c == U' ' ? kSpaceMark : c) + "\n";
  write_file_atomic((std::filesystem::path(dir) / "vocab.txt").string(), out);
}

}  // namespace sori
