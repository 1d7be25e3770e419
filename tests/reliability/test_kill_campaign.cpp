// Crash anywhere: `sori train` is killed with SIGKILL at seeded random moments, some inside
// checkpoint writes (SORI_TEST_WRITE_DELAY_MS widens them), and resumed with --resume auto until
// it finishes; on 1 rank and on 2 Gloo ranks (one random rank killed, the other fails at its next
// collective). After every kill: the resume starts from a valid checkpoint at most one save
// interval behind the step the run had logged, metrics.jsonl parses with no step twice; at the
// end the parameters equal an uninterrupted run's bitwise (CPU, W <= 2).
//
// SORI_KILLS sets the kills per world size (default 3, the CI instance; scripts/reliability.sh
// runs 20). With SORI_RELIABILITY_REPORT set, one line per kill is appended there (the source of
// docs/RELIABILITY.md).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <algorithm>
#include <set>
#include <thread>

#include "sori/core/torch_compat.h"
#include "sori/train/checkpoint.h"
#include "test_util.h"
#include "train/tone_corpus.h"

using namespace sori;
namespace fs = std::filesystem;

namespace {

constexpr int kSaveInterval = 4;

struct Campaign {
  test::TempDir dir;
  std::string config;
  int world = 1;
  int steps = 120;  // SORI_CAMPAIGN_STEPS: longer runs leave room for more kills

  Campaign(int world_size) : world(world_size) {
    if (const char* s = std::getenv("SORI_CAMPAIGN_STEPS")) steps = std::atoi(s);
    const auto train = test::make_tone_corpus(dir, "train", 12, 9);
    config = dir.path("tiny.yaml");
    test::write_text(config, test::tiny_config_yaml(train, train, dir.path("unused")));
  }

