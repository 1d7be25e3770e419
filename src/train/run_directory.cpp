#include "sori/train/run_directory.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>

#include "sori/core/error.h"
#include "sori/core/fs.h"
#include "sori/train/event_file.h"
#include "sori/train/metrics_log.h"

namespace sori {

namespace fs = std::filesystem;

namespace {

fs::path utterance_dir(const std::string& run_dir) { return fs::path(run_dir) / "utterances"; }
fs::path validation_dir(const std::string& run_dir) { return fs::path(run_dir) / "validation"; }

// What a run logged for people to read (TensorBoard, the report's validation examples): a fresh
// run's must not mix with an earlier run's.
void remove_reading_logs(const std::string& run_dir) {
  std::error_code ec;
  fs::remove_all(validation_dir(run_dir), ec);
  for (const auto& f : fs::directory_iterator(run_dir))
    if (f.path().filename().string().rfind(kEventFilePrefix, 0) == 0) fs::remove(f.path());
}

// A fresh run must not inherit another run's checkpoints, which a later `--resume auto` would
// continue. Called with the directory locked.
void prepare_fresh(const std::string& run_dir, bool overwrite) {
  const auto checkpoints = fs::path(run_dir) / "checkpoints";
  int found = 0;
  std::error_code ec;
  if (fs::is_directory(checkpoints, ec))
    for (const auto& f : fs::directory_iterator(checkpoints)) found += f.path().extension() == ".ckpt";
  if (found == 0) return;
  SORI_CHECK(overwrite, "trainer.run_dir ", run_dir, " already holds a run (", found, " checkpoint file(s) in ",
             checkpoints.string(), "): continue it with --resume auto, start over with --overwrite (deletes its "
             "checkpoints, metrics and logs), or choose another trainer.run_dir");
  fs::remove_all(checkpoints);
  fs::remove(run_metrics_path(run_dir));
  fs::remove_all(utterance_dir(run_dir));
  remove_reading_logs(run_dir);
  fs::remove(fs::path(run_dir) / "run_info.json");
  spdlog::warn("--overwrite: deleted the previous run's checkpoints, metrics and logs in {}", run_dir);
}

}  // namespace

std::string run_metrics_path(const std::string& run_dir) { return (fs::path(run_dir) / "metrics.jsonl").string(); }

std::string run_utterance_log_path(const std::string& run_dir, int rank) {
  fs::create_directories(utterance_dir(run_dir));
  return (utterance_dir(run_dir) / ("rank" + std::to_string(rank) + ".jsonl")).string();
}

std::string run_validation_path(const std::string& run_dir, int rank) {
  fs::create_directories(validation_dir(run_dir));
  return (validation_dir(run_dir) / ("rank" + std::to_string(rank) + ".jsonl")).string();
}

RunDirectory::RunDirectory(const std::string& dir, bool fresh, bool overwrite)
    : dir_(dir), lock_(std::make_unique<DirectoryLock>(dir)) {
  if (!lock_->held())
    spdlog::warn("{}: this filesystem cannot lock files (flock): make sure no other run writes this run_dir", dir);
  if (const int stale = remove_stale_temporaries(dir))
    spdlog::info("removed {} temporary file(s) that killed runs left in {}", stale, dir);
  if (fresh) prepare_fresh(dir, overwrite);
  fs::remove(fs::path(dir) / "preempted");
}

RunDirectory::~RunDirectory() = default;

void RunDirectory::truncate_logs(std::int64_t step) const {
  MetricsLog(run_metrics_path(dir_)).truncate_after(step);
  if (step < 0) remove_reading_logs(dir_);
  std::error_code ec;
  if (step >= 0 && fs::is_directory(validation_dir(dir_), ec))
    for (const auto& f : fs::directory_iterator(validation_dir(dir_))) {
      std::ifstream in(f.path());
      std::string first;
      std::getline(in, first);
      const auto row = nlohmann::json::parse(first, nullptr, /*allow_exceptions=*/false);
      if (!row.is_object() || !row.contains("step") || !row["step"].is_number_integer() ||
          row["step"].get<std::int64_t>() > step)
        fs::remove(f.path());
    }
  if (!fs::is_directory(utterance_dir(dir_), ec)) return;
  for (const auto& f : fs::directory_iterator(utterance_dir(dir_)))
    if (f.path().extension() == ".jsonl") MetricsLog(f.path().string()).truncate_after(step);
}

void RunDirectory::write_run_info(nlohmann::json info) const {
  const auto path = (fs::path(dir_) / "run_info.json").string();
  info["first_started"] = info["started"];
  info["starts"] = 1;
  if (fs::exists(path)) {
    const auto previous = nlohmann::json::parse(read_file(path), nullptr, /*allow_exceptions=*/false);
    if (previous.is_object() && previous.contains("first_started") && previous["first_started"].is_string())
      info["first_started"] = previous["first_started"];
    if (previous.is_object() && previous.contains("starts") && previous["starts"].is_number_integer())
      info["starts"] = previous["starts"].get<std::int64_t>() + 1;
  }
  write_file_atomic(path, info.dump(2) + "\n");
}

void RunDirectory::mark_preempted(std::int64_t step) const {
  write_file_atomic((fs::path(dir_) / "preempted").string(), "step " + std::to_string(step) + "\n");
}

}  // namespace sori
