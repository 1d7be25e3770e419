// Bad input, tried through the `sori` binary as a user would: every case must end with a clear
// error naming the file and line or the field (or a counted skip under skip_invalid), never a
// crash, and leave what was already written alone. With SORI_RELIABILITY_REPORT set, one JSON
// line per case is appended there (scripts/reliability.sh builds docs/RELIABILITY.md from it).
#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "test_util.h"
#include "train/tone_corpus.h"

namespace {

using sori::test::TempDir;
using sori::test::write_text;

sori::test::CommandResult run(const std::string& args) {
  return sori::test::run_command(std::string(SORI_BINARY) + " " + args);
}

// The line of `output` that holds most of `expected` (what the report quotes), with the temporary
// folder and the log prefix taken out.
std::string quoted_line(const std::string& output, const std::vector<std::string>& expected, std::string dir) {
  std::string best;
  int best_score = -1;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    int score = 0;
    for (const auto& e : expected) score += line.find(e) != std::string::npos;
    if (line.find("[error]") != std::string::npos || line.find("REFUSED") != std::string::npos) ++score;
    if (score > best_score) best_score = score, best = line;
  }
  if (!dir.empty() && dir.back() != '/') dir += '/';
  for (std::size_t at; (at = best.find(dir)) != std::string::npos;) best.erase(at, dir.size());
  if (const auto at = best.find("] [error] "); at != std::string::npos) best = best.substr(at + 10);
  return best.substr(best.find_first_not_of(' '));
}

// Runs `args`, expects a refusal (non-zero exit, not a signal) whose output holds every one of
// `expected`, and records the case.
void expect_refusal(const std::string& what, const std::string& args, const std::vector<std::string>& expected,
                    const std::string& dir) {
  const auto r = run(args);
  // A refusal is an exit status of our own: not a signal, not the shell's 128 + signal, not an
  // uncaught exception.
  bool ok = r.status > 0 && r.status < 128 && r.output.find("terminate called") == std::string::npos;
  EXPECT_TRUE(ok) << what << ": expected a refusal, found exit status " << r.status << "\n" << r.output;
  for (const auto& e : expected) {
    const bool found = r.output.find(e) != std::string::npos;
    ok = ok && found;
    EXPECT_TRUE(found) << what << ": expected '" << e << "' in\n" << r.output;
  }
  if (const char* report = std::getenv("SORI_RELIABILITY_REPORT"))
    std::ofstream(report, std::ios::app) << nlohmann::json{{"kind", "bad_input"}, {"case", what}, {"exit", r.status},
                                                            {"message", quoted_line(r.output, expected, dir)},
                                                            {"passed", ok}}
                                                  .dump()
                                         << "\n";
}

// A float WAV with one non-finite sample in the middle.
void write_float_wav(const std::string& path, float bad) {
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  auto samples = sori::test::tone(1.0, 16000);
  samples[8000] = bad;
  sf_write_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
  sf_close(f);
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    good_ = sori::test::wav_entry(dir_, "good.wav", 1.0, "abc");
    good2_ = sori::test::wav_entry(dir_, "good2.wav", 1.5, "bad");
  }
  // A data check of a training set whose manifest holds `lines`.
  void manifest_refused(const std::string& what, const std::string& lines, const std::vector<std::string>& expected,
                        const std::string& extra = "") {
    const auto manifest = dir_.path("m.jsonl");
    write_text(manifest, lines);
    write_text(dir_.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + manifest + extra + "}\n");
    expect_refusal(what, "data check --config " + dir_.path("c.yaml"), expected, dir_.path());
  }
  std::string entry(const std::string& file, const std::string& duration, const std::string& text = "abc") const {
    return "{\"audio_filepath\": \"" + file + "\", \"duration\": " + duration + ", \"text\": \"" + text + "\"}\n";
  }
  TempDir dir_;
  std::string good_, good2_;
};

}  // namespace

