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

// The official split: KsponSpeech_scripts/*.trn decide which utterance goes where (dev is not in
// train although its audio sits in KsponSpeech_05) and carry the eval transcripts.
TEST(KsponSpeech, FollowsTheOfficialScriptFiles) {
  test::TempDir dir;
  namespace fs = std::filesystem;
  auto write_pcm = [&](const std::string& rel, std::size_t samples) {
    fs::create_directories(fs::path(dir.path("root/" + rel)).parent_path());
    std::ofstream out(dir.path("root/" + rel), std::ios::binary);
    std::vector<char> zeros(samples * 2, 0);
    out.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
  };
  write_pcm("KsponSpeech_01/KsponSpeech_0001/KsponSpeech_000001.pcm", 32000);
  write_pcm("KsponSpeech_05/KsponSpeech_0621/KsponSpeech_620001.pcm", 16000);
  write_pcm("KsponSpeech_eval/eval_clean/KsponSpeech_E00001.pcm", 8000);
  fs::create_directories(dir.path("root/KsponSpeech_scripts"));
  test::write_text(dir.path("root/KsponSpeech_scripts/train.trn"),
                   "KsponSpeech_01/KsponSpeech_0001/KsponSpeech_000001.pcm :: b/ 안녕 (2)/(두) 개\n"
                   "KsponSpeech_01/KsponSpeech_0001/KsponSpeech_000002.pcm :: 없는 파일\n");
  test::write_text(dir.path("root/KsponSpeech_scripts/dev.trn"),
                   "KsponSpeech_05/KsponSpeech_0621/KsponSpeech_620001.pcm :: 개발 세트\r\n");
  // CP949, as the original release: "네" is 0xB3 0xD7.
  test::write_text(dir.path("root/KsponSpeech_scripts/eval_clean.trn"),
                   std::string("KsponSpeech_eval/eval_clean/KsponSpeech_E00001.pcm :: n/ \xB3\xD7\n"));
  auto r = prepare_ksponspeech(dir.path("root"), dir.path("out"), KsponSpelling::Pronounced);
  EXPECT_EQ(r.utterances, 3u);
  EXPECT_EQ(r.missing_audio, 1u);
  EXPECT_EQ(r.manifests.size(), 3u);  // no eval_other.trn: no eval_other manifest
  auto train = read_manifest(dir.path("out/ksponspeech_train.jsonl"));
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train[0].text, "안녕 두 개");
  EXPECT_DOUBLE_EQ(train[0].duration, 2.0);
  auto dev = read_manifest(dir.path("out/ksponspeech_dev.jsonl"));
  ASSERT_EQ(dev.size(), 1u);
  EXPECT_EQ(dev[0].text, "개발 세트");
  auto eval = read_manifest(dir.path("out/ksponspeech_eval_clean.jsonl"));
  ASSERT_EQ(eval.size(), 1u);
  EXPECT_EQ(eval[0].text, "네");
  EXPECT_DOUBLE_EQ(eval[0].duration, 0.5);

  // Without the script files: refused, saying where they come from.
  fs::remove_all(dir.path("root/KsponSpeech_scripts"));
  const auto error = test::error_text([&] { prepare_ksponspeech(dir.path("root"), dir.path("out2"), KsponSpelling::Pronounced); });
  EXPECT_NE(error.find("KsponSpeech_scripts"), std::string::npos) << error;
  // A malformed line names file and line.
  fs::create_directories(dir.path("root/KsponSpeech_scripts"));
  test::write_text(dir.path("root/KsponSpeech_scripts/dev.trn"), "KsponSpeech_05/x.pcm :: a\nno separator\n");
  const auto bad = test::error_text([&] { prepare_ksponspeech(dir.path("root"), dir.path("out3"), KsponSpelling::Pronounced); });
  EXPECT_NE(bad.find("dev.trn:2"), std::string::npos) << bad;
}
