// What a training run leaves for people to read: TensorBoard events, run_info.json and the
// latest validation's per-utterance results; and that the appended logs (metrics.jsonl, the
// event files) still read cleanly, with each step once, after a kill -9 and a resume.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "sori/train/event_file.h"
#include "test_util.h"
#include "tone_corpus.h"

namespace sori {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> event_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().filename().string().rfind(kEventFilePrefix, 0) == 0) out.push_back(f.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RunOutputs, TensorBoardRunInfoAndValidationResults) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 3);
  const auto val = test::make_tone_corpus(dir, "val", 3, 4);
  const auto run = dir.path("run");
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, val, run));
  const auto r = test::run_command(std::string(SORI_BINARY) + " train --config " + dir.path("tiny.yaml") +
                                   " trainer.max_steps=40 trainer.val_check_interval=20");
  ASSERT_EQ(r.status, 0) << r.output;

  const auto files = event_files(run);
  ASSERT_EQ(files.size(), 1u);
  const auto contents = read_event_file(files[0]);
  EXPECT_EQ(contents.torn_tail_bytes, 0u);
  ASSERT_GE(contents.events.size(), 3u);
  EXPECT_EQ(contents.events[0].file_version, "brain.Event:2");
  EXPECT_EQ(contents.events[1].session_status, kSessionStatusStart);
  EXPECT_EQ(contents.events[1].step, 1);

  const auto scalars = read_run_scalars(run);
  for (const auto* tag : {"train/loss", "train/lr", "train/grad_norm", "train/audio_s_per_s", "train/padding_fraction",
                          "train/skipped_steps", "train/data_wait_fraction"}) {
    ASSERT_TRUE(scalars.count(tag)) << tag;
    std::vector<std::int64_t> steps;
    for (const auto& p : scalars.at(tag)) steps.push_back(p.step);
    EXPECT_EQ(steps, (std::vector<std::int64_t>{10, 20, 30, 40})) << tag;
  }
  // The values are metrics.jsonl's (as float32).
  std::ifstream metrics(run + "/metrics.jsonl");
  std::map<std::int64_t, double> jsonl_loss, jsonl_cer;
  for (std::string line; std::getline(metrics, line);) {
    const auto row = nlohmann::json::parse(line);
    if (row.contains("loss")) jsonl_loss[row["step"]] = row["loss"];
    if (row.contains("val_cer")) jsonl_cer[row["step"]] = row["val_cer"];
  }
  for (const auto& p : scalars.at("train/loss")) EXPECT_EQ(p.value, static_cast<float>(jsonl_loss.at(p.step)));
  ASSERT_TRUE(scalars.count("val/cer")) << "validation scalars";
  ASSERT_TRUE(scalars.count("val/wer/val"));
  for (const auto& p : scalars.at("val/cer")) EXPECT_EQ(p.value, static_cast<float>(jsonl_cer.at(p.step)));
  EXPECT_EQ(scalars.at("val/cer").size(), 2u);  // steps 20 and 40

  bool examples = false;
  for (const auto& e : contents.events)
    for (const auto& v : e.values)
      if (v.tag == "val/examples/val") {
        examples = true;
        EXPECT_EQ(v.plugin_name, "text");
        ASSERT_TRUE(v.text.has_value());
        EXPECT_EQ(v.text->rfind("| reference | hypothesis |\n|---|---|\n| ", 0), 0u) << *v.text;
      }
  EXPECT_TRUE(examples);

  const auto info = nlohmann::json::parse(test::read_text(run + "/run_info.json"));
  for (const auto* key : {"host", "cpu", "cores", "memory_gib", "device", "world_size", "libtorch", "started"})
    EXPECT_TRUE(info.contains(key)) << key << " in " << info.dump();
  EXPECT_EQ(info["device"], "cpu");
  EXPECT_EQ(info["starts"], 1);
  EXPECT_EQ(info["first_started"], info["started"]);
  EXPECT_EQ(info["hosts"].size(), 1u);

  // The latest validation (step 40), one line per validation utterance.
  std::ifstream results(run + "/validation/rank0.jsonl");
  int lines = 0;
  for (std::string line; std::getline(results, line); ++lines) {
    const auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row["step"], 40);
    EXPECT_EQ(row["dataset"], "val");
    EXPECT_NE(row["where"].get<std::string>().find("val.jsonl:"), std::string::npos);
    EXPECT_GT(row["chars"].get<int>(), 0);
    for (const auto* key : {"audio", "duration", "reference", "hypothesis", "char_edits", "word_edits", "words"})
      EXPECT_TRUE(row.contains(key)) << key;
  }
  EXPECT_EQ(lines, 3);

  // What `sori plot` and `sori report` read is what the trainer wrote.
  const auto plot = test::run_command(std::string(SORI_BINARY) + " plot --run " + run + " --output " + dir.path("c.svg"));
  ASSERT_EQ(plot.status, 0) << plot.output;
  EXPECT_NE(test::read_text(dir.path("c.svg")).find("<svg"), std::string::npos);
  const auto report = test::run_command(std::string(SORI_BINARY) + " report --run " + run);
  ASSERT_EQ(report.status, 0) << report.output;
  const auto html = test::read_text(run + "/report.html");
  EXPECT_NE(html.find("val.jsonl:"), std::string::npos) << "the worst validation utterances, with their manifest line";
  EXPECT_NE(html.find("libtorch"), std::string::npos) << "run_info.json's facts";
  EXPECT_EQ(html.find("damaged"), std::string::npos) << "every file of the run read cleanly";
}