  // Starts the run's processes (all ranks); returns their pids.
  std::vector<pid_t> start(const std::string& run, int attempt) const {
    const auto port = std::to_string(test::free_port());
    std::vector<pid_t> pids;
    for (int r = 0; r < world; ++r) {
      std::vector<std::string> argv = {SORI_BINARY, "train", "--config", config, "--resume", "auto",
                                       "trainer.run_dir=" + run, "trainer.max_steps=" + std::to_string(steps),
                                       "checkpoint.every_n_steps=" + std::to_string(kSaveInterval),
                                       "trainer.val_check_interval=30", "trainer.log_every_n_steps=1",
                                       "trainer.bucket_group=2", "model.train_ds.batch_size=2",
                                       "trainer.dist_timeout_s=20", "model.encoder.dropout=0.1",
                                       "model.augmentation.speed_perturb=[0.9,1.0,1.1]"};
      std::vector<std::string> env = {"SORI_TEST_WRITE_DELAY_MS=30"};
      if (world > 1)
        for (auto& kv : test::rank_env(r, world, port)) env.push_back(kv);
      pids.push_back(test::spawn(argv, env, run + ".a" + std::to_string(attempt) + ".r" + std::to_string(r) + ".log"));
    }
    return pids;
  }
};

// The last step rank 0 recorded in metrics.jsonl (one row per step; each append is closed at
// once, so a SIGKILL loses nothing there, unlike buffered log output).
std::int64_t last_logged_step(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::int64_t last = 0;
  for (std::string line; std::getline(in, line);) {
    try {
      const auto row = nlohmann::json::parse(line);
      if (row.contains("loss")) last = std::max(last, row["step"].get<std::int64_t>());
    } catch (const nlohmann::json::exception&) {  // a torn last line
    }
  }
  return last;
}

std::int64_t resumed_from(const std::string& log) {
  static const std::regex resumed(R"(resumed at step (\d+))");
  std::smatch m;
  const auto text = test::read_text(log);
  return std::regex_search(text, m, resumed) ? std::stoll(m[1]) : 0;
}

bool has_temporaries(const std::string& run) {
  std::error_code ec;
  if (!fs::is_directory(run, ec)) return false;
  for (const auto& f : fs::recursive_directory_iterator(run, ec))
    if (f.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

void expect_clean_metrics(const std::string& run) {
  std::ifstream in(run + "/metrics.jsonl");
  std::set<std::pair<std::int64_t, bool>> seen;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    nlohmann::json row;
    ASSERT_NO_THROW(row = nlohmann::json::parse(line)) << "metrics.jsonl:" << n << " does not parse: " << line;
    EXPECT_TRUE(seen.insert({row["step"].get<std::int64_t>(), row.contains("loss")}).second)
        << "metrics.jsonl:" << n << " repeats a step: " << line;
  }
}

void run_campaign(int world) {
  const int kills = std::getenv("SORI_KILLS") ? std::atoi(std::getenv("SORI_KILLS")) : 3;
  const char* report_path = std::getenv("SORI_RELIABILITY_REPORT");
  Campaign c(world);
  const auto straight = c.dir.path("straight");
  for (auto pid : c.start(straight, 0)) ASSERT_EQ(test::wait_exit(pid), 0) << test::read_text(straight + ".a0.r0.log");

  const auto run = c.dir.path("killed");
  std::mt19937_64 rng(20261123 + world);
  int attempt = 0, done_kills = 0, inside_writes = 0;
  for (; done_kills < kills; ++attempt) {
    const auto pids = c.start(run, attempt);
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));
    const auto victim = pids[rng() % pids.size()];
    if (waitpid(victim, nullptr, WNOHANG) != 0) {  // the run finished before this kill
      for (auto pid : pids) test::wait_exit(pid);
      break;
    }
    kill(victim, SIGKILL);
    const bool in_write = has_temporaries(run);
    for (auto pid : pids) {
      if (pid == victim) continue;
      // The others fail at their next collective; give them a moment, then make sure.
      for (int i = 0; i < 100 && waitpid(pid, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      kill(pid, SIGKILL);
    }
    for (auto pid : pids) test::wait_exit(pid);
    const auto reached = last_logged_step(run);
    ++done_kills;
    inside_writes += in_write;
    // The next attempt resumes; check what it resumed from.
    const auto next_log = run + ".a" + std::to_string(attempt + 1) + ".r0.log";
    const auto next = c.start(run, attempt + 1);
    for (int i = 0; i < 1200 && test::read_text(next_log).find(" parameters on ") == std::string::npos; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    // Killed before the first checkpoint was on disk (up to and inside its write at step
    // kSaveInterval), the next attempt rightly starts fresh.
    const auto next_text = test::read_text(next_log);
    EXPECT_TRUE(next_text.find("resumed at step") != std::string::npos ||
                (reached <= kSaveInterval && next_text.find("starting fresh") != std::string::npos))
        << "kill " << done_kills << " at step " << reached << ": the next attempt did not resume within 30 s; its log:\n"
        << next_text.substr(0, 4000);
    const auto from = resumed_from(next_log);
    EXPECT_GE(reached - from, 0) << "kill " << done_kills << ": resumed from step " << from << " past the "
                                 << reached << " steps recorded";
    EXPECT_LE(reached - from, kSaveInterval) << "kill " << done_kills << ": reached step " << reached
                                             << ", resumed from " << from << "; resumed run's log:\n"
                                             << test::read_text(next_log).substr(0, 3000);
    for (auto pid : next) kill(pid, SIGKILL);
    for (auto pid : next) test::wait_exit(pid);
    expect_clean_metrics(run);
    if (report_path)
      std::ofstream(report_path, std::ios::app)
          << "{\"fault\": \"SIGKILL\", \"ranks\": " << world << ", \"inside_write\": " << (in_write ? "true" : "false")
          << ", \"reached_step\": " << reached << ", \"resumed_from\": " << from << ", \"lost_steps\": " << reached - from
          << "}\n";
  }
  // Finish undisturbed and compare with the uninterrupted run.
  for (auto pid : c.start(run, attempt + 1)) ASSERT_EQ(test::wait_exit(pid), 0);
  expect_clean_metrics(run);
  const auto a = load_checkpoint(straight + "/checkpoints/last.ckpt"), b = load_checkpoint(run + "/checkpoints/last.ckpt");
  EXPECT_EQ(b.progress.step, c.steps);
  bool equal = b.progress.step == c.steps;
  for (const auto& [k, v] : a.model) {
    EXPECT_TRUE(torch::equal(v, b.model.at(k))) << k;
    equal = equal && torch::equal(v, b.model.at(k));
  }
  if (report_path)
    std::ofstream(report_path, std::ios::app) << "{\"final\": true, \"ranks\": " << world
                                              << ", \"parameters_equal\": " << (equal ? "true" : "false")
                                              << ", \"kills_requested\": " << kills << ", \"steps\": " << c.steps << "}\n";
  std::printf("kill campaign, %d rank(s): %d kills (%d inside a write)\n", world, done_kills, inside_writes);
}

}  // namespace

TEST(KillCampaign, OneRankLosesNothing) { run_campaign(1); }
TEST(KillCampaign, TwoRanksLoseNothing) {
  if (!sori::compat::gloo_available()) GTEST_SKIP() << "needs c10d Gloo, which this LibTorch lacks";
  run_campaign(2);
}
