// Trainer end to end on a tiny tone corpus: learning, exact resume, checkpoints, averaging,
// evaluation files and transcription.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <map>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "sori/core/crc32c.h"
#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/core/hash.h"
#include "sori/core/stop_signals.h"
#include "sori/data/audio.h"
#include "sori/train/checkpoint.h"
#include "sori/train/evaluate.h"
#include "sori/train/pretrained.h"
#include "sori/train/trainer.h"
#include "sori/train/transcriber.h"
#include "tone_corpus.h"

using namespace sori;
namespace fs = std::filesystem;

namespace {

Config tiny_config(const std::string& train, const std::string& val, const std::string& run_dir,
                   const std::vector<std::string>& overrides = {}) {
  return load_config_from_string(test::tiny_config_yaml(train, val, run_dir), "tiny.yaml", overrides);
}

double last_loss(const std::string& run_dir) {
  std::ifstream in(run_dir + "/metrics.jsonl");
  std::string line;
  double loss = -1;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    if (row.contains("loss")) loss = row["loss"];
  }
  return loss;
}

void expect_same_parameters(const std::string& a, const std::string& b) {
  const auto ca = load_checkpoint(a), cb = load_checkpoint(b);
  EXPECT_EQ(ca.progress.step, cb.progress.step);
  ASSERT_EQ(ca.model.size(), cb.model.size());
  for (const auto& [k, v] : ca.model) EXPECT_TRUE(torch::equal(v, cb.model.at(k))) << "differs: " << k;
}

// Overfits once for the whole suite; several tests use its run.
class TrainedTiny : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    train_ = test::make_tone_corpus(*dir_, "train", 8, 1);
    run_ = dir_->path("overfit");
    Trainer trainer(tiny_config(train_, train_, run_), TrainOptions{});
    summary_ = trainer.fit();
  }
  static void TearDownTestSuite() { delete dir_; }
  static test::TempDir* dir_;
  static std::string train_, run_;
  static TrainSummary summary_;
};
test::TempDir* TrainedTiny::dir_ = nullptr;
std::string TrainedTiny::train_, TrainedTiny::run_;
TrainSummary TrainedTiny::summary_;

}  // namespace

TEST_F(TrainedTiny, OverfitsEightUtterances) {
  EXPECT_EQ(summary_.steps, 200);
  const double loss = last_loss(run_);
  EXPECT_GT(loss, 0.0);
  EXPECT_LT(loss, 0.3) << "CTC loss per target token after 200 steps";
  EXPECT_LT(summary_.best_metric, 0.1) << "val CER on the training utterances";
}

TEST_F(TrainedTiny, CheckpointsIndexAndTopK) {
  const auto ckpts = run_ + "/checkpoints";
  EXPECT_TRUE(fs::exists(ckpts + "/last.ckpt"));
  EXPECT_TRUE(fs::exists(ckpts + "/index.json"));
  CheckpointManager m(run_, 2, "val_cer", "min");
  EXPECT_EQ(m.ranked_paths().size(), 2u);  // 4 validations, top 2 kept
  const auto index = nlohmann::json::parse(std::ifstream(ckpts + "/index.json"));
  EXPECT_GE(index.size(), 3u);
  EXPECT_TRUE(fs::exists(run_ + "/config.yaml"));
  EXPECT_TRUE(fs::exists(run_ + "/tokenizer/vocab.txt"));
}

TEST_F(TrainedTiny, EvalFilesAgreeWithSclite) {
  if (std::system("command -v sctk > /dev/null 2>&1") != 0) GTEST_SKIP() << "sctk (sclite) not installed";
  auto p = load_pretrained(run_ + "/checkpoints/last.ckpt", "cpu");
  const auto ds = load_dataset({train_}, DatasetFilters{});
  EvaluationOptions eo;
  auto ev = evaluate(p.model, ds, *p.tokenizer, eo);
  // A few deliberate errors so the comparison is not 0 vs 0.
  ev.hypotheses[0] += "ab";
  ev.hypotheses[1] = ev.hypotheses[1].substr(1);
  ErrorCounts counts;
  for (std::size_t i = 0; i < ev.references.size(); ++i) counts.add(ev.references[i], ev.hypotheses[i]);
  write_trn(dir_->path("trn"), ev);
  const std::string cmd = "sctk sclite -r " + dir_->path("trn/ref.trn") + " trn -h " + dir_->path("trn/hyp.trn") +
                          " trn -i rm -o sum stdout";
  const auto out = test::run_command(cmd).output;
  const auto pos = out.find("Sum/Avg");
  ASSERT_NE(pos, std::string::npos) << out;
  // | Sum/Avg | #Snt #Wrd | Corr Sub Del Ins Err S.Err |
  std::string row = out.substr(pos, out.find('\n', pos) - pos);
  for (auto& c : row) if (c == '|') c = ' ';
  std::istringstream fields(row);
  std::string label;
  double snt, wrd, corr, sub, del, ins, err;
  fields >> label >> snt >> wrd >> corr >> sub >> del >> ins >> err;
  EXPECT_EQ(static_cast<std::int64_t>(wrd), counts.chars);
  EXPECT_NEAR(err, 100.0 * counts.cer(), 0.051) << row;
}

