// Signals that ask a run to stop at the next step boundary instead of dying mid-step: SIGTERM
// (what SLURM, Kubernetes and torchrun send before SIGKILL), SIGUSR1 (SLURM's warning before the
// time limit, with `#SBATCH --signal`) and SIGINT (Ctrl-C). The handler only records the
// signal; a second one at least 2 s later restores the default action and re-raises, so a second
// Ctrl-C still kills (within 2 s it is the same request delivered twice: Ctrl-C under torchrun
// reaches a worker from the terminal and from the agent). The previous handlers come back when
// the object dies. One at a time per process.
#pragma once

namespace sori {

class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int received() const;  // the first signal received, 0 while none
  static const char* name(int signal);
};

}  // namespace sori
