// Hangul syllables <-> conjoining jamo (Unicode 3.12 arithmetic). decompose(compose(x)) and
// compose(decompose(x)) are exact for all 11,172 precomposed syllables; other characters pass
// through unchanged.
#pragma once

#include <string>

namespace sori::jamo {

constexpr char32_t kSyllableBase = 0xAC00;
constexpr char32_t kSyllableCount = 11172;
constexpr char32_t kLeadBase = 0x1100, kVowelBase = 0x1161, kTailBase = 0x11A7;
constexpr int kLeadCount = 19, kVowelCount = 21, kTailCount = 28;  // tail 0 = no final consonant

std::u32string decompose(std::u32string_view text);
std::u32string compose(std::u32string_view text);
std::string decompose_utf8(const std::string& text);
std::string compose_utf8(const std::string& text);

// All 19 + 21 + 27 conjoining jamo a Hangul syllable can decompose into.
std::u32string all_jamo();

}  // namespace sori::jamo
