// A thread per rank that publishes a heartbeat (the rank's step and a beat counter) to the store
// and, when this rank's step has not advanced for a while, reads the others' heartbeats to name
// the ranks that went silent (a SIGSTOPped or hung process stops beating). Its own store client
// has a short timeout: when even that fails, the store's host (rank 0's, or torchrun's agent) is
// gone or stopped. It only diagnoses; the collective's own timeout ends the run.
#pragma once

#include <torch/csrc/distributed/c10d/Store.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace sori::dist {

class RankMonitor {
 public:
  // `store`: a client of its own (prefixed like the group's). `interval`: time between beats;
  // a stall is reported once the step has not moved for 3 intervals.
  RankMonitor(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size, std::chrono::milliseconds interval,
              std::string store_address);
  ~RankMonitor();

  void set_step(std::int64_t step);
  std::int64_t step() const { return step_.load(); }
  // The latest diagnosis ("" while nothing is wrong).
  std::string diagnosis() const;

 private:
  void run();
  void beat();
  void diagnose();

  c10::intrusive_ptr<c10d::Store> store_;
  int rank_, world_size_;
  std::chrono::milliseconds interval_;
  std::string store_address_;
  std::atomic<std::int64_t> step_{0};
  std::atomic<std::int64_t> step_changed_ms_{0};
  std::int64_t beats_ = 0;
  std::vector<std::string> last_seen_;  // each rank's last heartbeat value
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::string diagnosis_;
  std::thread thread_;
};

}  // namespace sori::dist