TEST_F(TrainedTiny, TranscribesAndChunkingMatchesOnShortAudio) {
  auto p = load_pretrained(run_ + "/checkpoints/last.ckpt", "cpu");
  const auto entries = read_manifest(train_);
  AudioReadOptions o;
  const auto audio = load_audio(entries[0].audio_filepath, o);
  Transcriber plain(p, TranscribeOptions{30.0, 4.0});
  const auto t = plain.transcribe(audio);
  EXPECT_EQ(t.text, entries[0].text);
  ASSERT_EQ(t.words.size(), 1u);
  EXPECT_GE(t.words[0].start_s, 0.0);
  EXPECT_LE(t.words[0].end_s, entries[0].duration + plain.frame_seconds());
  // Audio shorter than the chunk takes the unchunked path: identical log-probs.
  Transcriber chunked(p, TranscribeOptions{audio.size() / 16000.0 + 0.01, 0.0});
  EXPECT_TRUE(torch::equal(chunked.log_probs(audio), plain.log_probs(audio)));
  // Long audio: chunks stitched to (within a frame) the unchunked frame count.
  std::vector<float> longer;
  for (int r = 0; r < 6; ++r) longer.insert(longer.end(), audio.begin(), audio.end());
  Transcriber small_chunks(p, TranscribeOptions{2.0, 0.5});
  EXPECT_NEAR(small_chunks.log_probs(longer).size(0), plain.log_probs(longer).size(0), 1);
}

TEST_F(TrainedTiny, AveragesCheckpoints) {
  CheckpointManager m(run_, 2, "val_cer", "min");
  const auto ranked = m.ranked_paths();
  ASSERT_EQ(ranked.size(), 2u);
  average_checkpoints(ranked, dir_->path("avg.ckpt"));
  const auto a = load_checkpoint(ranked[0]), b = load_checkpoint(ranked[1]), avg = load_checkpoint(dir_->path("avg.ckpt"));
  for (const auto& [k, v] : avg.model) {
    if (v.is_floating_point())
      EXPECT_TRUE(torch::allclose(v, (a.model.at(k) + b.model.at(k)) / 2, 1e-6, 1e-7)) << k;
    else
      EXPECT_TRUE(torch::equal(v, a.model.at(k))) << k;
  }
}

// Since 2026-12-03 the header holds CRC-32C ("SORICKPC"); files from before, with FNV-1a-64
// ("SORICKPT"), load as ever.
TEST(Checkpoint, TheHeaderHoldsCrc32cAndEarlierFnvFilesStillLoad) {
  test::TempDir dir;
  Checkpoint c;
  c.model["w"] = torch::arange(6.0).reshape({2, 3});
  c.optimizer = torch::tensor({0, 111, 112, 255}, torch::kUInt8);
  c.scaler_scale = torch::ones({});
  c.scaler_growth_tracker = torch::zeros({}, torch::kInt64);
  c.progress.step = 42;
  c.config_yaml = "seed: 1\n";
  save_checkpoint(dir.path("new.ckpt"), c);
  auto file = read_file(dir.path("new.ckpt"));
  ASSERT_GT(file.size(), 24u);
  EXPECT_EQ(file.substr(0, 8), "SORICKPC");
  std::uint64_t size, sum;
  std::memcpy(&size, file.data() + 8, 8);
  std::memcpy(&sum, file.data() + 16, 8);
  EXPECT_EQ(size, file.size() - 24);
  EXPECT_EQ(sum, crc32c(file.data() + 24, size));
  file.replace(0, 8, "SORICKPT");
  sum = fnv1a64(file.data() + 24, size);
  std::memcpy(file.data() + 16, &sum, 8);
  write_file_atomic(dir.path("old.ckpt"), file);
  for (const auto* name : {"new.ckpt", "old.ckpt"}) {
    const auto loaded = load_checkpoint(dir.path(name));
    EXPECT_EQ(loaded.progress.step, 42) << name;
    EXPECT_TRUE(torch::equal(loaded.model.at("w"), c.model.at("w"))) << name;
    EXPECT_TRUE(torch::equal(loaded.optimizer, c.optimizer)) << name;
    EXPECT_EQ(loaded.config_yaml, c.config_yaml) << name;
  }
  file.replace(0, 8, "SORICKPX");
  write_file_atomic(dir.path("other.ckpt"), file);
  const auto error = test::error_text([&] { load_checkpoint(dir.path("other.ckpt")); });
  EXPECT_NE(error.find("other.ckpt: not a Sori checkpoint"), std::string::npos) << error;
  // Another tool's file (a zip, as torch.save writes) is named as such, not as a torn checkpoint.
  write_file_atomic(dir.path("model.pt"), std::string("PK\x03\x04", 4) + std::string(200, 'z'));
  const auto foreign = test::error_text([&] { load_checkpoint(dir.path("model.pt")); });
  EXPECT_NE(foreign.find("model.pt: not a Sori checkpoint"), std::string::npos) << foreign;
}

