#include <gtest/gtest.h>

#include "sori/data/feasibility.h"
#include "sori/data/tokenizer.h"
#include "test_util.h"

using namespace sori;

TEST(Feasibility, SubsampledLengthsFollowNeMo) {
  // floor((L + 2 - 3) / 2 + 1) per stride-2 stage
  EXPECT_EQ(subsampled_length(100, 1), 100);
  EXPECT_EQ(subsampled_length(100, 2), 50);
  EXPECT_EQ(subsampled_length(101, 2), 51);
  EXPECT_EQ(subsampled_length(100, 4), 25);
  EXPECT_EQ(subsampled_length(100, 8), 13);
  EXPECT_EQ(subsampled_length(1, 8), 1);
  EXPECT_EQ(subsampled_length(0, 8), 0);
}

TEST(Feasibility, RepeatsNeedBlanks) {
  EXPECT_EQ(ctc_required_frames({1, 2, 3}), 3);
  EXPECT_EQ(ctc_required_frames({1, 1, 2, 2, 2}), 8);
  EXPECT_EQ(ctc_required_frames({}), 0);
}

TEST(Feasibility, CountsInfeasibleAtFastestSpeed) {
  test::TempDir dir;
  // 1 s -> 100 frames -> 13 at 8x; at speed 1.1: 90 frames -> 12. The first two texts need 13
  // frames (12 tokens + one repeat, 13 tokens), the third 2.
  test::write_text(dir.path("m.jsonl"),
                   "{\"audio_filepath\": \"a.wav\", \"duration\": 1.0, \"text\": \"abcdefghijkk\"}\n"
                   "{\"audio_filepath\": \"a.wav\", \"duration\": 1.0, \"text\": \"abcdefghijklm\"}\n"
                   "{\"audio_filepath\": \"a.wav\", \"duration\": 1.0, \"text\": \"ab\"}\n");
  CharTokenizer tok(U"abcdefghijklm", false);
  Config config;
  config.model.encoder.subsampling_factor = 8;
  FeasibilityChecker at1(config, tok, 1.0);
  EXPECT_EQ(at1.encoder_frames(1.0), 13);
  EXPECT_EQ(check_feasibility(dir.path("m.jsonl"), at1).infeasible, 0u);
  FeasibilityChecker at11(config, tok, 1.1);
  auto r = check_feasibility(dir.path("m.jsonl"), at11);
  EXPECT_EQ(r.utterances, 3u);
  EXPECT_EQ(r.infeasible, 2u);
  const auto report = format_feasibility({r}, config, 1.1);
  EXPECT_NE(report.find("2 of 3 utterances (66.7%"), std::string::npos) << report;
  EXPECT_NE(report.find("BPE"), std::string::npos);
  EXPECT_NE(report.find("subsampling_factor=4"), std::string::npos);
  config.model.encoder.subsampling_factor = 4;
  FeasibilityChecker at4(config, tok, 1.1);
  EXPECT_EQ(check_feasibility(dir.path("m.jsonl"), at4).infeasible, 0u);
}
