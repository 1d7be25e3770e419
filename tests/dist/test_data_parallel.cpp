// Data-parallel training with real processes on CPU (Gloo): ranks started directly with
// torchrun's environment variables, and under torchrun itself.
#include <gtest/gtest.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "sori/core/torch_compat.h"
#include "sori/train/checkpoint.h"
#include "test_util.h"
#include "train/tone_corpus.h"

using namespace sori;
using test::free_port;
using test::rank_env;
using test::read_text;
using test::spawn;
using test::wait_exit;
namespace fs = std::filesystem;

namespace {

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sori::compat::gloo_available()) GTEST_SKIP() << "needs c10d Gloo, which this LibTorch lacks";
    train_ = test::make_tone_corpus(dir_, "train", 12, 7);
    test::write_text(dir_.path("tiny.yaml"), test::tiny_config_yaml(train_, train_, dir_.path("unused")));
  }

  std::vector<std::string> train_args(const std::string& run, const std::vector<std::string>& extra) const {
    std::vector<std::string> a = {SORI_BINARY, "train", "--config", dir_.path("tiny.yaml"), "trainer.run_dir=" + run,
                                  "trainer.bucket_group=2", "model.train_ds.batch_size=2"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }

  // `world` ranks of `sori train` with torchrun's variables; retries once on a port clash.
  void run_ranks(int world, const std::string& run, const std::vector<std::string>& extra) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      const auto port = std::to_string(free_port());
      std::vector<pid_t> pids;
      for (int r = 0; r < world; ++r)
        pids.push_back(spawn(train_args(run, extra),
                             rank_env(r, world, port),
                             run + ".rank" + std::to_string(r) + ".log"));
      bool ok = true;
      for (auto pid : pids) ok = wait_exit(pid) == 0 && ok;
      if (ok) return;
      if (read_text(run + ".rank0.log").find("Address already in use") == std::string::npos) break;
    }
    FAIL() << "ranks failed; rank 0 log:\n" << read_text(run + ".rank0.log") << "\nrank 1 log:\n"
           << read_text(run + ".rank1.log");
  }

  void run_single(const std::string& run, const std::vector<std::string>& extra) {
    ASSERT_EQ(wait_exit(spawn(train_args(run, extra), {}, run + ".log")), 0) << read_text(run + ".log");
  }

  test::TempDir dir_;
  std::string train_;
};

Checkpoint last(const std::string& run) { return load_checkpoint(run + "/checkpoints/last.ckpt"); }

// Learned parameters equal to 1e-5 relative (BatchNorm running statistics aside).
void expect_close_parameters(const Checkpoint& a, const Checkpoint& b) {
  for (const auto& [k, v] : a.model) {
    if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos) continue;
    const auto diff = (v - b.model.at(k)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * std::max(1e-3, v.abs().max().item<double>())) << k;
  }
}

double final_metric(const std::string& run, const std::string& key) {
  std::ifstream in(run + "/metrics.jsonl");
  std::string line;
  double value = -1;
  while (std::getline(in, line)) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains(key)) value = row[key];
  }
  return value;
}

// Replaces a manifest line's audio with a FLAC whose header reads (so the start-up check passes)
// but whose frames do not decode: the loader meets the failure mid-run.
void make_undecodable(const std::string& manifest, int line_number) {
  std::ifstream in(manifest);
  std::string line, text;
  for (int n = 1; std::getline(in, line); ++n) {
    if (n == line_number) {
      auto row = nlohmann::json::parse(line);
      row["audio_filepath"] = row["audio_filepath"].get<std::string>() + ".flac";
      const auto flac = (fs::path(manifest).parent_path() / row["audio_filepath"].get<std::string>()).string();
      SF_INFO info{};
      info.samplerate = 16000;
      info.channels = 1;
      info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
      SNDFILE* f = sf_open(flac.c_str(), SFM_WRITE, &info);
      const auto samples = test::tone(row["duration"].get<double>(), 16000);
      sf_writef_float(f, samples.data(), static_cast<sf_count_t>(samples.size()));
      sf_close(f);
      auto bytes = read_text(flac);
      for (std::size_t i = bytes.size() / 3; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7919);
      test::write_text(flac, bytes);
      line = row.dump();
    }
    text += line + "\n";
  }
  test::write_text(manifest, text);
}