TEST(Checkpoint, DetectsCorruptionAndFallsBack) {
  test::TempDir dir;
  Checkpoint c;
  c.model["w"] = torch::randn({4, 4});
  c.scaler_scale = torch::ones({});
  c.scaler_growth_tracker = torch::zeros({}, torch::kInt64);
  c.cpu_rng_states = {torch::zeros({8}, torch::kUInt8)};
  c.config_yaml = "name: x\n";
  c.tokenizer_files["vocab.txt"] = "a\nb\n";
  c.metrics["val_cer"] = 0.25;
  c.progress.step = 7;
  CheckpointManager m(dir.path("run"), 3, "val_cer", "min");
  m.save_last(c);
  c.progress.step = 9;
  c.model["w"] += 1;
  m.save_last(c);
  const auto last = dir.path("run/checkpoints/last.ckpt");
  const auto back = load_checkpoint(last);
  EXPECT_TRUE(torch::equal(back.model.at("w"), c.model.at("w")));
  EXPECT_EQ(back.progress.step, 9);
  EXPECT_EQ(back.tokenizer_files.at("vocab.txt"), "a\nb\n");
  EXPECT_DOUBLE_EQ(back.metrics.at("val_cer"), 0.25);
  // Flip one byte in the payload: the checksum catches it, and resume falls back to the previous.
  {
    std::fstream f(last, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    char ch;
    f.read(&ch, 1);
    f.seekp(100);
    ch = static_cast<char>(ch ^ 0x5A);
    f.write(&ch, 1);
  }
  EXPECT_THROW(load_checkpoint(last), Error);
  std::vector<std::string> problems;
  auto fallback = m.load_newest_valid(&problems);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->progress.step, 7);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("checksum mismatch"), std::string::npos);
  // A payload that passes its checksum but does not unpickle (LibTorch throws c10::Error) is
  // skipped as well.
  {
    const std::string payload = "not a pickle";
    std::uint64_t size = payload.size(), sum = 0xcbf29ce484222325ULL;
    for (unsigned char ch : payload) sum = (sum ^ ch) * 0x100000001b3ULL;
    std::string file = "SORICKPT";
    file.append(reinterpret_cast<const char*>(&size), 8).append(reinterpret_cast<const char*>(&sum), 8).append(payload);
    test::write_text(dir.path("run/checkpoints/step_000000099.ckpt"), file);
  }
  problems.clear();
  CheckpointManager again(dir.path("run"), 3, "val_cer", "min");
  fallback = again.load_newest_valid(&problems);
  ASSERT_TRUE(fallback);
  EXPECT_EQ(fallback->progress.step, 7);
  EXPECT_EQ(problems.size(), 2u);
  // A torn (truncated) file names itself too.
  fs::resize_file(last, 60);
  try {
    load_checkpoint(last);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("torn file"), std::string::npos) << e.what();
  }
}

