#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sori/data/ksponspeech.h"
#include "sori/data/manifest.h"
#include "test_util.h"

using namespace sori;

TEST(KsponSpeech, NormalisesTranscriptConventions) {
  const std::string line = "o/ b/ 그게 (0.1프로)/(영 점 일 프로) 가정의 아이들과 가정의 노+ 그 아이들을 n/ 어/ 몇* 학년";
  EXPECT_EQ(normalize_ksponspeech(line, KsponSpelling::Pronounced),
            "그게 영 점 일 프로 가정의 아이들과 가정의 노 그 아이들을 어 몇 학년");
  EXPECT_EQ(normalize_ksponspeech(line, KsponSpelling::Written),
            "그게 0.1프로 가정의 아이들과 가정의 노 그 아이들을 어 몇 학년");
  EXPECT_EQ(normalize_ksponspeech("l/ (3G)/(쓰리 쥐) 폰   u/", KsponSpelling::Pronounced), "쓰리 쥐 폰");
  EXPECT_EQ(normalize_ksponspeech("b/n/ 음/ 네\n", KsponSpelling::Pronounced), "음 네");
  EXPECT_EQ(normalize_ksponspeech("b/", KsponSpelling::Pronounced), "");
}

TEST(KsponSpeech, PreparesManifestsFromPcmAndCp949Transcripts) {
  test::TempDir dir;
  namespace fs = std::filesystem;
  fs::create_directories(dir.path("root/KsponSpeech_01/KsponSpeech_0001"));
  fs::create_directories(dir.path("root/eval_clean"));
  auto write_pcm = [](const std::string& p, std::size_t samples) {
    std::ofstream out(p, std::ios::binary);
    std::vector<char> zeros(samples * 2, 0);
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  };
  write_pcm(dir.path("root/KsponSpeech_01/KsponSpeech_0001/KsponSpeech_000001.pcm"), 32000);
  test::write_text(dir.path("root/KsponSpeech_01/KsponSpeech_0001/KsponSpeech_000001.txt"), "b/ 안녕 (2)/(두) 개\n");
  write_pcm(dir.path("root/eval_clean/KsponSpeech_E00001.pcm"), 8000);
  // "네" in CP949 is 0xB3 0xD7.
  test::write_text(dir.path("root/eval_clean/KsponSpeech_E00001.txt"), std::string("n/ \xB3\xD7"));
  auto r = prepare_ksponspeech(dir.path("root"), dir.path("out"), KsponSpelling::Pronounced);
  EXPECT_EQ(r.utterances, 2u);
  auto train = read_manifest(dir.path("out/ksponspeech_train.jsonl"));
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train[0].text, "안녕 두 개");
  EXPECT_DOUBLE_EQ(train[0].duration, 2.0);
  auto eval = read_manifest(dir.path("out/ksponspeech_eval_clean.jsonl"));
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_EQ(eval[0].text, "네");
  EXPECT_DOUBLE_EQ(eval[0].duration, 0.5);
}