TEST_F(BadInput, ManifestsAndAudio) {
  manifest_refused("empty manifest", "", {"m.jsonl", "no utterance"});
  manifest_refused("every utterance filtered out", good_ + good2_, {"no utterance is left for training"},
                   ", max_duration: 0.5");
  manifest_refused("invalid JSON", good_ + "{\"audio_filepath\": \"good.wav\",\n", {"m.jsonl:2"});
  manifest_refused("missing field", good_ + "{\"audio_filepath\": \"good.wav\", \"duration\": 1.0}\n",
                   {"m.jsonl:2", "text"});
  manifest_refused("wrong-typed field", good_ + entry("good.wav", "\"long\""), {"m.jsonl:2", "duration"});
  manifest_refused("negative duration", good_ + entry("good.wav", "-1.0"), {"m.jsonl:2", "duration"});
  manifest_refused("NaN duration", good_ + entry("good.wav", "NaN"), {"m.jsonl:2", "malformed JSON"});
  manifest_refused("infinite duration (1e999)", good_ + entry("good.wav", "1e999"), {"m.jsonl:2", "1e999"});
  manifest_refused("missing audio file", good_ + entry("gone.wav", "1.0"), {"m.jsonl:2", "gone.wav"});
  write_text(dir_.path("empty.wav"), "");
  manifest_refused("zero-length audio file", good_ + entry("empty.wav", "1.0"), {"m.jsonl:2", "empty.wav"});
  {
    const auto bytes = sori::test::read_text(dir_.path("good.wav"));
    write_text(dir_.path("truncated.wav"), bytes.substr(0, bytes.size() / 3));
    auto corrupt = bytes;
    corrupt.replace(0, 4, "RIFX");
    corrupt.replace(8, 4, "JUNK");
    write_text(dir_.path("corrupt.wav"), corrupt);
  }
  manifest_refused("truncated audio file", good_ + entry("truncated.wav", "1.0"), {"m.jsonl:2", "truncated.wav"});
  manifest_refused("header-corrupt audio file", good_ + entry("corrupt.wav", "1.0"), {"m.jsonl:2", "corrupt.wav"});
  write_text(dir_.path("notes.wav"), "these are meeting notes, not audio\n");
  manifest_refused("non-audio file", good_ + entry("notes.wav", "1.0"), {"m.jsonl:2", "notes.wav"});
  // Samples are decoded when a batch is made: training refuses them there (a data check reads headers).
  for (const auto& [name, bad] : {std::pair<std::string, float>{"nan.wav", std::numeric_limits<float>::quiet_NaN()},
                                  {"inf.wav", std::numeric_limits<float>::infinity()}}) {
    write_float_wav(dir_.path(name), bad);
    write_text(dir_.path("samples.jsonl"), good_ + entry(name, "1.0") + good2_);
    write_text(dir_.path("t.yaml"), sori::test::tiny_config_yaml(dir_.path("samples.jsonl"), dir_.path("samples.jsonl"),
                                                                 dir_.path("run_" + name)));
    expect_refusal(name == "nan.wav" ? "NaN samples" : "Inf samples", "train --config " + dir_.path("t.yaml"),
                   {"samples.jsonl:2", name, "not finite"}, dir_.path());
  }
}

TEST_F(BadInput, TextOfUnknownCharactersOnly) {
  // The vocabulary comes from the tokenizer folder; a transcript with none of its characters
  // would train on an empty target.
  write_text(dir_.path("tok/vocab.txt"), "a\nb\nc\n");
  const auto manifest = dir_.path("m.jsonl");
  write_text(manifest, good_ + entry("good2.wav", "1.5", "xyz"));
  write_text(dir_.path("c.yaml"), "model:\n  train_ds: {manifest_filepath: " + manifest +
                                      "}\n  tokenizer: {type: char, dir: " + dir_.path("tok") + "}\n");
  write_text(dir_.path("c2.yaml"), "model:\n  train_ds: {manifest_filepath: " + manifest +
                                       "}\n  tokenizer: {type: sentencepiece, dir: " + dir_.path("no_spm") + "}\n");
  expect_refusal("tokenizer missing (sentencepiece without its model)", "data check --config " + dir_.path("c2.yaml"),
                 {"no_spm", "sori tokenizer train"}, dir_.path());
  expect_refusal("text made only of unknown characters", "data check --config " + dir_.path("c.yaml"),
                 {"m.jsonl:2", "xyz", "does not know"}, dir_.path());
}