// Killed after writing last.ckpt but before updating index.json: the index still gives
// last.ckpt its previous step, below a ranked checkpoint's. Resume must take the newer file.
TEST(Checkpoint, AStaleIndexDoesNotHideTheNewestCheckpoint) {
  test::TempDir dir;
  Checkpoint c;
  c.model["w"] = torch::zeros({2});
  c.scaler_scale = torch::ones({});
  c.scaler_growth_tracker = torch::zeros({}, torch::kInt64);
  c.config_yaml = "name: x\n";
  c.metrics["val_cer"] = 0.5;
  CheckpointManager m(dir.path("run"), 3, "val_cer", "min");
  c.progress.step = 8;
  m.save_last(c);
  c.progress.step = 10;
  m.save_ranked(c);
  const auto index_time = fs::last_write_time(dir.path("run/checkpoints/index.json"));
  c.progress.step = 12;
  save_checkpoint(dir.path("run/checkpoints/last.ckpt"), c);  // ... and the kill came here
  fs::last_write_time(dir.path("run/checkpoints/last.ckpt"), index_time + std::chrono::seconds(1));
  CheckpointManager resumed(dir.path("run"), 3, "val_cer", "min");
  const auto newest = resumed.load_newest_valid(nullptr);
  ASSERT_TRUE(newest);
  EXPECT_EQ(fs::path(newest->source).filename(), "last.ckpt");
  EXPECT_EQ(newest->progress.step, 12);

  // Then two runs whose `last` was saved at steps 1000 and 1100, and a ranked checkpoint at 1050.
  auto rotated_run = [&](const std::string& run) {
    auto manager = std::make_unique<CheckpointManager>(run, 3, "val_cer", "min");
    for (const std::int64_t step : {1000, 1100}) {
      c.progress.step = step;
      manager->save_last(c);
    }
    c.progress.step = 1050;
    manager->save_ranked(c);
    c.progress.step = 1200;
    return manager;
  };
  // A write of `last` that fails after the old one was renamed to last.prev (a rename keeps the
  // file's time, so the index must already describe last.prev correctly).
  test::TempDir dir2;
  auto m2 = rotated_run(dir2.path("run"));
  fs::create_directories(dir2.path("run/checkpoints/last.ckpt.tmp." + std::to_string(getpid())));  // the write fails
  EXPECT_THROW(m2->save_last(c), Error);
  CheckpointManager after(dir2.path("run"), 3, "val_cer", "min");
  const auto after_failed_write = after.load_newest_valid(nullptr);
  ASSERT_TRUE(after_failed_write);
  EXPECT_EQ(after_failed_write->progress.step, 1100);

  // Killed while index.json was rewritten after `last` became last.prev (found by the 20-kill
  // campaign: it resumed from a ranked step 210 instead of last.prev's 212): the old index still
  // calls last.prev the one before, below the ranked checkpoint. Resume must take last.prev.
  test::TempDir dir3;
  auto m3 = rotated_run(dir3.path("run"));
  const auto index = dir3.path("run/checkpoints/index.json");
  const auto old_index = test::read_text(index);
  const auto old_index_time = fs::last_write_time(index);
  m3->save_last(c);
  fs::remove(dir3.path("run/checkpoints/last.ckpt"));  // the new last was never written ...
  test::write_text(index, old_index);                   // ... nor the index that describes last.prev
  fs::last_write_time(index, old_index_time);
  CheckpointManager killed(dir3.path("run"), 3, "val_cer", "min");
  const auto after_kill = killed.load_newest_valid(nullptr);
  ASSERT_TRUE(after_kill);
  EXPECT_EQ(after_kill->progress.step, 1100);
}

TEST(ExactResume, StopAndResumeGivesBitwiseIdenticalParameters) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 10, 2);
  const auto val = test::make_tone_corpus(dir, "val", 3, 3);
  // Everything random on: speed perturbation, noise, SpecAugment, dropout, dither, shuffling.
  const std::vector<std::string> random_on = {
      "trainer.max_steps=12", "trainer.val_check_interval=4", "checkpoint.every_n_steps=5",
      "model.augmentation.speed_perturb=[0.9,1.0,1.1]", "model.augmentation.noise.prob=0.5",
      "model.spec_augment.freq_masks=2", "model.spec_augment.time_masks=2", "model.spec_augment.freq_width=10",
      "model.encoder.dropout=0.1", "model.encoder.dropout_att=0.1", "model.encoder.dropout_pre_encoder=0.1",
      "model.train_ds.num_workers=2"};
  Trainer(tiny_config(train, val, dir.path("straight"), random_on), TrainOptions{}).fit();
  // 10 utterances in batches of 4 -> 3 batches per epoch: stopping at 7 is mid-epoch.
  Trainer(tiny_config(train, val, dir.path("resumed"), random_on), TrainOptions{"", 7}).fit();
  Trainer(tiny_config(train, val, dir.path("resumed"), random_on), TrainOptions{"auto", 0}).fit();
  expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), dir.path("resumed/checkpoints/last.ckpt"));
  // The resumed run's metrics.jsonl has no step twice.
  std::ifstream in(dir.path("resumed/metrics.jsonl"));
  std::string line;
  std::set<std::pair<std::int64_t, bool>> seen;
  while (std::getline(in, line)) {
    auto row = nlohmann::json::parse(line);
    EXPECT_TRUE(seen.insert({row["step"].get<std::int64_t>(), row.contains("loss")}).second) << line;
  }
}

