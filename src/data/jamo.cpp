#include "sori/data/jamo.h"

#include "sori/core/text.h"

namespace sori::jamo {

std::u32string decompose(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size() * 3);
  for (char32_t c : text) {
    if (c < kSyllableBase || c >= kSyllableBase + kSyllableCount) {
      out.push_back(c);
      continue;
    }
    const char32_t s = c - kSyllableBase;
    out.push_back(kLeadBase + s / (kVowelCount * kTailCount));
    out.push_back(kVowelBase + (s % (kVowelCount * kTailCount)) / kTailCount);
    if (s % kTailCount) out.push_back(kTailBase + s % kTailCount);
  }
  return out;
}

std::u32string compose(std::u32string_view text) {
  auto is_lead = [](char32_t c) { return c >= kLeadBase && c < kLeadBase + kLeadCount; };
  auto is_vowel = [](char32_t c) { return c >= kVowelBase && c < kVowelBase + kVowelCount; };
  auto is_tail = [](char32_t c) { return c > kTailBase && c < kTailBase + kTailCount; };
  std::u32string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    if (i + 1 < text.size() && is_lead(text[i]) && is_vowel(text[i + 1])) {
      char32_t s = kSyllableBase + ((text[i] - kLeadBase) * kVowelCount + (text[i + 1] - kVowelBase)) * kTailCount;
      i += 2;
      if (i < text.size() && is_tail(text[i])) s += text[i++] - kTailBase;
      out.push_back(s);
    } else {
      out.push_back(text[i++]);
    }
  }
  return out;
}

std::string decompose_utf8(const std::string& text) { return utf8_encode(decompose(utf8_decode(text))); }
std::string compose_utf8(const std::string& text) { return utf8_encode(compose(utf8_decode(text))); }

std::u32string all_jamo() {
  std::u32string out;
  for (int i = 0; i < kLeadCount; ++i) out.push_back(kLeadBase + i);
  for (int i = 0; i < kVowelCount; ++i) out.push_back(kVowelBase + i);
  for (int i = 1; i < kTailCount; ++i) out.push_back(kTailBase + i);
  return out;
}

}  // namespace sori::jamo
