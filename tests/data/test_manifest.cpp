#include <gtest/gtest.h>

#include "sori/core/error.h"
#include "sori/data/dataset.h"
#include "sori/data/manifest.h"
#include "test_util.h"

using namespace sori;

namespace {
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Manifest, ReadsFieldsAndResolvesRelativePaths) {
  test::TempDir dir;
  test::write_text(dir.path("m.jsonl"),
                   "{\"audio_filepath\": \"a.wav\", \"duration\": 1.5, \"text\": \"hi there\"}\n\n"
                   "{\"audio_filepath\": \"/abs/b.wav\", \"duration\": 2, \"offset\": 0.5, \"text\": \"x\"}\n");
  auto e = read_manifest(dir.path("m.jsonl"));
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].audio_filepath, dir.path("a.wav"));
  EXPECT_DOUBLE_EQ(e[0].duration, 1.5);
  EXPECT_EQ(e[0].text, "hi there");
  EXPECT_EQ(e[1].audio_filepath, "/abs/b.wav");
  EXPECT_DOUBLE_EQ(e[1].offset, 0.5);
  EXPECT_EQ(e[1].line, 3);
}

TEST(Manifest, ErrorsNameManifestAndLine) {
  test::TempDir dir;
  const std::string good = "{\"audio_filepath\": \"a.wav\", \"duration\": 1, \"text\": \"a\"}\n";
  test::write_text(dir.path("bad_json.jsonl"), good + "{not json\n");
  test::write_text(dir.path("missing.jsonl"), good + good + "{\"audio_filepath\": \"a.wav\", \"text\": \"a\"}\n");
  test::write_text(dir.path("type.jsonl"), "{\"audio_filepath\": \"a.wav\", \"duration\": \"1\", \"text\": \"a\"}\n");
  auto m1 = error_of([&] { read_manifest(dir.path("bad_json.jsonl")); });
  EXPECT_NE(m1.find("bad_json.jsonl:2: malformed JSON"), std::string::npos) << m1;
  auto m2 = error_of([&] { read_manifest(dir.path("missing.jsonl")); });
  EXPECT_NE(m2.find("missing.jsonl:3: missing field 'duration'"), std::string::npos) << m2;
  auto m3 = error_of([&] { read_manifest(dir.path("type.jsonl")); });
  EXPECT_NE(m3.find("type.jsonl:1: field 'duration' expects a number"), std::string::npos) << m3;
  // skip_invalid keeps the good lines and reports the bad one.
  std::vector<std::string> skipped;
  auto e = read_manifest(dir.path("bad_json.jsonl"), true, &skipped);
  EXPECT_EQ(e.size(), 1u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("bad_json.jsonl:2"), std::string::npos);
}

TEST(Dataset, ListsAllMissingFilesInOneError) {
  test::TempDir dir;
  std::string lines = test::wav_entry(dir, "ok.wav", 1.0, "ok");
  lines += "{\"audio_filepath\": \"gone1.wav\", \"duration\": 1, \"text\": \"a\"}\n";
  lines += "{\"audio_filepath\": \"gone2.wav\", \"duration\": 1, \"text\": \"b\"}\n";
  test::write_text(dir.path("m.jsonl"), lines);
  DatasetFilters f;
  auto msg = error_of([&] { load_dataset({dir.path("m.jsonl")}, f); });
  EXPECT_NE(msg.find("2 audio file(s) missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("m.jsonl:2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("m.jsonl:3"), std::string::npos) << msg;
  f.skip_invalid = true;
  auto ds = load_dataset({dir.path("m.jsonl")}, f);
  EXPECT_EQ(ds.entries.size(), 1u);
  EXPECT_EQ(ds.dropped.reasons["unreadable audio"].utterances, 2u);
}

TEST(Dataset, DurationFiltersAreCountedWithHours) {
  test::TempDir dir;
  std::string lines = test::wav_entry(dir, "a.wav", 0.05, "a") + test::wav_entry(dir, "b.wav", 1.0, "b") +
                      test::wav_entry(dir, "c.wav", 3.0, "c");
  test::write_text(dir.path("m.jsonl"), lines);
  DatasetFilters f;
  f.min_duration = 0.1;
  f.max_duration = 2.0;
  auto ds = load_dataset({dir.path("m.jsonl")}, f);
  ASSERT_EQ(ds.entries.size(), 1u);
  EXPECT_EQ(ds.entries[0].text, "b");
  EXPECT_EQ(ds.dropped.total(), 2u);
  EXPECT_NE(ds.dropped.summary().find("1 longer than max_duration"), std::string::npos) << ds.dropped.summary();
  EXPECT_NE(ds.dropped.summary().find("1 shorter than min_duration"), std::string::npos);
}

TEST(Dataset, DurationPastEndOfFileIsInvalid) {
  test::TempDir dir;
  test::wav_entry(dir, "short.wav", 1.0, "x");
  test::write_text(dir.path("m.jsonl"), "{\"audio_filepath\": \"short.wav\", \"duration\": 1.0, \"offset\": 0.5, \"text\": \"x\"}\n");
  auto msg = error_of([&] { load_dataset({dir.path("m.jsonl")}, DatasetFilters{}); });
  EXPECT_NE(msg.find("m.jsonl:1: " + dir.path("short.wav") + ": offset 0.5 s + duration 1 s exceeds"), std::string::npos)
      << msg;
}
