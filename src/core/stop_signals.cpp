#include "sori/core/stop_signals.h"

#include <csignal>
#include <ctime>

namespace sori {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGUSR1, SIGINT};
volatile std::sig_atomic_t first_signal = 0;
timespec first_time{};
struct sigaction previous[3];

// A second request stops at once, unless it comes within 2 s of the first: Ctrl-C under torchrun
// reaches a worker twice, from the terminal and relayed by the agent, and that is one request.
void on_signal(int signal) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);  // async-signal-safe
  if (first_signal == 0) {
    first_signal = signal;
    first_time = now;
    return;
  }
  if (now.tv_sec - first_time.tv_sec < 2) return;
  std::signal(signal, SIG_DFL);
  std::raise(signal);
}

}  // namespace

StopSignals::StopSignals() {
  first_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and writes in progress carry on
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &action, &previous[i]);
}

StopSignals::~StopSignals() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &previous[i], nullptr);
}

int StopSignals::received() const { return first_signal; }

const char* StopSignals::name(int signal) {
  switch (signal) {
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGINT: return "SIGINT";
    default: return "a signal";
  }
}

}  // namespace sori
