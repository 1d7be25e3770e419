// A training run's directory (trainer.run_dir), as rank 0 holds it for the whole run: locked
// (no second process writes it), cleared of the temporaries killed runs left, protected from a
// fresh run adopting another run's checkpoints, and the one place that names its files:
//   config.yaml, run_info.json, metrics.jsonl, events.out.tfevents.* (TensorBoard),
//   utterances/rank<R>.jsonl, validation/rank<R>.jsonl, checkpoints/, preempted, .lock
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace sori {

class DirectoryLock;

// Paths inside a run directory; every rank may use these (no lock taken).
std::string run_metrics_path(const std::string& run_dir);
std::string run_utterance_log_path(const std::string& run_dir, int rank);  // creates utterances/
// The latest validation's per-utterance results of one rank (`sori report` pools the ranks).
std::string run_validation_path(const std::string& run_dir, int rank);  // creates validation/

class RunDirectory {
 public:
  // fresh: no --resume. A fresh run refuses a directory holding checkpoints unless `overwrite`,
  // which deletes the old run's checkpoints, metrics and utterance logs. A `preempted` marker of
  // an earlier attempt is removed: this process continues the run.
  RunDirectory(const std::string& dir, bool fresh, bool overwrite);
  ~RunDirectory();
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  const std::string& path() const { return dir_; }
  // Drops what a killed run logged past `step` (-1: everything) from metrics.jsonl and from every
  // rank's utterance log, also those of ranks a resume on fewer ranks no longer has, and the
  // validation results of steps past `step` (a later validation of the resumed run would
  // otherwise be pooled with another model's). TensorBoard files are left to their restart
  // marker (train/event_file.h), except that a fresh start (-1) removes them.
  void truncate_logs(std::int64_t step) const;
  // run_info.json: the machine and software this process runs on, plus `first_started` and
  // `starts` carried over from the previous process of the run.
  void write_run_info(nlohmann::json info) const;
  // The run stopped on a signal with a checkpoint at `step`: requeue it (scripts/slurm).
  void mark_preempted(std::int64_t step) const;

 private:
  std::string dir_;
  std::unique_ptr<DirectoryLock> lock_;
};

}  // namespace sori