// Everything random on: speed perturbation, noise, SpecAugment, dropout, dither.
const std::vector<std::string> kRandomOn = {
    "model.augmentation.speed_perturb=[0.9,1.0,1.1]", "model.augmentation.noise.prob=0.5",
    "model.spec_augment.freq_masks=2", "model.spec_augment.time_masks=2", "model.spec_augment.freq_width=10",
    "model.encoder.dropout=0.1", "model.encoder.dropout_att=0.1", "model.encoder.dropout_pre_encoder=0.1",
    "trainer.max_steps=6", "trainer.val_check_interval=6", "checkpoint.every_n_steps=3"};

}  // namespace

TEST_F(DataParallel, TwoRanksTrainTheSameParametersAsOneRankAccumulatingTwo) {
  // NeMo's normalisation (per-micro-batch mean, averaged) must agree too: both average the same
  // per-micro-batch losses.
  for (const std::string loss : {"global_tokens", "nemo"}) {
    auto args = kRandomOn;
    args.insert(args.end(), {"trainer.precision=64", "trainer.sync_batchnorm=false", "trainer.loss_reduction=" + loss,
                             "trainer.max_steps=40", "trainer.val_check_interval=40"});
    auto single = args;
    single.push_back("trainer.accumulate_grad_batches=2");
    run_single(dir_.path("one_" + loss), single);
    run_ranks(2, dir_.path("two_" + loss), args);
    const auto a = last(dir_.path("one_" + loss)), b = last(dir_.path("two_" + loss));
    EXPECT_EQ(a.progress.step, 40);
    EXPECT_EQ(b.progress.step, 40);
    EXPECT_EQ(a.progress.position, b.progress.position);
    expect_close_parameters(a, b);
    // Validation on 2 ranks (disjoint shards, summed edit counts) gives the single-process CER,
    // with hypotheses that are not all empty (an untrained model's CER of 1.0 would match trivially).
    const double cer = final_metric(dir_.path("one_" + loss), "val_cer");
    EXPECT_LT(cer, 0.98) << loss;
    EXPECT_DOUBLE_EQ(cer, final_metric(dir_.path("two_" + loss), "val_cer")) << loss;
    // What people read: rank 0 alone writes TensorBoard and run_info.json (with both ranks'
    // hosts); every rank writes its share of the validation results, and together they cover
    // the validation set once.
    const auto two = dir_.path("two_" + loss);
    int event_files = 0;
    for (const auto& f : std::filesystem::directory_iterator(two))
      event_files += f.path().filename().string().rfind("events.out.tfevents.", 0) == 0;
    EXPECT_EQ(event_files, 1);
    EXPECT_EQ(nlohmann::json::parse(read_text(two + "/run_info.json"))["hosts"].size(), 2u);
    std::set<std::string> utterances;
    std::size_t rows = 0;
    for (const auto* rank : {"rank0", "rank1"}) {
      std::istringstream lines(read_text(two + "/validation/" + rank + ".jsonl"));
      for (std::string line; std::getline(lines, line); ++rows)
        utterances.insert(nlohmann::json::parse(line)["where"].get<std::string>());
    }
    EXPECT_GT(rows, 0u);
    EXPECT_EQ(utterances.size(), rows) << "each validation utterance in one rank's file only";
  }
}

TEST_F(DataParallel, OverlapOnAndOffGiveIdenticalParameters) {
  run_ranks(2, dir_.path("overlap"), {"trainer.max_steps=4", "trainer.ddp_bucket_mb=0.01"});
  run_ranks(2, dir_.path("no_overlap"), {"trainer.max_steps=4", "trainer.ddp_overlap=false"});
  const auto a = last(dir_.path("overlap")), b = last(dir_.path("no_overlap"));
  for (const auto& [k, v] : a.model) EXPECT_TRUE(torch::equal(v, b.model.at(k))) << k;
}

