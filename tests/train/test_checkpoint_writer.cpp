// Checkpoints written in the background (checkpoint.async_write): the writer itself, then
// `sori train` runs on the tiny tone corpus with writes slowed by SORI_TEST_WRITE_DELAY_MS, so
// that a write is in flight while training goes on, at every save after it, and at each exit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "sori/core/error.h"
#include "sori/train/checkpoint.h"
#include "sori/train/checkpoint_writer.h"
#include "tone_corpus.h"

using namespace sori;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Parameters, buffers, RNG states, loss scaler, progress and metrics. (The optimizer's bytes
// name tensors by address, which differs between runs; they are taken on the training thread.)
void expect_same_parameters(const std::string& a, const std::string& b) {
  const auto ca = load_checkpoint(a), cb = load_checkpoint(b);
  EXPECT_EQ(ca.progress.step, cb.progress.step) << a << " vs " << b;
  EXPECT_EQ(ca.progress.position, cb.progress.position) << b;
  EXPECT_EQ(ca.metrics, cb.metrics) << b;
  ASSERT_EQ(ca.model.size(), cb.model.size());
  for (const auto& [k, v] : ca.model) EXPECT_TRUE(torch::equal(v, cb.model.at(k))) << "differs: " << k << " in " << b;
  ASSERT_EQ(ca.cpu_rng_states.size(), cb.cpu_rng_states.size()) << b;
  for (std::size_t i = 0; i < ca.cpu_rng_states.size(); ++i)
    EXPECT_TRUE(torch::equal(ca.cpu_rng_states[i], cb.cpu_rng_states[i])) << "RNG state of rank " << i << " in " << b;
  EXPECT_TRUE(torch::equal(ca.scaler_scale, cb.scaler_scale)) << b;
  EXPECT_TRUE(torch::equal(ca.scaler_growth_tracker, cb.scaler_growth_tracker)) << b;
}

// `sori train` on the tiny config in `dir`; `env`: NAME=value pairs.
class TinyRuns {
 public:
  explicit TinyRuns(const test::TempDir& dir, int utterances = 10, unsigned seed = 11) : dir_(dir) {
    const auto train = test::make_tone_corpus(dir, "train", utterances, seed);
    test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, dir.path("unused")));
  }
  pid_t spawn(const std::string& run, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) const {
    std::vector<std::string> argv = {SORI_BINARY, "train", "--config", dir_.path("tiny.yaml"), "trainer.run_dir=" + run,
                                     "trainer.log_every_n_steps=1"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::spawn(argv, env, run + ".log");
  }
  // Runs to the end; a failed run fails the test with its log.
  void run(const std::string& run, const std::vector<std::string>& args, const std::vector<std::string>& env = {}) const {
    const int status = test::wait_exit(spawn(run, args, env));
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_text(run + ".log");
  }

 private:
  const test::TempDir& dir_;
};

std::set<std::string> checkpoint_files(const std::string& run) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) names.insert(e.path().filename().string());
  return names;
}

// Whether `pid` still runs; once it has ended, its status (reaped here) is in `status`.
bool running(pid_t pid, int& status, bool& ended) {
  if (!ended && waitpid(pid, &status, WNOHANG) == pid) ended = true;
  return !ended;
}

bool has_step_row(const std::string& run, std::int64_t step) {
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    try {
      const auto row = nlohmann::json::parse(line);
      if (row.contains("loss") && row["step"] == step) return true;
    } catch (const std::exception&) {  // a line still being appended
    }
  }
  return false;
}

}  // namespace

