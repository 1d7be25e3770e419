// Who launched this process and where its peers rendezvous, read from the environment only
// (no torch here, so it is testable without a process group).
//
// Rules, first match wins:
// - torchrun: RANK and WORLD_SIZE both set (they win over SLURM's variables, so torchrun inside
//   a SLURM allocation works). Reads LOCAL_RANK (default 0), LOCAL_WORLD_SIZE (default 1: a
//   process not told about node-mates assumes it has none, which agrees with LOCAL_RANK's
//   default; torchrun always sets both), MASTER_ADDR and MASTER_PORT (required),
//   TORCHELASTIC_USE_AGENT_STORE ("True"/"False", any case; unset = false) and
//   TORCHELASTIC_RESTART_COUNT (default 0). Distributed even with WORLD_SIZE=1, so a one-process
//   torchrun run exercises the same code path as a real one. Only one of RANK and WORLD_SIZE
//   set is an error.
// - SLURM: SLURM_PROCID set. world = SLURM_STEP_NUM_TASKS (srun's count for this step, which
//   may be fewer than the job's), else SLURM_NTASKS, else SLURM_NPROCS, else 1; world 1 is
//   "single", everything default. Otherwise rank = SLURM_PROCID, local_rank = SLURM_LOCALID,
//   local_world_size = this node's count in SLURM_STEP_TASKS_PER_NODE, else
//   SLURM_NTASKS_PER_NODE, else this node's count in SLURM_TASKS_PER_NODE (lists like
//   "4", "4(x2)", "2(x3),1"; SLURM_NODEID picks the node, required only when the counts
//   differ). master_addr = MASTER_ADDR, else the first host of SLURM_STEP_NODELIST, else of
//   SLURM_JOB_NODELIST, else of SLURM_NODELIST: the step's list first, because rank 0 runs on
//   the step's first node (srun's default block/cyclic distributions), which need not be the
//   job's first node. MASTER_PORT is required (scripts/slurm/train.sbatch exports it);
//   restart_count = SLURM_RESTART_COUNT (default 0).
//   Caveat: the batch script itself (no srun) also has SLURM_PROCID=0 and SLURM_NTASKS = the
//   job's task count (when given), so `sori train` there without srun is "single" only in a
//   one-task job; in a bigger one it is rank 0 waiting for peers that never come.
// - Otherwise "single", everything default.
//
// A variable set to the empty string counts as unset (`VAR= cmd` is how a shell clears one).
// Every malformed value is a sori::Error naming the variable and the value found: non-integers,
// negative ranks, sizes < 1, rank >= world, local rank >= local world, local world > world,
// a port outside 1..65535, a malformed node list or tasks-per-node list.
#pragma once

#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

namespace sori::dist {

struct LaunchEnv {
  std::string launcher = "single";  // "torchrun" | "slurm" | "single"
  int rank = 0, world_size = 1, local_rank = 0, local_world_size = 1;
  std::string master_addr;  // host of the rendezvous store
  int master_port = 0;
  // torchrun's TORCHELASTIC_USE_AGENT_STORE=True: the agent already serves the TCPStore at
  // master_addr:master_port, so every rank (rank 0 included) connects as a client.
  bool use_agent_store = false;
  int restart_count = 0;  // TORCHELASTIC_RESTART_COUNT or SLURM_RESTART_COUNT

  bool distributed() const { return launcher != "single"; }
  // "/sori/attempt_<restart_count>": every store key of ours lives under it, so a restarted
  // attempt never reads what a failed one left in a store that outlived it (the agent store).
  std::string key_prefix() const;
  // One line for the log: launcher, rank/world, local rank/world, store, agent store, attempt.
  std::string describe() const;
};

// Returns the value of a variable, or nullptr when unset. Tests pass a fake.
using GetEnv = std::function<const char*(const char*)>;

LaunchEnv read_launch_env(const GetEnv& env = [](const char* name) { return std::getenv(name); });

// Expands SLURM's compressed host list: "gpu[01-04,07]" -> gpu01 gpu02 gpu03 gpu04 gpu07 (zero
// padding to the width of each range's start), "a[1-2],b3" -> a1 a2 b3, "node-[001-002]-ib",
// "r[1-2]n[1-2]" -> r1n1 r1n2 r2n1 r2n2 (the leftmost group varies slowest). Commas inside
// brackets do not split hosts. Malformed input is a sori::Error quoting the list.
std::vector<std::string> expand_slurm_nodelist(const std::string& nodelist);

}  // namespace sori::dist