TEST_F(DataParallel, ResumesOnOneRankWithTwiceTheAccumulation) {
  const std::vector<std::string> args = {"trainer.max_steps=6", "trainer.precision=64", "trainer.sync_batchnorm=false"};
  run_ranks(2, dir_.path("straight"), args);
  auto first = args;
  first.push_back("--stop-after-steps=3");
  const auto moved = dir_.path("moved");
  run_ranks(2, moved, first);
  ASSERT_EQ(last(moved).progress.step, 3);
  // W·A = 2 either way: a run may move from 2 ranks to 1 rank accumulating 2.
  auto single = args;
  single.insert(single.end(), {"trainer.accumulate_grad_batches=2", "--resume=auto"});
  run_single(moved, single);
  const auto a = last(dir_.path("straight")), b = last(moved);
  EXPECT_EQ(b.progress.step, 6);
  EXPECT_EQ(b.shape.world_size, 1);
  EXPECT_EQ(b.shape.accumulate, 2);
  expect_close_parameters(a, b);
  // One rank without accumulation would change what a step means: refused, saying what works.
  auto wrong = train_args(moved, {"trainer.max_steps=9", "--resume=auto"});
  EXPECT_NE(wait_exit(spawn(wrong, {}, moved + ".wrong.log")), 0);
  EXPECT_NE(read_text(moved + ".wrong.log").find("accumulate 2"), std::string::npos) << read_text(moved + ".wrong.log");
}

// Under skip_invalid a rank whose micro-batch lost every utterance still runs the step's
// collectives with zero tokens: no hang, and the result equals one rank accumulating two (which
// simply skips the empty micro-batch).
TEST_F(DataParallel, ARankWhoseMicroBatchFailedToLoadTakesPartWithZeroTokens) {
  make_undecodable(train_, 5);
  // One utterance per micro-batch, one epoch of 12 micro-batches.
  const std::vector<std::string> args = {"model.train_ds.batch_size=1", "model.train_ds.num_buckets=1",
                                         "model.train_ds.skip_invalid=true", "model.validation_ds.skip_invalid=true",
                                         "trainer.max_steps=6",
                                         "trainer.precision=64", "trainer.sync_batchnorm=false"};
  auto single = args;
  single.push_back("trainer.accumulate_grad_batches=2");
  run_single(dir_.path("one"), single);
  run_ranks(2, dir_.path("two"), args);
  const auto logs = read_text(dir_.path("two") + ".rank0.log") + read_text(dir_.path("two") + ".rank1.log");
  EXPECT_NE(logs.find("skip_invalid: leaving out manifest " + train_ + ":5"), std::string::npos) << logs;
  EXPECT_NE(logs.find("so far 1 utterances left out"), std::string::npos) << logs;
  const auto a = last(dir_.path("one")), b = last(dir_.path("two"));
  EXPECT_EQ(b.progress.step, 6);
  expect_close_parameters(a, b);
}

namespace {

// Two ranks where rank 1 runs in `cwd1` with `extra1` added: both must refuse to start, saying `expected`.
void expect_refusal_at_start(const std::string& run, const std::vector<std::string>& args,
                             const std::vector<std::string>& extra1, const std::string& cwd1,
                             const std::string& expected) {
  const auto port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    auto a = args;
    if (r == 1) a.insert(a.end(), extra1.begin(), extra1.end());
    std::string command = "cd '" + (r == 1 ? cwd1 : fs::path(run).parent_path().string()) + "' && exec";
    for (const auto& x : a) command += " '" + x + "'";
    pids.push_back(spawn({"sh", "-c", command},
                         rank_env(r, 2, port),
                         run + ".rank" + std::to_string(r) + ".log"));
  }
  for (int r = 0; r < 2; ++r) {
    const int status = wait_exit(pids[static_cast<std::size_t>(r)]);
    const auto log = read_text(run + ".rank" + std::to_string(r) + ".log");
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
    EXPECT_NE(log.find(expected), std::string::npos) << log;
  }
  EXPECT_FALSE(fs::exists(run + "/checkpoints/last.ckpt"));
}

}  // namespace

TEST_F(DataParallel, RanksWithDifferentConfigurationsRefuseToStart) {
  const auto run = dir_.path("config_mismatch");
  expect_refusal_at_start(run, train_args(run, {}), {"trainer.seed=5"}, dir_.path(),
                          "rank 1 resolved another configuration than rank 0 (line ");
  EXPECT_NE(read_text(run + ".rank0.log").find("rank 0 '  seed: 1234', rank 1 '  seed: 5'"), std::string::npos)
      << read_text(run + ".rank0.log");
}

// The same configuration, but rank 1 reads another file by the same (relative) manifest path,
// as a node with a stale local copy would.
TEST_F(DataParallel, RanksWithDifferentTrainingDataRefuseToStart) {
  test::TempDir elsewhere;
  test::make_tone_corpus(elsewhere, "train", 12, 8);
  const auto run = dir_.path("data_mismatch");
  expect_refusal_at_start(run, train_args(run, {"model.train_ds.manifest_filepath=[train.jsonl]"}), {},
                          elsewhere.path(), "rank(s) 1 built another vocabulary or training set than rank 0");
}

