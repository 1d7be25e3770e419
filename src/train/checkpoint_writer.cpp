#include "sori/train/checkpoint_writer.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>
#include <utility>

#include "sori/core/error.h"

namespace sori {

CheckpointWriter::~CheckpointWriter() { finish(); }

void CheckpointWriter::finish() {
  const auto outcome = wait();
  if (outcome.failed()) spdlog::error("checkpoint at step {} NOT written: {}", outcome.step, outcome.error);
}

void CheckpointWriter::start(std::int64_t step, std::function<void()> write) {
  SORI_CHECK(!write_.valid(), "checkpoint writer: a write is still in flight when the one of step ", step,
             " starts; wait() for it first (a write is never skipped)");
  // Test-only: a pause before the job reads its snapshot, so that tests can prove training has
  // moved on by then (a snapshot that shared the live tensors would be written changed).
  const char* delay = std::getenv("SORI_TEST_SNAPSHOT_READ_DELAY_MS");
  const int delay_ms = delay ? std::atoi(delay) : 0;
  write_ = std::async(std::launch::async, [step, delay_ms, write = std::move(write)]() mutable {
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    auto outcome = run(step, write);
    // The job owns the snapshot (a copy of model and optimizer): freed when the write ends, not
    // when the next save collects the outcome.
    write = nullptr;
    return outcome;
  });
}

CheckpointWriter::Outcome CheckpointWriter::wait() { return write_.valid() ? write_.get() : Outcome{}; }

CheckpointWriter::Outcome CheckpointWriter::run(std::int64_t step, const std::function<void()>& write) {
  try {
    write();
    return {step, ""};
  } catch (const std::exception& e) {  // sori::Error, std::filesystem's, c10::Error from pickling
    return {step, *e.what() ? e.what() : "an exception without a message"};
  } catch (...) {
    return {step, "an exception that is not a std::exception"};
  }
}

}  // namespace sori