// Resuming (and fine-tuning, which resumes from another run's checkpoint) keeps the checkpoint's
// vocabulary: new characters in the manifests do not re-map the CTC head, and a configured
// vocabulary that differs is refused.
TEST(ExactResume, KeepsTheCheckpointsTokenizer) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 5);
  const auto run = dir.path("run");
  Trainer(tiny_config(train, train, run, {"trainer.max_steps=4"}), TrainOptions{"", 2}).fit();
  const auto vocab = test::read_text(run + "/tokenizer/vocab.txt");
  // New characters in the transcripts (same audio, so the same batches); a transcript of new
  // characters only would be refused (BadInput.TextOfUnknownCharactersOnly).
  auto lines = test::read_text(train);
  auto first = nlohmann::json::parse(lines.substr(0, lines.find('\n')));
  first["text"] = "abxyz";
  test::write_text(train, first.dump() + lines.substr(lines.find('\n')));
  Trainer(tiny_config(train, train, run, {"trainer.max_steps=4"}), TrainOptions{"auto", 0}).fit();
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").progress.step, 4);
  EXPECT_EQ(test::read_text(run + "/tokenizer/vocab.txt"), vocab);

  fs::create_directories(dir.path("other"));
  test::write_text(dir.path("other/vocab.txt"), "a\nb\n");
  const auto error = test::error_text([&] {
    Trainer(tiny_config(train, train, run, {"trainer.max_steps=6", "model.tokenizer.dir=" + dir.path("other")}),
            TrainOptions{"auto", 0})
        .fit();
  });
  EXPECT_NE(error.find("holds another vocabulary (2 tokens) than the checkpoint"), std::string::npos) << error;
}

// Two processes must never write one run directory; what killed runs left half-written goes.
// (ExactResume.SurvivesKillDashNine resumes in a directory whose holder was killed: the kernel
// releases the lock with the process.)
TEST(RunDirectory, IsLockedAndStaleTemporariesAreRemoved) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 3);
  const auto run = dir.path("run");
  fs::create_directories(run + "/checkpoints");
  test::write_text(run + "/checkpoints/step_000000004.ckpt.tmp.12345", "torn by a kill");
  {
    const DirectoryLock live_run(run);  // what another `sori train` holds
    const auto error = test::error_text(
        [&] { Trainer(tiny_config(train, train, run, {"trainer.max_steps=2"}), TrainOptions{}).fit(); });
    EXPECT_NE(error.find(run + " is in use by another Sori process (pid " + std::to_string(getpid()) + " on "),
              std::string::npos)
        << error;
    EXPECT_TRUE(fs::exists(run + "/checkpoints/step_000000004.ckpt.tmp.12345"));
  }
  Trainer(tiny_config(train, train, run, {"trainer.max_steps=2"}), TrainOptions{}).fit();
  EXPECT_FALSE(fs::exists(run + "/checkpoints/step_000000004.ckpt.tmp.12345"));
  EXPECT_TRUE(fs::exists(run + "/checkpoints/last.ckpt"));
}

// A fresh run in a directory that holds another run is refused: a later --resume auto would
// continue the old run. --overwrite starts over.
TEST(RunDirectory, AFreshRunDoesNotAdoptAnOldRun) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 4);
  const auto run = dir.path("run");
  const auto config = tiny_config(train, train, run, {"trainer.max_steps=3", "checkpoint.every_n_steps=1"});
  Trainer(config, TrainOptions{}).fit();
  const auto error = test::error_text([&] { Trainer(config, TrainOptions{}).fit(); });
  EXPECT_NE(error.find("trainer.run_dir " + run + " already holds a run"), std::string::npos) << error;
  EXPECT_NE(error.find("--resume auto"), std::string::npos) << error;
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").progress.step, 3) << "a refused run must not touch the old one";

  TrainOptions overwrite;
  overwrite.overwrite = true;
  Trainer(tiny_config(train, train, run, {"trainer.max_steps=2"}), overwrite).fit();
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").progress.step, 2);
  EXPECT_FALSE(fs::exists(run + "/checkpoints/step_000000003.ckpt"));
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);)
    EXPECT_LE(nlohmann::json::parse(line)["step"].get<std::int64_t>(), 2) << "a row of the old run: " << line;
}