TEST_F(DataParallel, AnUnreachableStoreSaysRankZerosHostIsGone) {
  // Rank 1 of 2 with nobody serving the store.
  const auto run = dir_.path("alone");
  const auto port = std::to_string(free_port());
  const pid_t pid = spawn(train_args(run, {"trainer.dist_startup_timeout_s=2"}),
                          rank_env(1, 2, port),
                          run + ".log");
  const auto started = std::chrono::steady_clock::now();
  const int status = wait_exit(pid);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const auto log = read_text(run + ".log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
  EXPECT_LT(seconds, 30.0);
  EXPECT_NE(log.find("rank 1: cannot reach the rendezvous store at 127.0.0.1:" + port + " within 2.000 s: rank 0's host "
                     "(which serves the store), or torchrun's agent, is gone"),
            std::string::npos)
      << log;
}

// A signal to one rank stops every rank after the same step (it rides in the per-step
// agreement): rank 0 writes the checkpoint and the marker, and every rank exits 0.
TEST_F(DataParallel, ASignalToOneRankStopsAllAfterTheSameStep) {
  const auto run = dir_.path("preempt");
  const auto port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn(train_args(run, {"trainer.max_steps=100000", "checkpoint.every_n_steps=0",
                                          "trainer.val_check_interval=100000"}),
                         rank_env(r, 2, port),
                         run + ".rank" + std::to_string(r) + ".log"));
  for (int i = 0; i < 600 && read_text(run + ".rank0.log").find("step 10/") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(waitpid(pids[1], nullptr, WNOHANG), 0) << "rank 1 ended before the signal: the test proves nothing";
  kill(pids[1], SIGTERM);
  for (int r = 0; r < 2; ++r) {
    const int status = wait_exit(pids[static_cast<std::size_t>(r)]);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << read_text(run + ".rank" + std::to_string(r) + ".log");
  }
  const auto step = last(run).progress.step;
  EXPECT_GT(step, 10);
  EXPECT_EQ(read_text(run + "/preempted"), "step " + std::to_string(step) + "\n");
  EXPECT_NE(read_text(run + ".rank0.log").find("preempted at step " + std::to_string(step)), std::string::npos);
}

// Out of memory on rank 1 (injected at its micro-batch 5, in step 3): rank 1 names the batch and
// exits non-zero, rank 0 fails promptly instead of waiting for the collective timeout, and
// `--resume auto` continues from the periodic checkpoint of step 2 to the end.
TEST_F(DataParallel, AnOutOfMemoryOnOneRankEndsTheRunAndResumeAutoContinues) {
  const auto run = dir_.path("oom");
  const std::vector<std::string> extra = {"trainer.max_steps=6", "checkpoint.every_n_steps=2",
                                          "trainer.val_check_interval=100", "trainer.dist_timeout_s=120"};
  const auto port = std::to_string(free_port());
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r) {
    auto env = rank_env(r, 2, port);
    env.push_back("SORI_TEST_OOM_AT_MICRO_BATCH=5");
    pids.push_back(spawn(train_args(run, extra), env, run + ".rank" + std::to_string(r) + ".log"));
  }
  for (auto pid : pids) EXPECT_NE(wait_exit(pid), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(60)) << "rank 0 waited for the timeout";
  const auto log1 = read_text(run + ".rank1.log");
  EXPECT_NE(log1.find("rank 1: out of memory on micro-batch 5 of 2 utterances"), std::string::npos) << log1;
  EXPECT_NE(log1.find("--resume auto"), std::string::npos) << log1;
  EXPECT_EQ(last(run).progress.step, 2);
  run_ranks(2, run, {"--resume", "auto", "trainer.max_steps=6", "checkpoint.every_n_steps=2",
                     "trainer.val_check_interval=100"});
  EXPECT_NE(read_text(run + ".rank0.log").find("resumed at step 2"), std::string::npos);
  EXPECT_EQ(last(run).progress.step, 6);
}

