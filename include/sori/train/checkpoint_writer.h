// Writes checkpoints on a background thread (checkpoint.async_write), so that the step loop does
// not wait while a large checkpoint is pickled, written and fsynced. The training thread hands
// over a job that owns a snapshot of everything it writes (copies taken at the step boundary), so
// training may change the model while the job runs.
//
// Invariants: at most one write is in flight, and a write is never skipped: start() refuses while
// one runs, so a caller waits for it first (wait() returns its outcome, once). The destructor
// waits too, so an exception that unwinds the trainer neither loses nor tears a checkpoint; an
// outcome nobody collected is logged then. Whatever the job touches (the CheckpointManager) is the
// writer thread's alone until wait() returns: destroy the writer before those objects.
// Not thread-safe itself: one owner thread calls start() and wait().
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <string>

namespace sori {

class CheckpointWriter {
 public:
  struct Outcome {
    std::int64_t step = -1;  // the checkpoint's step; -1: no write was in flight
    std::string error;       // "" when written (or none was in flight)
    bool failed() const { return !error.empty(); }
  };

  CheckpointWriter() = default;
  ~CheckpointWriter();
  CheckpointWriter(const CheckpointWriter&) = delete;
  CheckpointWriter& operator=(const CheckpointWriter&) = delete;

  // Runs `write`, the write of the checkpoint of `step`, on the writer thread; an exception from it
  // becomes the outcome's error. Throws sori::Error while a write is in flight.
  void start(std::int64_t step, std::function<void()> write);
  // Blocks until the write in flight (if any) is done and returns its outcome.
  Outcome wait();
  // wait(), with a failure logged instead of returned: for exits that have nobody to report to.
  void finish();
  // Runs `write` on the calling thread, with the outcome start() would give (synchronous writes).
  static Outcome run(std::int64_t step, const std::function<void()>& write);

 private:
  std::future<Outcome> write_;  // valid from start() until wait() collects the outcome
};

}  // namespace sori