TEST_F(BadInput, ConfigsAndOverrides) {
  write_text(dir_.path("syntax.yaml"), "model:\n  train_ds: {manifest_filepath: [a, b}\n");
  expect_refusal("YAML syntax error", "config show --config " + dir_.path("syntax.yaml"), {"syntax.yaml:2"},
                 dir_.path());
  write_text(dir_.path("type.yaml"), "trainer:\n  max_steps: many\n");
  expect_refusal("YAML type error", "config show --config " + dir_.path("type.yaml"),
                 {"type.yaml:2", "trainer.max_steps", "many"}, dir_.path());
  write_text(dir_.path("ok.yaml"), "trainer:\n  max_steps: 5\n");
  expect_refusal("override naming an unknown key", "config show --config " + dir_.path("ok.yaml") + " trainer.max_step=4",
                 {"trainer.max_step", "trainer.max_steps"}, dir_.path());
}

TEST_F(BadInput, CheckpointsAndTokenizers) {
  const auto train = sori::test::make_tone_corpus(dir_, "train", 8, 3);
  write_text(dir_.path("tiny.yaml"), sori::test::tiny_config_yaml(train, train, dir_.path("run")));
  const auto trained = run("train --config " + dir_.path("tiny.yaml") + " trainer.max_steps=2 trainer.val_check_interval=100");
  ASSERT_EQ(trained.status, 0) << trained.output;
  const auto last = dir_.path("run/checkpoints/last.ckpt");
  const auto before = sori::test::read_text(last);
  expect_refusal("checkpoint from another architecture",
                 "train --config " + dir_.path("tiny.yaml") + " --resume " + last +
                     " trainer.run_dir=" + dir_.path("other") + " model.encoder.d_model=48",
                 {"last.ckpt", "decoder.decoder_layers.0.weight: expected shape [7, 48, 1], found [7, 32, 1]"},
                 dir_.path());
  auto damaged = before;
  damaged[damaged.size() / 2] = static_cast<char>(damaged[damaged.size() / 2] ^ 0x5a);
  write_text(dir_.path("damaged.ckpt"), damaged);
  expect_refusal("checkpoint with a bad checksum", "eval --checkpoint " + dir_.path("damaged.ckpt") + " --manifest " + train,
                 {"damaged.ckpt", "checksum"}, dir_.path());
  write_text(dir_.path("tok2/vocab.txt"), "x\ny\n");
  expect_refusal("tokenizer mismatching the checkpoint",
                 "train --config " + dir_.path("tiny.yaml") + " --resume " + last + " trainer.run_dir=" +
                     dir_.path("other2") + " model.tokenizer.dir=" + dir_.path("tok2"),
                 {"tokenizer", "vocab"}, dir_.path());
  EXPECT_EQ(sori::test::read_text(last), before) << "a refused command changed the checkpoint it read";
}

TEST_F(BadInput, NemoArchives) {
  const auto import = [&](const std::string& nemo) {
    return "import-nemo --nemo " + dir_.path(nemo) + " --output " + dir_.path("o.ckpt");
  };
  write_text(dir_.path("plain.nemo"), "this is not a tar archive");
  expect_refusal(".nemo that is not a tar", import("plain.nemo"), {"plain.nemo", "tar"}, dir_.path());
  write_text(dir_.path("a/model_weights.ckpt"), "weights");
  ASSERT_EQ(std::system(("tar -cf " + dir_.path("noconfig.nemo") + " -C " + dir_.path("a") + " .").c_str()), 0);
  expect_refusal(".nemo without model_config.yaml", import("noconfig.nemo"), {"noconfig.nemo", "model_config.yaml"},
                 dir_.path());
  write_text(dir_.path("b/model_config.yaml"),
             "encoder:\n  _target_: nemo.collections.asr.modules.SqueezeformerEncoder\n  d_model: 144\n");
  write_text(dir_.path("b/model_weights.ckpt"), "weights");
  ASSERT_EQ(std::system(("tar -cf " + dir_.path("squeeze.nemo") + " -C " + dir_.path("b") + " .").c_str()), 0);
  expect_refusal(".nemo with an encoder we do not support", import("squeeze.nemo"), {"squeeze.nemo", "SqueezeformerEncoder"},
                 dir_.path());
}