TEST_F(DataParallel, StalledRankEndsTheRunWithinTheTimeoutNamingIt) {
  const auto run = dir_.path("stall");
  const auto port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn(train_args(run, {"trainer.max_steps=100000", "trainer.dist_timeout_s=4",
                                          "checkpoint.every_n_steps=0", "trainer.val_check_interval=100000"}),
                         rank_env(r, 2, port),
                         run + ".rank" + std::to_string(r) + ".log"));
  // Stop rank 1 once training runs.
  for (int i = 0; i < 600 && read_text(run + ".rank0.log").find("step 10/") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  kill(pids[1], SIGSTOP);
  const auto stopped_at = std::chrono::steady_clock::now();
  const int status = wait_exit(pids[0]);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - stopped_at).count();
  kill(pids[1], SIGKILL);
  wait_exit(pids[1]);
  const auto log = read_text(run + ".rank0.log");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
  EXPECT_LT(seconds, 4 + 10.0) << "rank 0 should leave its collective within the 4 s timeout";
  EXPECT_NE(log.find("silent: rank 1"), std::string::npos) << log;
}

namespace {

// torchrun as users run it (Debian's 1.13 on Python 3.11 needs -r 1 -t 1 --log_dir).
std::vector<std::string> torchrun(const std::string& logs, const std::vector<std::string>& rendezvous) {
  std::vector<std::string> a = {"torchrun", "-r", "1", "-t", "1", "--log_dir", logs, "--nproc_per_node", "2",
                                "--monitor_interval", "0.1"};
  a.insert(a.end(), rendezvous.begin(), rendezvous.end());
  a.push_back("--no_python");
  return a;
}

bool has_torchrun() { return std::system("command -v torchrun > /dev/null 2>&1") == 0; }

}  // namespace

