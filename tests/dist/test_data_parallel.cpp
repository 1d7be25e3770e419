// Data-parallel training with real processes on CPU (Gloo): ranks started directly with
// torchrun's environment variables, and under torchrun itself.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "sori/train/checkpoint.h"
#include "test_util.h"
#include "train/tone_corpus.h"

using namespace sori;
namespace fs = std::filesystem;

namespace {

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

pid_t spawn(std::vector<std::string> argv, const std::vector<std::string>& env, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    freopen(log.c_str(), "w", stdout);
    dup2(fileno(stdout), fileno(stderr));
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class DataParallel : public ::testing::Test {
 protected:
  void SetUp() override {
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
                             {"RANK=" + std::to_string(r), "WORLD_SIZE=" + std::to_string(world),
                              "LOCAL_RANK=" + std::to_string(r), "LOCAL_WORLD_SIZE=" + std::to_string(world),
                              "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port},
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

// Everything random on: speed perturbation, noise, SpecAugment, dropout, dither.
const std::vector<std::string> kRandomOn = {
    "model.augmentation.speed_perturb=[0.9,1.0,1.1]", "model.augmentation.noise.prob=0.5",
    "model.spec_augment.freq_masks=2", "model.spec_augment.time_masks=2", "model.spec_augment.freq_width=10",
    "model.encoder.dropout=0.1", "model.encoder.dropout_att=0.1", "model.encoder.dropout_pre_encoder=0.1",
    "trainer.max_steps=6", "trainer.val_check_interval=6", "checkpoint.every_n_steps=3"};

}  // namespace

TEST_F(DataParallel, TwoRanksTrainTheSameParametersAsOneRankAccumulatingTwo) {
  auto args = kRandomOn;
  args.insert(args.end(), {"trainer.precision=64", "trainer.sync_batchnorm=false"});
  auto single = args;
  single.push_back("trainer.accumulate_grad_batches=2");
  run_single(dir_.path("one"), single);
  run_ranks(2, dir_.path("two"), args);
  const auto a = last(dir_.path("one")), b = last(dir_.path("two"));
  EXPECT_EQ(a.progress.step, 6);
  EXPECT_EQ(b.progress.step, 6);
  EXPECT_EQ(a.progress.position, b.progress.position);
  for (const auto& [k, v] : a.model) {
    if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos) continue;
    const auto diff = (v - b.model.at(k)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * std::max(1e-3, v.abs().max().item<double>())) << k;
  }
  // Validation on 2 ranks (disjoint shards, summed edit counts) gives the single-process CER.
  EXPECT_DOUBLE_EQ(final_metric(dir_.path("one"), "val_cer"), final_metric(dir_.path("two"), "val_cer"));
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
  for (const auto& [k, v] : a.model) {
    if (k.find("running_") != std::string::npos || k.find("num_batches") != std::string::npos) continue;
    const auto diff = (v - b.model.at(k)).abs().max().item<double>();
    EXPECT_LE(diff, 1e-5 * std::max(1e-3, v.abs().max().item<double>())) << k;
  }
  // One rank without accumulation would change what a step means: refused, saying what works.
  auto wrong = train_args(moved, {"trainer.max_steps=9", "--resume=auto"});
  EXPECT_NE(wait_exit(spawn(wrong, {}, moved + ".wrong.log")), 0);
  EXPECT_NE(read_text(moved + ".wrong.log").find("accumulate 2"), std::string::npos) << read_text(moved + ".wrong.log");
}

TEST_F(DataParallel, StalledRankEndsTheRunWithinTheTimeoutNamingIt) {
  const auto run = dir_.path("stall");
  const auto port = std::to_string(free_port());
  std::vector<pid_t> pids;
  for (int r = 0; r < 2; ++r)
    pids.push_back(spawn(train_args(run, {"trainer.max_steps=100000", "trainer.dist_timeout_s=4",
                                          "checkpoint.every_n_steps=0", "trainer.val_check_interval=100000"}),
                         {"RANK=" + std::to_string(r), "WORLD_SIZE=2", "LOCAL_RANK=" + std::to_string(r),
                          "LOCAL_WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port},
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
