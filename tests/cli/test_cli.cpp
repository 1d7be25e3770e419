// End-to-end checks of the `sori` binary's data and bench commands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "cli/cli_help.h"
#include "sori/core/text.h"
#include "test_util.h"

namespace {
sori::test::CommandResult run(const std::string& args) { return sori::test::run_command(std::string(SORI_BINARY) + " " + args); }
}  // namespace

TEST(Cli, ConfigShowAppliesOverridesAndRejectsTypos) {
  sori::test::TempDir dir;
  sori::test::write_text(dir.path("c.yaml"), "name: x\ntrainer:\n  max_steps: 10\n");
  auto ok = run("config show --config " + dir.path("c.yaml") + " trainer.max_steps=500 model.optim.lr=1e-3");
  EXPECT_EQ(ok.status, 0) << ok.output;
  EXPECT_NE(ok.output.find("max_steps: 500"), std::string::npos) << ok.output;
  EXPECT_NE(ok.output.find("run_dir: runs/x"), std::string::npos) << ok.output;
  auto bad = run("config show --config " + dir.path("c.yaml") + " trainer.max_step=5");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("did you mean 'trainer.max_steps'"), std::string::npos) << bad.output;
}

TEST(Cli, DataCheckReportsInfeasibleUtterances) {
  sori::test::TempDir dir;
  // 1 s of audio, 8x subsampling (13 frames, 12 at speed 1.1): 20 characters cannot be aligned.
  sori::test::write_text(dir.path("train.jsonl"), sori::test::wav_entry(dir, "a.wav", 1.0, "abcdefghij abcdefghi") +
                                                     sori::test::wav_entry(dir, "b.wav", 1.0, "abc"));
  sori::test::write_text(dir.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + dir.path("train.jsonl") +
                                                 "}\n  augmentation: {speed_perturb: [0.9, 1.0, 1.1]}\n");
  auto r = run("data check --config " + dir.path("c.yaml"));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 of 2 utterances (50.0%"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("WARNING"), std::string::npos) << r.output;
  auto r4 = run("data check --config " + dir.path("c.yaml") + " model.encoder.subsampling_factor=4");
  EXPECT_NE(r4.output.find("0 of 2 utterances"), std::string::npos) << r4.output;
}

TEST(Cli, JamoCompose) {
  sori::test::TempDir dir;
  sori::test::write_text(dir.path("jamo.txt"), "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB\n");  // conjoining jamo of 한
  auto r = run("data jamo-compose < " + dir.path("jamo.txt"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "\xED\x95\x9C\n");  // 한
}

TEST(Cli, BenchDataReportsLoaderThroughput) {
  sori::test::TempDir dir;
  std::string manifest;
  for (int i = 0; i < 4; ++i) manifest += sori::test::wav_entry(dir, "a" + std::to_string(i) + ".wav", 1.0, "abc");
  sori::test::write_text(dir.path("train.jsonl"), manifest);
  sori::test::write_text(dir.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + dir.path("train.jsonl") +
                                                 ", batch_size: 2, num_buckets: 1}\n"
                                                 "  augmentation: {speed_perturb: [0.9, 1.1], noise: {prob: 1.0}}\n"
                                                 "trainer: {bucket_group: 1}\n");
  auto r = run("bench data --config " + dir.path("c.yaml") + " --batches 5");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"batches\": 5, \"workers\": 1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("x real time per worker thread"), std::string::npos) << r.output;
}

// `sori data check` runs the checks `sori train` runs and fails, naming manifest:line, where
// training would refuse (it used to report only CTC feasibility and exit 0).
TEST(Cli, DataCheckFailsWhereTrainingWouldRefuse) {
  sori::test::TempDir dir;
  const auto good = sori::test::wav_entry(dir, "a.wav", 1.0, "abc");
  const auto config = [&](const std::string& manifest, bool skip) {
    sori::test::write_text(dir.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + manifest +
                                                   (skip ? ", skip_invalid: true" : "") + "}\n");
    return run("data check --config " + dir.path("c.yaml"));
  };
  sori::test::write_text(dir.path("bad_json.jsonl"), good + good + "{\"audio_filepath\": \"a.wav\", \n");
  auto r = config(dir.path("bad_json.jsonl"), false);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("bad_json.jsonl:3"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("REFUSED"), std::string::npos) << r.output;

  sori::test::write_text(dir.path("missing.jsonl"), good + "{\"audio_filepath\": \"gone.wav\", \"duration\": 1.0, \"text\": \"a\"}\n");
  r = config(dir.path("missing.jsonl"), false);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("missing.jsonl:2"), std::string::npos) << r.output;

  sori::test::write_text(dir.path("not_audio.txt"), "hello");
  sori::test::write_text(dir.path("not_audio.jsonl"), "{\"audio_filepath\": \"not_audio.txt\", \"duration\": 1.0, \"text\": \"a\"}\n" + good);
  r = config(dir.path("not_audio.jsonl"), false);
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("not_audio.jsonl:1"), std::string::npos) << r.output;

  // Every utterance filtered out (max_duration): training has nothing to train on.
  sori::test::write_text(dir.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + dir.path("missing.jsonl") +
                                                 ", skip_invalid: true, max_duration: 0.5}\n");
  r = run("data check --config " + dir.path("c.yaml"));
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("no utterance is left for training"), std::string::npos) << r.output;

  // With skip_invalid training skips instead of refusing: the check passes and lists them.
  r = config(dir.path("missing.jsonl"), true);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 utterances usable"), std::string::npos) << r.output;
}

// Every leaf command, as the binary itself lists them (so a new one cannot be missed), ends its
// --help with the example with_example() gives it.
TEST(Cli, EveryCommandsHelpShowsAnExample) {
  const auto commands = sori::test::leaf_commands();
  // The walk itself works: it reaches top-level commands and the commands of groups.
  for (const char* expected : {"train", "report", "config show", "data check", "bench data"})
    EXPECT_NE(std::find(commands.begin(), commands.end(), expected), commands.end())
        << "`sori " << expected << "` not found walking the --help texts: is the parsing broken?";
  for (const auto& command : commands) {
    const auto& r = sori::test::help_of(command);
    EXPECT_EQ(r.status, 0) << command << "\n" << r.output;
    const auto at = r.output.rfind("\nExample:\n  sori ");
    ASSERT_NE(at, std::string::npos) << "`sori " << command << " --help` shows no example:\n" << r.output;
    EXPECT_EQ(sori::trim(r.output.substr(at)).find("\n\n"), std::string::npos)
        << "`sori " << command << " --help` does not end with its example:\n" << r.output;
  }
}