TEST_F(DataParallel, TorchrunKilledAndResumedEndsBitwiseEqual) {
  if (!has_torchrun()) GTEST_SKIP() << "torchrun not installed";
  // --standalone (rank 0 serves the store) and a static --master_port (torchrun's agent does).
  for (const bool standalone : {true, false}) {
    const std::string tag = standalone ? "standalone" : "static";
    const std::vector<std::string> rendezvous =
        standalone ? std::vector<std::string>{"--standalone"}
                   : std::vector<std::string>{"--master_addr", "127.0.0.1", "--master_port", std::to_string(free_port())};
    const std::vector<std::string> args = {"trainer.max_steps=100", "checkpoint.every_n_steps=4", "--resume=auto",
                                           "model.encoder.dropout=0.1", "model.augmentation.speed_perturb=[0.9,1.0,1.1]"};
    auto command = [&](const std::string& run) {
      auto a = torchrun(dir_.path(tag + "_logs_" + fs::path(run).filename().string()), rendezvous);
      for (const auto& x : train_args(run, args)) a.push_back(x);
      return a;
    };
    const auto straight = dir_.path(tag + "_straight"), killed = dir_.path(tag + "_killed");
    ASSERT_EQ(wait_exit(spawn(command(straight), {}, straight + ".log")), 0) << read_text(straight + ".log");
    const pid_t job = spawn(command(killed), {}, killed + ".log");
    for (int i = 0; i < 1200 && !fs::exists(killed + "/checkpoints/last.ckpt"); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    ASSERT_EQ(waitpid(job, nullptr, WNOHANG), 0) << "the job ended before a worker could be killed";
    // Kill one worker: torchrun ends the job, non-zero.
    ASSERT_EQ(std::system(("pkill -9 -f -n '[s]ori train .*" + killed + "'").c_str()), 0);
    const int status = wait_exit(job);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << read_text(killed + ".log");
    ASSERT_EQ(wait_exit(spawn(command(killed), {}, killed + ".resumed.log")), 0) << read_text(killed + ".resumed.log");
    const auto a = last(straight), b = last(killed);
    EXPECT_EQ(b.progress.step, 100) << tag;
    for (const auto& [k, v] : a.model) EXPECT_TRUE(torch::equal(v, b.model.at(k))) << tag << ": " << k;
  }
}

TEST_F(DataParallel, TorchrunRestartsAKilledWorkerAndReachesTheLastStep) {
  if (!has_torchrun()) GTEST_SKIP() << "torchrun not installed";
  const auto run = dir_.path("elastic");
  // A static rendezvous port: two --standalone jobs at once (ctest runs tests in parallel) share port 29400.
  auto a = torchrun(dir_.path("elastic_logs"),
                    {"--master_addr", "127.0.0.1", "--master_port", std::to_string(free_port()), "--max_restarts", "1"});
  for (const auto& x : train_args(run, {"trainer.max_steps=150", "checkpoint.every_n_steps=4", "--resume=auto"}))
    a.push_back(x);
  const pid_t job = spawn(a, {}, run + ".log");
  for (int i = 0; i < 1200 && !fs::exists(run + "/checkpoints/last.ckpt"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(waitpid(job, nullptr, WNOHANG), 0) << "the job ended before a worker could be killed";
  ASSERT_EQ(std::system(("pkill -9 -f -n '[s]ori train .*" + run + "'").c_str()), 0);
  EXPECT_EQ(wait_exit(job), 0) << read_text(run + ".log");
  EXPECT_EQ(last(run).progress.step, 150);
}

TEST_F(DataParallel, TorchrunTwoRanksResumedOnOneConsumeEveryUtteranceOnce) {
  if (!has_torchrun()) GTEST_SKIP() << "torchrun not installed";
  const auto run = dir_.path("consumed");
  const std::vector<std::string> args = {"trainer.max_steps=-1", "trainer.max_epochs=1", "trainer.log_utterances=true",
                                         "--resume=auto"};
  auto first = torchrun(dir_.path("consumed_logs"), {"--master_addr", "127.0.0.1", "--master_port", std::to_string(free_port())});
  for (const auto& x : train_args(run, args)) first.push_back(x);
  first.push_back("--stop-after-steps=2");
  ASSERT_EQ(wait_exit(spawn(first, {}, run + ".log")), 0) << read_text(run + ".log");
  ASSERT_EQ(last(run).progress.step, 2);
  // What a worker killed after the checkpoint would have logged: the resume must drop it.
  std::ofstream(run + "/utterances/rank1.jsonl", std::ios::app) << R"({"step":3,"batch":5,"epoch":0,"utterances":["stale:1"]})" "\n";
  auto single = args;
  single.push_back("trainer.accumulate_grad_batches=2");
  run_single(run, single);

  std::map<std::string, int> seen;
  std::set<std::int64_t> batches;
  for (const auto& rank : {"rank0", "rank1"}) {
    std::ifstream in(run + "/utterances/" + rank + ".jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const auto row = nlohmann::json::parse(line);
      EXPECT_EQ(row["epoch"], 0) << line;
      EXPECT_TRUE(batches.insert(row["batch"].get<std::int64_t>()).second) << "micro-batch trained twice: " << line;
      for (const auto& u : row["utterances"]) ++seen[u.get<std::string>()];
    }
  }
  std::ifstream manifest(train_);
  int lines = 0;
  for (std::string l; std::getline(manifest, l);) {
    const auto where = train_ + ":" + std::to_string(++lines);
    EXPECT_EQ(seen[where], 1) << where;
    seen.erase(where);
  }
  for (const auto& [where, count] : seen) ADD_FAILURE() << "logged " << count << " times, not in the manifest: " << where;
  EXPECT_EQ(static_cast<std::int64_t>(batches.size()), *batches.rbegin() + 1) << "micro-batches 0.." << *batches.rbegin();
}

// SIGTERM to torchrun's agent (what a cluster sends the launcher): the agent forwards it to the
// workers and gives them 30 s; they finish the step, rank 0 checkpoints and leaves the marker.
TEST_F(DataParallel, TorchrunPreemptedBySigtermToTheAgentLeavesACheckpoint) {
  if (!has_torchrun()) GTEST_SKIP() << "torchrun not installed";
  const auto run = dir_.path("agent_term");
  auto a = torchrun(dir_.path("agent_term_logs"), {"--master_addr", "127.0.0.1", "--master_port", std::to_string(free_port())});
  for (const auto& x : train_args(run, {"trainer.max_steps=100000", "checkpoint.every_n_steps=0",
                                        "trainer.val_check_interval=100000", "trainer.log_every_n_steps=5"}))
    a.push_back(x);
  const pid_t agent = spawn(a, {}, run + ".log");
  for (int i = 0; i < 1200 && read_text(run + ".log").find("step 10/") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  ASSERT_EQ(waitpid(agent, nullptr, WNOHANG), 0) << read_text(run + ".log");
  const auto sent = std::chrono::steady_clock::now();
  kill(agent, SIGTERM);
  wait_exit(agent);  // torchrun itself reports the signal with a non-zero code
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count(), 30.0)
      << "the workers should stop within torchrun's grace period";
  ASSERT_TRUE(fs::exists(run + "/preempted")) << read_text(run + ".log");
  const auto step = last(run).progress.step;
  EXPECT_EQ(read_text(run + "/preempted"), "step " + std::to_string(step) + "\n");
  EXPECT_NE(read_text(run + ".log").find("SIGTERM received"), std::string::npos);
}