// A run cut short by max_time_s validates at its last step, but that validation must not move
// the early-stopping state: resumed, the run ends as an uninterrupted one does.
TEST(ExactResume, ATimeLimitKeepsTheEarlyStoppingStateOfAnUninterruptedRun) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 6);
  const std::vector<std::string> args = {"trainer.max_steps=8", "trainer.val_check_interval=2",
                                         "checkpoint.early_stopping.enabled=true",
                                         "checkpoint.early_stopping.patience=100"};
  Trainer(tiny_config(train, train, dir.path("straight"), args), TrainOptions{}).fit();
  auto cut = args;
  cut.push_back("trainer.max_time_s=1e-9");  // stops after its first step
  Trainer(tiny_config(train, train, dir.path("cut"), cut), TrainOptions{}).fit();
  const auto mid = load_checkpoint(dir.path("cut/checkpoints/last.ckpt"));
  EXPECT_EQ(mid.progress.step, 1);
  EXPECT_TRUE(fs::exists(dir.path("cut/checkpoints/step_000000001.ckpt"))) << "the cut run validates where it stops";
  EXPECT_EQ(mid.progress.best_step, -1) << "an unscheduled validation sets no best";
  EXPECT_EQ(mid.progress.stale_validations, 0);
  Trainer(tiny_config(train, train, dir.path("cut"), args), TrainOptions{"auto", 0}).fit();
  const auto a = load_checkpoint(dir.path("straight/checkpoints/last.ckpt"));
  const auto b = load_checkpoint(dir.path("cut/checkpoints/last.ckpt"));
  EXPECT_EQ(a.progress.best_step, b.progress.best_step);
  EXPECT_EQ(a.progress.best_metric, b.progress.best_metric);
  EXPECT_EQ(a.progress.stale_validations, b.progress.stale_validations);
  expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), dir.path("cut/checkpoints/last.ckpt"));
}

// SIGTERM (and SLURM's SIGUSR1, and Ctrl-C) end the run after the current step with a
// checkpoint, a `preempted` marker and exit code 0; resumed, it ends bitwise equal to a run
// that was never stopped.
TEST(Preemption, ASignalEndsTheStepWithACheckpointAndExitZero) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 10, 5);
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, dir.path("unused")));
  const auto sori = [&](const std::string& run, const std::vector<std::string>& extra, const std::string& log) {
    std::vector<std::string> argv = {SORI_BINARY, "train", "--config", dir.path("tiny.yaml"), "trainer.run_dir=" + run,
                                     "trainer.max_steps=400", "checkpoint.every_n_steps=0", "trainer.val_check_interval=1000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return test::spawn(argv, {}, log);
  };
  ASSERT_EQ(test::wait_exit(sori(dir.path("straight"), {}, dir.path("straight.log"))), 0);
  for (const int signal : {SIGTERM, SIGUSR1, SIGINT}) {
    const auto run = dir.path("run" + std::to_string(signal)), log = run + ".log";
    const pid_t pid = sori(run, {}, log);
    for (int i = 0; i < 3000 && test::read_text(log).find("step 20/") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the run ended before the signal: the test proves nothing";
    kill(pid, signal);
    const int status = test::wait_exit(pid);
    const auto text = test::read_text(log);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
    const auto stopped = load_checkpoint(run + "/checkpoints/last.ckpt").progress.step;
    EXPECT_GT(stopped, 20);
    EXPECT_LT(stopped, 400);
    EXPECT_EQ(test::read_text(run + "/preempted"), "step " + std::to_string(stopped) + "\n");
    EXPECT_NE(text.find(std::string(StopSignals::name(signal)) + " received"), std::string::npos) << text;
    if (signal != SIGTERM) continue;
    ASSERT_EQ(test::wait_exit(sori(run, {"--resume", "auto"}, run + ".resumed.log")), 0);
    EXPECT_FALSE(fs::exists(run + "/preempted")) << "the resumed run finished: nothing to requeue";
    expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), run + "/checkpoints/last.ckpt");
  }

  // Validation at every step: the signal always lands on a step whose validation is due. The
  // preempted run skips it to save time; the resumed run runs it first, so every step is
  // validated exactly once and early stopping counts as in the uninterrupted run.
  const std::vector<std::string> every = {"trainer.max_steps=60", "trainer.val_check_interval=1"};
  ASSERT_EQ(test::wait_exit(sori(dir.path("straight_v"), every, dir.path("straight_v.log"))), 0);
  const auto run = dir.path("validated"), log = run + ".log";
  const pid_t pid = sori(run, every, log);
  for (int i = 0; i < 3000 && test::read_text(log).find("step 20/") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the run ended before the signal";
  kill(pid, SIGTERM);
  ASSERT_EQ(test::wait_exit(pid), 0) << test::read_text(log);
  auto resume = every;
  resume.insert(resume.end(), {"--resume", "auto"});
  ASSERT_EQ(test::wait_exit(sori(run, resume, run + ".resumed.log")), 0) << test::read_text(run + ".resumed.log");
  std::map<std::int64_t, int> validations;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("val_cer")) ++validations[row["step"].get<std::int64_t>()];
  }
  for (std::int64_t step = 1; step <= 60; ++step) EXPECT_EQ(validations[step], 1) << "validations at step " << step;
  const auto a = load_checkpoint(dir.path("straight_v/checkpoints/last.ckpt"));
  const auto b = load_checkpoint(run + "/checkpoints/last.ckpt");
  EXPECT_EQ(a.progress.best_step, b.progress.best_step);
  EXPECT_EQ(a.progress.best_metric, b.progress.best_metric);
  EXPECT_EQ(a.progress.stale_validations, b.progress.stale_validations);
}

