#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "sori/core/text.h"
#include "sori/data/jamo.h"
#include "sori/data/tokenizer.h"
#include "test_util.h"

using namespace sori;

TEST(Jamo, RoundTripOfAll11172Syllables) {
  std::u32string all;
  for (char32_t c = jamo::kSyllableBase; c < jamo::kSyllableBase + jamo::kSyllableCount; ++c) all.push_back(c);
  const auto decomposed = jamo::decompose(all);
  for (char32_t c : decomposed) EXPECT_TRUE(c >= 0x1100 && c <= 0x11FF);
  EXPECT_EQ(jamo::compose(decomposed), all);
  // Every syllable alone, too (no cross-syllable merging hides an error).
  for (char32_t c : all) ASSERT_EQ(jamo::compose(jamo::decompose(std::u32string(1, c))), std::u32string(1, c));
  EXPECT_EQ(jamo::all_jamo().size(), 67u);
}

TEST(Jamo, OtherCharactersPassThrough) {
  EXPECT_EQ(jamo::compose_utf8(jamo::decompose_utf8("한국어 ASR 2026!")), "한국어 ASR 2026!");
  EXPECT_EQ(utf8_decode(jamo::decompose_utf8("한")).size(), 3u);
  EXPECT_EQ(utf8_decode(jamo::decompose_utf8("가")).size(), 2u);
}

TEST(Tokenizer, CharBuildEncodeDecodeSaveLoad) {
  test::TempDir dir;
  test::write_text(dir.path("m.jsonl"), "{\"audio_filepath\": \"a.wav\", \"duration\": 1, \"text\": \"hello  world\"}\n");
  auto tok = CharTokenizer::build({dir.path("m.jsonl")}, false);
  EXPECT_EQ(tok->vocab_size(), 8);  // ' ' d e h l o r w
  EXPECT_EQ(tok->blank_id(), 8);    // blank is the last index, as NeMo
  auto ids = tok->encode("hello world");
  EXPECT_EQ(ids.size(), 11u);
  EXPECT_EQ(tok->decode(ids), "hello world");
  tok->save(dir.path("tok"));
  auto loaded = CharTokenizer::load(dir.path("tok/vocab.txt"), false);
  EXPECT_EQ(loaded->vocabulary(), tok->vocabulary());
  EXPECT_EQ(loaded->encode("hello world"), ids);
}

TEST(Tokenizer, UnknownCharactersAreCountedNotFatal) {
  CharTokenizer tok(U" abc", false);
  auto ids = tok.encode("abz cq");
  EXPECT_EQ(tok.decode(ids), "ab c");
  EXPECT_EQ(tok.unknown_count(), 2u);
}

TEST(Tokenizer, JamoEncodesJamoAndDecodesSyllables) {
  test::TempDir dir;
  test::write_text(dir.path("m.jsonl"), "{\"audio_filepath\": \"a.wav\", \"duration\": 1, \"text\": \"안녕 하세요\"}\n");
  auto tok = CharTokenizer::build({dir.path("m.jsonl")}, true);
  EXPECT_EQ(tok->type(), "jamo");
  EXPECT_EQ(tok->vocab_size(), 68);  // 67 jamo + space
  // A syllable never seen in training still round-trips: every jamo is in the vocabulary.
  auto ids = tok->encode("밝은 꿈");
  EXPECT_EQ(ids.size(), 3u + 3u + 1u + 3u);
  EXPECT_EQ(tok->decode(ids), "밝은 꿈");
  EXPECT_EQ(tok->unknown_count(), 0u);
}

TEST(Tokenizer, SentencePieceTrainLoadRoundTrip) {
  test::TempDir dir;
  std::string lines;
  const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "speech", "model"};
  for (int i = 0; i < 200; ++i)
    lines += std::string("{\"audio_filepath\": \"a.wav\", \"duration\": 1, \"text\": \"") + words[i % 10] + " " +
             words[(i * 7) % 10] + " " + words[(i * 3) % 10] + "\"}\n";
  test::write_text(dir.path("m.jsonl"), lines);
  train_sentencepiece({dir.path("m.jsonl")}, dir.path("sp"), 40, "bpe");
  TokenizerConfig cfg;
  cfg.type = "sentencepiece";
  cfg.dir = dir.path("sp");
  auto tok = load_tokenizer(cfg, {});
  EXPECT_EQ(tok->vocab_size(), 40);
  EXPECT_EQ(tok->blank_id(), 40);
  auto ids = tok->encode("the lazy fox");
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ(tok->decode(ids), "the lazy fox");
  EXPECT_EQ(tok->vocabulary().size(), 40u);
  // The loader encodes from several threads at once.
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (tok->encode("the lazy fox") != ids) ++mismatches;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(Tokenizer, MissingSentencePieceModelSuggestsTraining) {
  TokenizerConfig cfg;
  cfg.type = "sentencepiece";
  cfg.dir = "/nonexistent/tok";
  try {
    load_tokenizer(cfg, {});
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("sori tokenizer train"), std::string::npos);
  }
}