// Appended logs are the stated exception to atomic writes: after kill -9 and --resume auto,
// metrics.jsonl parses line by line and TensorBoard (honouring the restart marker) sees each step
// once, as does metrics.jsonl.
TEST(RunOutputs, AppendedLogsSurviveAKillAndAResumeWithoutDuplicateSteps) {
  test::TempDir dir;
  const auto train = test::make_tone_corpus(dir, "train", 8, 5);
  const auto run = dir.path("run");
  test::write_text(dir.path("tiny.yaml"), test::tiny_config_yaml(train, train, run));
  const std::vector<std::string> command = {SORI_BINARY, "train", "--config", dir.path("tiny.yaml"),
                                            "trainer.max_steps=400", "trainer.log_every_n_steps=5",
                                            "trainer.val_check_interval=1000", "checkpoint.every_n_steps=50"};
  const pid_t pid = test::spawn(command, {}, dir.path("first.log"));
  // Killed past the first checkpoint and some log lines after it, so the events of the steps
  // after the checkpoint are logged twice (once by each process).
  bool logged = false;  // a loaded 2-core machine can take a while; a run that died ends the wait
  for (int i = 0; i < 18000 && waitpid(pid, nullptr, WNOHANG) == 0 &&
                  !(logged = test::read_text(dir.path("first.log")).find("step 70/") != std::string::npos);
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(logged) << test::read_text(dir.path("first.log"));
  ASSERT_EQ(waitpid(pid, nullptr, WNOHANG), 0) << "the run ended before the kill: the test proves nothing";
  kill(pid, SIGKILL);
  const int status = test::wait_exit(pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // A validation result of a step past the checkpoint (the killed run validated, then died before
  // checkpointing) must not survive the resume, or the report would pool two models' results.
  test::write_text(run + "/validation/rank1.jsonl", R"({"step": 70, "dataset": "train", "reference": "a"})" "\n");
  const auto first_started = nlohmann::json::parse(test::read_text(run + "/run_info.json"))["started"];
  auto resumed = command;
  resumed.insert(resumed.end(), {"--resume", "auto"});
  ASSERT_EQ(test::wait_exit(test::spawn(resumed, {}, dir.path("second.log"))), 0) << test::read_text(dir.path("second.log"));

  EXPECT_FALSE(fs::exists(run + "/validation/rank1.jsonl"));
  const auto info = nlohmann::json::parse(test::read_text(run + "/run_info.json"));
  EXPECT_EQ(info["starts"], 2);
  EXPECT_EQ(info["first_started"], first_started);
  ASSERT_EQ(event_files(run).size(), 2u);
  for (const auto& f : event_files(run)) EXPECT_NO_THROW(read_event_file(f)) << f;
  for (const auto& [tag, points] : read_run_scalars(run)) {
    std::set<std::int64_t> seen;
    for (const auto& p : points) EXPECT_TRUE(seen.insert(p.step).second) << tag << " step " << p.step << " twice";
    if (tag == "train/loss") {
      EXPECT_EQ(points.size(), 80u);  // steps 5, 10, ..., 400
      EXPECT_EQ(points.back().step, 400);
    }
  }
  std::ifstream metrics(run + "/metrics.jsonl");
  std::set<std::int64_t> steps;
  for (std::string line; std::getline(metrics, line);) {
    const auto row = nlohmann::json::parse(line);  // throws on a torn or glued line
    if (row.contains("loss")) EXPECT_TRUE(steps.insert(row["step"].get<std::int64_t>()).second) << line;
  }
  EXPECT_EQ(steps.size(), 80u);
}

}  // namespace
}  // namespace sori