TEST(CheckpointWriter, WritesInTheBackgroundOneAtATime) {
  CheckpointWriter writer;
  EXPECT_EQ(writer.wait().step, -1) << "nothing in flight";
  std::atomic<bool> release{false}, done{false};
  writer.start(5, [&] {
    while (!release) std::this_thread::sleep_for(1ms);
    done = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(done) << "start() returned while its write runs";
  // A second write while one is in flight is refused, never dropped or run alongside.
  const auto error = test::error_text([&] { writer.start(6, [] {}); });
  EXPECT_NE(error.find("still in flight"), std::string::npos) << error;
  release = true;
  const auto outcome = writer.wait();
  EXPECT_TRUE(done) << "wait() returned before the write ended";
  EXPECT_EQ(outcome.step, 5);
  EXPECT_FALSE(outcome.failed()) << outcome.error;
  EXPECT_EQ(writer.wait().step, -1) << "an outcome is returned once";
  writer.start(6, [] {});  // the next one, after the wait
  EXPECT_EQ(writer.wait().step, 6);
}

TEST(CheckpointWriter, ReportsTheWritesErrorMessage) {
  CheckpointWriter writer;
  writer.start(7, [] { SORI_FAIL("cannot write last.ckpt: File too large"); });
  const auto outcome = writer.wait();
  EXPECT_EQ(outcome.step, 7);
  EXPECT_NE(outcome.error.find("cannot write last.ckpt: File too large"), std::string::npos) << outcome.error;
  writer.start(8, [] { throw std::runtime_error(""); });
  EXPECT_TRUE(writer.wait().failed()) << "an exception without a message is still a failure";
  const auto here = CheckpointWriter::run(9, [] { throw std::filesystem::filesystem_error("rename", std::error_code()); });
  EXPECT_EQ(here.step, 9);
  EXPECT_NE(here.error.find("rename"), std::string::npos) << here.error;
}

// A snapshot of a large model is a GB of host memory: it goes when its write ends, not when the
// next save collects the outcome a save interval later.
TEST(CheckpointWriter, FreesTheSnapshotWhenTheWriteEnds) {
  CheckpointWriter writer;
  auto snapshot = std::make_shared<std::vector<float>>(1000);
  const std::weak_ptr<std::vector<float>> alive = snapshot;
  writer.start(3, [snapshot = std::move(snapshot)] { EXPECT_EQ(snapshot->size(), 1000u); });
  for (int i = 0; i < 5000 && !alive.expired(); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(alive.expired()) << "the snapshot outlived its write";
  EXPECT_EQ(writer.wait().step, 3);
}

TEST(CheckpointWriter, ItsDestructorWaitsForTheWrite) {
  std::atomic<bool> done{false};
  {
    CheckpointWriter writer;
    writer.start(1, [&] {
      std::this_thread::sleep_for(200ms);
      done = true;
    });
  }
  EXPECT_TRUE(done);
  {
    CheckpointWriter writer;  // a failure nobody waited for is logged, not thrown from the destructor
    writer.start(2, [] { SORI_FAIL("disk full"); });
  }
}

// With writes slowed to 2 s each (more than a step takes even on a loaded machine), the step after
// a checkpoint step is trained (its row is in metrics.jsonl) before that checkpoint is on disk.
// (With checkpoint.async_write=false the row comes after the file: checked by hand on 2026-12-03.)
TEST(CheckpointWriter, TrainingGoesOnWhileACheckpointIsWritten) {
  test::TempDir dir;
  const TinyRuns runs(dir);
  const auto run = dir.path("async");
  const pid_t pid = runs.spawn(run, {"trainer.max_steps=6", "checkpoint.every_n_steps=2", "trainer.val_check_interval=1000",
                                     "checkpoint.async_write=true"},
                               {"SORI_TEST_WRITE_DELAY_MS=2000"});
  bool stepped = false, ended = false;
  int status = 0;
  for (int i = 0; i < 12000 && !(stepped = has_step_row(run, 3)) && running(pid, status, ended); ++i)
    std::this_thread::sleep_for(5ms);
  const bool written = fs::exists(run + "/checkpoints/last.ckpt");
  if (!ended) status = test::wait_exit(pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_text(run + ".log");
  ASSERT_TRUE(stepped) << test::read_text(run + ".log");
  EXPECT_FALSE(written) << "step 3 waited for the checkpoint of step 2";
  EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").progress.step, 6);
}

// Writes slower than the steps: every save waits for the one before, none is skipped, and the
// run and its files are those of synchronous writes. Each background write starts reading its
// snapshot only 200 ms after training went on (a tiny step takes a few ms), so a snapshot that
// shared the live model, RNG or scaler would be written changed.
TEST(CheckpointWriter, AsyncWritesGiveTheSameRunAndEveryCheckpoint) {
  test::TempDir dir;
  const TinyRuns runs(dir);
  const std::vector<std::string> args = {"trainer.max_steps=12", "trainer.val_check_interval=2",
                                         "checkpoint.every_n_steps=3", "checkpoint.save_top_k=100"};
  auto async = args;
  async.push_back("checkpoint.async_write=true");
  runs.run(dir.path("sync"), args, {"SORI_TEST_WRITE_DELAY_MS=50"});
  runs.run(dir.path("async"), async, {"SORI_TEST_WRITE_DELAY_MS=50", "SORI_TEST_SNAPSHOT_READ_DELAY_MS=200"});
  const auto files = checkpoint_files(dir.path("async"));
  EXPECT_EQ(files, checkpoint_files(dir.path("sync")));
  for (int step = 2; step <= 12; step += 2) {
    char name[32];
    std::snprintf(name, sizeof name, "step_%09d.ckpt", step);
    ASSERT_TRUE(files.count(name)) << name << " was skipped";
    expect_same_parameters(dir.path("sync/checkpoints/") + name, dir.path("async/checkpoints/") + name);
  }
  for (const std::string name : {"last.ckpt", "last.prev.ckpt"})
    expect_same_parameters(dir.path("sync/checkpoints/") + name, dir.path("async/checkpoints/") + name);
  EXPECT_EQ(load_checkpoint(dir.path("async/checkpoints/last.prev.ckpt")).progress.step, 12)
      << "the final `last` follows the one of step 12 (a checkpoint step)";
  EXPECT_EQ(test::read_text(dir.path("async/checkpoints/index.json")), test::read_text(dir.path("sync/checkpoints/index.json")));
}

// --stop-after-steps with a ranked checkpoint in flight at the stop (validation at step 8),
// then --resume auto: bitwise equal to an uninterrupted run (synchronous writes).
TEST(CheckpointWriter, StopAndResumeUnderAsyncWritesIsExact) {
  test::TempDir dir;
  const TinyRuns runs(dir);
  const std::vector<std::string> args = {"trainer.max_steps=12", "trainer.val_check_interval=4", "checkpoint.every_n_steps=5",
                                         "model.augmentation.speed_perturb=[0.9,1.0,1.1]", "model.encoder.dropout=0.1",
                                         "model.spec_augment.time_masks=2"};
  auto async = args;
  async.push_back("checkpoint.async_write=true");
  const std::vector<std::string> slow = {"SORI_TEST_WRITE_DELAY_MS=30"};
  runs.run(dir.path("straight"), args);
  auto stop = async;
  stop.insert(stop.end(), {"--stop-after-steps", "8"});  // 10 utterances, 3 batches an epoch: mid-epoch
  runs.run(dir.path("resumed"), stop, slow);
  EXPECT_EQ(load_checkpoint(dir.path("resumed/checkpoints/last.ckpt")).progress.step, 8);
  EXPECT_TRUE(fs::exists(dir.path("resumed/checkpoints/step_000000008.ckpt")));
  auto resume = async;
  resume.insert(resume.end(), {"--resume", "auto"});
  fs::rename(dir.path("resumed.log"), dir.path("stopped.log"));
  runs.run(dir.path("resumed"), resume, slow);
  expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), dir.path("resumed/checkpoints/last.ckpt"));
}

// A failed background write and checkpoint.on_write_error: tests/train/test_trainer.cpp's
// Checkpoint.AWriteErrorKeepsThePreviousCheckpointsAndFollowsThePolicy runs with async_write on too.

// SIGTERM while background writes are in flight (a checkpoint every 2 steps, each slower than a
// step): exit 0 with the preemption checkpoint complete on disk and listed in the index; resumed,
// the run ends bitwise equal to an uninterrupted one.
TEST(CheckpointWriter, APreemptionWaitsForItsCheckpoint) {
  test::TempDir dir;
  const TinyRuns runs(dir);
  const std::vector<std::string> args = {"trainer.max_steps=60", "trainer.val_check_interval=1000"};
  runs.run(dir.path("straight"), args);
  auto async = args;
  async.insert(async.end(), {"checkpoint.every_n_steps=2", "checkpoint.async_write=true"});
  const std::vector<std::string> slow = {"SORI_TEST_WRITE_DELAY_MS=30"};
  const auto run = dir.path("preempted");
  const pid_t pid = runs.spawn(run, async, slow);
  bool ended = false;
  int status = 0;
  for (int i = 0; i < 6000 && !has_step_row(run, 10) && running(pid, status, ended); ++i)
    std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(running(pid, status, ended)) << "the run ended before the signal (status " << status
                                           << "): the test proves nothing\n" << test::read_text(run + ".log");
  kill(pid, SIGTERM);
  status = test::wait_exit(pid);
  const auto log = test::read_text(run + ".log");
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
  const auto stopped = load_checkpoint(run + "/checkpoints/last.ckpt").progress.step;
  EXPECT_GE(stopped, 10);
  EXPECT_LT(stopped, 60);
  EXPECT_EQ(test::read_text(run + "/preempted"), "step " + std::to_string(stopped) + "\n");
  for (const auto& name : checkpoint_files(run)) EXPECT_EQ(name.find(".tmp."), std::string::npos) << "half written: " << name;
  bool listed = false;
  for (const auto& row : nlohmann::json::parse(test::read_text(run + "/checkpoints/index.json")))
    listed = listed || (row["file"] == "last.ckpt" && row["step"] == stopped);
  EXPECT_TRUE(listed) << test::read_text(run + "/checkpoints/index.json");
  auto resume = async;
  resume.insert(resume.end(), {"--resume", "auto"});
  fs::rename(run + ".log", run + ".first.log");
  runs.run(run, resume);
  expect_same_parameters(dir.path("straight/checkpoints/last.ckpt"), run + "/checkpoints/last.ckpt");
}

// A background write that failed is found at the run's last save (here --stop-after-steps; a
// preemption takes the same path, then exits 0 with its marker for the requeue): reported, and
// the last checkpoint is still written, so that the run leaves one to resume from. Then
// on_write_error applies: `stop` ends the run with an error. The failure: the ranked checkpoint
// of step 4 cannot replace a directory of its name.
TEST(CheckpointWriter, AFailedWriteInFlightStillLeavesTheLastCheckpoint) {
  test::TempDir dir;
  const TinyRuns runs(dir);
  for (const std::string policy : {"stop", "continue"}) {
    const auto run = dir.path(policy);
    fs::create_directories(run + "/checkpoints/step_000000004.ckpt");
    const int status = test::wait_exit(runs.spawn(
        run, {"trainer.max_steps=12", "trainer.val_check_interval=4", "checkpoint.every_n_steps=100",
              "checkpoint.async_write=true", "checkpoint.on_write_error=" + policy, "--resume", "auto",
              "--stop-after-steps", "4"}));
    const auto log = test::read_text(run + ".log");
    std::string not_written;  // the line that reports the failed write
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);)
      if (line.find("checkpoint at step 4 NOT written") != std::string::npos) not_written = line;
    EXPECT_NE(not_written.find("step_000000004.ckpt"), std::string::npos) << log;
    EXPECT_NE(not_written.find("the run's last checkpoint is written next"), std::string::npos) << log;
    EXPECT_EQ(load_checkpoint(run + "/checkpoints/last.ckpt").progress.step, 4) << policy;
    if (policy == "stop") {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) != 0) << log;
      EXPECT_NE(log.find("checkpoint at step 4 was not written (see above), though the run's last checkpoint was"),
                std::string::npos) << log;
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << log;
    }
  }
}