// A diverged run (here: a learning rate of 1e30) skips its non-finite steps, and after
// trainer.max_consecutive_skips of them in a row stops with an error saying what to do.
TEST(Trainer, StopsAfterTooManyConsecutiveNonFiniteSteps) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 7);
  const auto config = tiny_config(train, train, dir.path("run"),
                                  {"trainer.max_steps=50", "trainer.max_consecutive_skips=3", "model.optim.lr=1e30",
                                   "model.optim.sched.name=none"});
  const auto error = test::error_text([&] { Trainer(config, TrainOptions{}).fit(); });
  EXPECT_NE(error.find("training diverged: the last 3 steps"), std::string::npos) << error;
  EXPECT_NE(error.find("trainer.max_consecutive_skips = 3"), std::string::npos) << error;
}

// Out of memory on one micro-batch (injected as c10::OutOfMemoryError): the whole step (both of
// its micro-batches) is dropped with zeroed gradients and counted, and training goes on. Here it
// is the last step, so the run ends with the learned parameters of step 1 exactly (BatchNorm's
// running statistics keep what the micro-batch before the failing one added).
TEST(Trainer, AnOutOfMemoryStepIsDroppedAndCounted) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 9);
  const std::vector<std::string> two_steps = {"trainer.max_steps=2", "trainer.accumulate_grad_batches=2",
                                              "model.train_ds.batch_size=2", "trainer.val_check_interval=100"};
  Trainer(tiny_config(train, train, dir.path("one"), two_steps), TrainOptions{"", 1}).fit();
  ::setenv("SORI_TEST_OOM_AT_MICRO_BATCH", "3", 1);  // the second micro-batch of step 2
  const auto summary = Trainer(tiny_config(train, train, dir.path("oom"), two_steps), TrainOptions{}).fit();
  ::unsetenv("SORI_TEST_OOM_AT_MICRO_BATCH");
  EXPECT_EQ(summary.steps, 2);
  EXPECT_EQ(summary.skipped_steps, 1);
  const auto one = load_checkpoint(dir.path("one/checkpoints/last.ckpt"));
  const auto oom = load_checkpoint(dir.path("oom/checkpoints/last.ckpt"));
  EXPECT_EQ(oom.progress.skipped_steps, 1);
  for (const auto& [k, v] : one.model)
    if (k.find("running_") == std::string::npos && k.find("num_batches") == std::string::npos)
      EXPECT_TRUE(torch::equal(v, oom.model.at(k))) << k;
}

