#include "rank_monitor.h"

#include <spdlog/spdlog.h>

#include <sstream>

namespace sori::dist {

namespace {

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string heartbeat_key(int rank) { return "heartbeat/" + std::to_string(rank); }

}  // namespace

RankMonitor::RankMonitor(c10::intrusive_ptr<c10d::Store> store, int rank, int world_size,
                         std::chrono::milliseconds interval, std::string store_address)
    : store_(std::move(store)),
      rank_(rank),
      world_size_(world_size),
      interval_(interval),
      store_address_(std::move(store_address)),
      last_seen_(static_cast<std::size_t>(world_size)) {
  step_changed_ms_ = now_ms();
  thread_ = std::thread([this] { run(); });
}

RankMonitor::~RankMonitor() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RankMonitor::set_step(std::int64_t step) {
  if (step_.exchange(step) != step) step_changed_ms_ = now_ms();
}

std::string RankMonitor::diagnosis() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return diagnosis_;
}

void RankMonitor::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    if (now_ms() - step_changed_ms_ <= 3 * interval_.count()) {
      std::lock_guard<std::mutex> clear(mutex_);
      diagnosis_.clear();  // the step moves again: whatever was wrong has passed
    }
    beat();
    if (now_ms() - step_changed_ms_ > 3 * interval_.count()) diagnose();
    lock.lock();
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
  }
}

void RankMonitor::beat() {
  const std::string value = std::to_string(step_.load()) + " " + std::to_string(++beats_);
  try {
    store_->set(heartbeat_key(rank_), std::vector<std::uint8_t>(value.begin(), value.end()));
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mutex_);
    diagnosis_ = "the rendezvous store at " + store_address_ +
                 " does not answer: rank 0's host (which serves it), or torchrun's agent, is gone or stopped";
  }
}

// Called once per interval while this rank's step stands still: a rank whose heartbeat has not
// changed since the previous call is silent.
void RankMonitor::diagnose() {
  std::ostringstream silent;
  int count = 0;
  try {
    for (int r = 0; r < world_size_; ++r) {
      if (r == rank_ || !store_->check({heartbeat_key(r)})) continue;
      const auto bytes = store_->get(heartbeat_key(r));
      const std::string value(bytes.begin(), bytes.end());
      auto& last = last_seen_[static_cast<std::size_t>(r)];
      if (value == last) silent << (count++ ? ", " : "") << "rank " << r << " (last heartbeat at step "
                                << value.substr(0, value.find(' ')) << ")";
      last = value;
    }
  } catch (const std::exception&) {
    std::lock_guard<std::mutex> lock(mutex_);
    diagnosis_ = "the rendezvous store at " + store_address_ +
                 " does not answer: rank 0's host (which serves it), or torchrun's agent, is gone or stopped";
    return;
  }
  if (count == 0) return;
  const std::string text = "silent: " + silent.str();
  std::lock_guard<std::mutex> lock(mutex_);
  if (text != diagnosis_)
    spdlog::warn("rank {} has waited at step {} for {:.0f} s; {}", rank_, step_.load(),
                 (now_ms() - step_changed_ms_) / 1000.0, text);
  diagnosis_ = text;
}

}  // namespace sori::dist