// A checkpoint write that fails (a full disk, simulated with a 200 KiB file-size limit and
// SIGXFSZ ignored, so writes fail with EFBIG): reported; the previous checkpoints stay loadable;
// the run stops (default) or trains on (checkpoint.on_write_error=continue). The same for a write
// in the background (checkpoint.async_write), whose failure is found at the next save.
TEST(Checkpoint, AWriteErrorKeepsThePreviousCheckpointsAndFollowsThePolicy) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 8);
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, dir.path("unused")));
  const auto sori = [&](const std::string& run, const std::string& extra, const std::string& log, bool limited) {
    std::string command = std::string(limited ? "trap '' XFSZ; ulimit -f 200; " : "") + "exec " + SORI_BINARY +
                          " train --config " + dir.path("tiny.yaml") + " trainer.run_dir=" + run +
                          " checkpoint.every_n_steps=4 trainer.val_check_interval=1000 " + extra;
    return test::wait_exit(test::spawn({"bash", "-c", command}, {}, log));
  };
  for (const std::string async : {"false", "true"}) {
    for (const std::string policy : {"stop", "continue"}) {
      const auto run = dir.path(policy + "_async_" + async), log = run + ".log";
      ASSERT_EQ(sori(run, "trainer.max_steps=4", run + ".first.log", false), 0) << test::read_text(run + ".first.log");
      ASSERT_GT(fs::file_size(run + "/checkpoints/last.ckpt"), 200u * 1024) << "the limit must stop checkpoint writes";
      const int status = sori(run, "--resume auto trainer.max_steps=8 checkpoint.async_write=" + async +
                                       " checkpoint.on_write_error=" + policy, log, true);
      const auto text = test::read_text(log);
      EXPECT_NE(text.find("checkpoint at step 8"), std::string::npos) << text;
      EXPECT_NE(text.find("File too large"), std::string::npos) << text;
      if (policy == "stop") {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << text;
        // A write attempted after the failed one would fail too, and be logged as not written.
        EXPECT_EQ(text.find("NOT written"), std::string::npos) << "no write after the failed one: " << text;
      } else {
        EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << text;
        EXPECT_NE(text.find("NOT written"), std::string::npos) << text;
      }
      CheckpointManager after(run, 3, "val_cer", "min");
      const auto newest = after.load_newest_valid(nullptr);
      ASSERT_TRUE(newest);
      EXPECT_EQ(newest->progress.step, 4) << policy << ", async " << async << ": " << newest->source;
    }
  }
}

TEST(ExactResume, SurvivesKillDashNine) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 10, 4);
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, dir.path("run")));
  const std::vector<std::string> args = {"trainer.max_steps=300", "checkpoint.every_n_steps=4",
                                         "model.augmentation.speed_perturb=[0.9,1.0,1.1]", "model.encoder.dropout=0.1"};
  auto run = [&](const std::string& run_dir, const std::string& resume) {
    std::vector<std::string> argv = {SORI_BINARY, "train", "--config", dir.path("tiny.yaml")};
    if (!resume.empty()) argv.insert(argv.end(), {"--resume", resume});
    for (const auto& a : args) argv.push_back(a);
    argv.push_back("trainer.run_dir=" + run_dir);
    return test::spawn(argv, {}, "/dev/null");
  };
  using test::wait_exit;
  EXPECT_EQ(wait_exit(run(dir.path("straight"), "")), 0);
  // Kill the second run once it has written a checkpoint and trained on a little.
  const pid_t victim = run(dir.path("killed"), "");
  const auto last = dir.path("killed/checkpoints/last.ckpt");
  for (int i = 0; i < 600 && !fs::exists(last); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int status = 0;
  ASSERT_EQ(waitpid(victim, &status, WNOHANG), 0) << "the run ended before it could be killed: the test proves nothing";
  kill(victim, SIGKILL);
  status = wait_exit(victim);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  // Killed between renaming the old `last` aside and writing the new one, only last.prev exists.
  ASSERT_TRUE(fs::exists(last) || fs::exists(dir.path("killed/checkpoints/last.prev.ckpt")));
  EXPECT_EQ(wait_exit(run(dir.path("killed"), "auto")), 0);
  expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), last);
}

TEST(TrainerCuda, LearnsWithMixedPrecision) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  for (const std::string precision : {"bf16", "16"}) {
    test::TempDir dir;
    const auto train = test::make_tone_corpus(dir, "train", 8, 5);
    const auto run_dir = dir.path("run");
    Trainer trainer(tiny_config(train, train, run_dir, {"trainer.device=cuda", "trainer.precision=" + precision}),
                    TrainOptions{});
    const auto summary = trainer.fit();
    EXPECT_EQ(summary.steps, 200) << precision;
    EXPECT_LT(last_loss(run_dir), 0.5) << precision;
    EXPECT_LT(summary.best_metric, 0.2) << precision;
  }
}
