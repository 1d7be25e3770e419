#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "sori/core/error.h"
#include "sori/dist/launch_env.h"

using namespace sori;
using namespace sori::dist;

namespace {
using Env = std::map<std::string, std::string>;

LaunchEnv read(const Env& env) {
  return read_launch_env([&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
}

// The error message of read(env), or "" when it did not throw.
std::string error_of(const Env& env) {
  try {
    read(env);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Env torchrun(Env extra = {}) {
  Env env{{"RANK", "1"},
          {"WORLD_SIZE", "4"},
          {"LOCAL_RANK", "1"},
          {"LOCAL_WORLD_SIZE", "2"},
          {"MASTER_ADDR", "node0"},
          {"MASTER_PORT", "29500"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

// Task 5 of 2 nodes x 4 tasks, as srun sets it up.
Env slurm(Env extra = {}) {
  Env env{{"SLURM_PROCID", "5"},
          {"SLURM_NTASKS", "8"},
          {"SLURM_LOCALID", "1"},
          {"SLURM_NODEID", "1"},
          {"SLURM_NTASKS_PER_NODE", "4"},
          {"SLURM_TASKS_PER_NODE", "4(x2)"},
          {"SLURM_JOB_NODELIST", "gpu[07-08]"},
          {"MASTER_PORT", "32345"}};
  for (const auto& [k, v] : extra) env[k] = v;
  return env;
}

std::vector<std::string> expand(const std::string& list) { return expand_slurm_nodelist(list); }

std::string nodelist_error(const std::string& list) {
  try {
    expand_slurm_nodelist(list);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(LaunchEnv, NothingSetIsSingle) {
  LaunchEnv e = read({});
  EXPECT_EQ(e.launcher, "single");
  EXPECT_FALSE(e.distributed());
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.local_rank, 0);
  EXPECT_EQ(e.local_world_size, 1);
  EXPECT_EQ(e.key_prefix(), "/sori/attempt_0");
  EXPECT_EQ(e.describe(),
            "launcher=single rank=0/1 local_rank=0/1 store=none agent_store=no attempt=0");
}

TEST(LaunchEnv, TorchrunWithoutAgentStore) {
  LaunchEnv e = read(torchrun());
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 2);
  EXPECT_EQ(e.master_addr, "node0");
  EXPECT_EQ(e.master_port, 29500);
  EXPECT_FALSE(e.use_agent_store);
  EXPECT_EQ(e.restart_count, 0);
  EXPECT_EQ(e.describe(),
            "launcher=torchrun rank=1/4 local_rank=1/2 store=node0:29500 agent_store=no attempt=0");
}

TEST(LaunchEnv, TorchrunWithAgentStoreAndRestart) {
  LaunchEnv e = read(
      torchrun({{"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  EXPECT_TRUE(e.use_agent_store);
  EXPECT_EQ(e.restart_count, 2);
  EXPECT_EQ(e.key_prefix(), "/sori/attempt_2");
  EXPECT_EQ(
      e.describe(),
      "launcher=torchrun rank=1/4 local_rank=1/2 store=node0:29500 agent_store=yes attempt=2");
  EXPECT_TRUE(read(torchrun({{"TORCHELASTIC_USE_AGENT_STORE", "TRUE"}})).use_agent_store);
  EXPECT_FALSE(read(torchrun({{"TORCHELASTIC_USE_AGENT_STORE", "False"}})).use_agent_store);
  EXPECT_FALSE(read(torchrun({{"TORCHELASTIC_USE_AGENT_STORE", "false"}})).use_agent_store);
}

TEST(LaunchEnv, TorchrunWorldOfOneIsDistributed) {
  LaunchEnv e = read(torchrun(
      {{"RANK", "0"}, {"WORLD_SIZE", "1"}, {"LOCAL_RANK", "0"}, {"LOCAL_WORLD_SIZE", "1"}}));
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_TRUE(e.distributed());
}

TEST(LaunchEnv, TorchrunLocalDefaults) {
  Env env = torchrun();
  env.erase("LOCAL_RANK");
  env.erase("LOCAL_WORLD_SIZE");
  LaunchEnv e = read(env);
  EXPECT_EQ(e.local_rank, 0);
  EXPECT_EQ(e.local_world_size, 1);
}

TEST(LaunchEnv, EmptyValueCountsAsUnset) {
  Env env = torchrun({{"LOCAL_RANK", ""}, {"LOCAL_WORLD_SIZE", ""}});
  EXPECT_EQ(read(env).local_world_size, 1);
  EXPECT_EQ(read({{"RANK", ""}, {"WORLD_SIZE", ""}}).launcher, "single");
}

TEST(LaunchEnv, IPv6StoreIsBracketedInDescribe) {
  LaunchEnv e = read(torchrun({{"MASTER_ADDR", "fe80::1"}}));
  EXPECT_EQ(e.master_addr, "fe80::1");
  EXPECT_NE(e.describe().find("store=[fe80::1]:29500"), std::string::npos) << e.describe();
}

TEST(LaunchEnv, TorchrunWinsOverSlurm) {
  Env env = slurm();
  for (const auto& [k, v] : torchrun()) env[k] = v;
  LaunchEnv e = read(env);
  EXPECT_EQ(e.launcher, "torchrun");
  EXPECT_EQ(e.rank, 1);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.master_addr, "node0");
  EXPECT_EQ(e.master_port, 29500);
}

TEST(LaunchEnv, Slurm) {
  LaunchEnv e = read(slurm({{"SLURM_RESTART_COUNT", "3"}}));
  EXPECT_EQ(e.launcher, "slurm");
  EXPECT_TRUE(e.distributed());
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_world_size, 4);
  EXPECT_EQ(e.master_addr, "gpu07");
  EXPECT_EQ(e.master_port, 32345);
  EXPECT_FALSE(e.use_agent_store);
  EXPECT_EQ(e.restart_count, 3);
  EXPECT_EQ(e.key_prefix(), "/sori/attempt_3");
  EXPECT_EQ(e.describe(),
            "launcher=slurm rank=5/8 local_rank=1/4 store=gpu07:32345 agent_store=no attempt=3");
}

TEST(LaunchEnv, SlurmNprocsFallback) {
  Env env = slurm({{"SLURM_NPROCS", "6"}});
  env.erase("SLURM_NTASKS");
  EXPECT_EQ(read(env).world_size, 6);
}

TEST(LaunchEnv, SlurmStepTaskCountWinsOverTheJobs) {
  // srun -n 4 inside a job of 2 nodes x 4 tasks: the step's 4 tasks, 2 per node, are the ranks.
  Env env = slurm({{"SLURM_STEP_NUM_TASKS", "4"}, {"SLURM_STEP_TASKS_PER_NODE", "2(x2)"}, {"SLURM_PROCID", "3"}});
  const auto e = read(env);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_world_size, 2);
  env["SLURM_STEP_TASKS_PER_NODE"] = "two";
  EXPECT_NE(error_of(env).find("SLURM_STEP_TASKS_PER_NODE='two'"), std::string::npos) << error_of(env);
}

TEST(LaunchEnv, SlurmTasksPerNodeFormats) {
  auto local_world = [](const std::string& tasks_per_node, const std::string& node) {
    Env env = slurm({{"SLURM_TASKS_PER_NODE", tasks_per_node},
                     {"SLURM_NODEID", node},
                     {"SLURM_LOCALID", "0"},
                     {"SLURM_PROCID", "0"},
                     {"SLURM_NTASKS", "7"}});
    env.erase("SLURM_NTASKS_PER_NODE");
    return read(env).local_world_size;
  };
  EXPECT_EQ(local_world("4", "0"), 4);
  EXPECT_EQ(local_world("4(x2)", "1"), 4);
  EXPECT_EQ(local_world("2(x3),1", "0"), 2);
  EXPECT_EQ(local_world("2(x3),1", "2"), 2);
  EXPECT_EQ(local_world("2(x3),1", "3"), 1);
  EXPECT_EQ(local_world("1,3(x2)", "1"), 3);

  // When every node has the same count, which node this is does not matter.
  Env env = slurm({{"SLURM_TASKS_PER_NODE", "4(x1),4"}});
  env.erase("SLURM_NTASKS_PER_NODE");
  env.erase("SLURM_NODEID");
  EXPECT_EQ(read(env).local_world_size, 4);
}

TEST(LaunchEnv, SlurmNtasksPerNodeWinsOverTasksPerNode) {
  EXPECT_EQ(read(slurm({{"SLURM_TASKS_PER_NODE", "garbage"}})).local_world_size, 4);
}

TEST(LaunchEnv, SlurmMasterAddrSources) {
  EXPECT_EQ(read(slurm({{"MASTER_ADDR", "10.0.0.1"}})).master_addr, "10.0.0.1");
  EXPECT_EQ(read(slurm({{"SLURM_STEP_NODELIST", "gpu[08]"}})).master_addr, "gpu08");
  Env env = slurm({{"SLURM_NODELIST", "cpu[3-4]"}});
  EXPECT_EQ(read(env).master_addr, "gpu07");  // SLURM_JOB_NODELIST before SLURM_NODELIST
  env.erase("SLURM_JOB_NODELIST");
  EXPECT_EQ(read(env).master_addr, "cpu3");
}

TEST(LaunchEnv, SlurmSingleTaskIsSingle) {
  // A plain `sori train` in a one-task sbatch script: no srun, no MASTER_PORT needed.
  Env env{{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "1"}, {"SLURM_JOB_NODELIST", "gpu01"}};
  LaunchEnv e = read(env);
  EXPECT_EQ(e.launcher, "single");
  EXPECT_FALSE(e.distributed());
  EXPECT_TRUE(e.master_addr.empty());
  // A batch script of a job submitted without a task count has no SLURM_NTASKS at all.
  EXPECT_EQ(read({{"SLURM_PROCID", "0"}, {"SLURM_JOB_NODELIST", "gpu01"}}).launcher, "single");
}

TEST(LaunchEnv, Errors) {
  Env no_local_world = torchrun({{"LOCAL_RANK", "1"}});
  no_local_world.erase("LOCAL_WORLD_SIZE");
  Env no_addr = torchrun();
  no_addr.erase("MASTER_ADDR");
  Env no_port = torchrun();
  no_port.erase("MASTER_PORT");
  Env slurm_no_port = slurm();
  slurm_no_port.erase("MASTER_PORT");
  Env slurm_no_localid = slurm();
  slurm_no_localid.erase("SLURM_LOCALID");
  Env slurm_no_tasks_per_node = slurm();
  slurm_no_tasks_per_node.erase("SLURM_NTASKS_PER_NODE");
  slurm_no_tasks_per_node.erase("SLURM_TASKS_PER_NODE");
  Env slurm_no_nodeid = slurm({{"SLURM_TASKS_PER_NODE", "2(x3),1"}});
  slurm_no_nodeid.erase("SLURM_NTASKS_PER_NODE");
  slurm_no_nodeid.erase("SLURM_NODEID");
  Env slurm_uneven = slurm_no_nodeid;
  slurm_uneven["SLURM_NODEID"] = "1";
  slurm_uneven["SLURM_LOCALID"] = "2";
  Env slurm_no_hosts = slurm();
  slurm_no_hosts.erase("SLURM_JOB_NODELIST");
  auto tasks_per_node = [](const std::string& v) {
    Env env = slurm({{"SLURM_TASKS_PER_NODE", v}});
    env.erase("SLURM_NTASKS_PER_NODE");
    return env;
  };

  const std::vector<std::pair<Env, std::string>> cases = {
      {torchrun({{"RANK", "x"}}), "environment: RANK='x' is not an integer"},
      {torchrun({{"RANK", "1.5"}}), "environment: RANK='1.5' is not an integer"},
      {torchrun({{"RANK", " 1"}}), "environment: RANK=' 1' is not an integer"},
      {torchrun({{"RANK", "+1"}}), "environment: RANK='+1' is not an integer"},
      {torchrun({{"WORLD_SIZE", "99999999999"}}),
       "environment: WORLD_SIZE='99999999999' is not an integer"},
      {torchrun({{"RANK", "-1"}}), "environment: RANK=-1 must be >= 0"},
      {torchrun({{"WORLD_SIZE", "0"}}), "environment: WORLD_SIZE=0 must be >= 1"},
      {torchrun({{"LOCAL_RANK", "-2"}}), "environment: LOCAL_RANK=-2 must be >= 0"},
      {torchrun({{"RANK", "4"}}), "environment: RANK=4 is not below WORLD_SIZE=4"},
      {torchrun({{"LOCAL_RANK", "2"}}),
       "environment: LOCAL_RANK=2 is not below LOCAL_WORLD_SIZE=2"},
      {no_local_world,
       "environment: LOCAL_RANK=1 is not below LOCAL_WORLD_SIZE (unset, default 1)"},
      {torchrun({{"LOCAL_WORLD_SIZE", "8"}}),
       "environment: LOCAL_WORLD_SIZE=8 exceeds WORLD_SIZE=4"},
      {{{"RANK", "0"}}, "environment: RANK is set but WORLD_SIZE is not"},
      {{{"WORLD_SIZE", "2"}}, "environment: WORLD_SIZE is set but RANK is not"},
      {no_addr, "environment: MASTER_ADDR is not set"},
      {no_port, "environment: MASTER_PORT is not set"},
      {torchrun({{"MASTER_PORT", "0"}}), "environment: MASTER_PORT=0 is outside 1..65535"},
      {torchrun({{"MASTER_PORT", "65536"}}), "environment: MASTER_PORT=65536 is outside 1..65535"},
      {torchrun({{"MASTER_PORT", "-5"}}), "environment: MASTER_PORT=-5 is outside 1..65535"},
      {torchrun({{"MASTER_PORT", "http"}}), "environment: MASTER_PORT='http' is not an integer"},
      {torchrun({{"TORCHELASTIC_USE_AGENT_STORE", "yes"}}),
       "environment: TORCHELASTIC_USE_AGENT_STORE='yes' is not True or False"},
      {torchrun({{"TORCHELASTIC_RESTART_COUNT", "-1"}}),
       "environment: TORCHELASTIC_RESTART_COUNT=-1 must be >= 0"},
      {slurm_no_port,
       "environment: MASTER_PORT is not set: export MASTER_PORT in the sbatch "
       "script before srun (see scripts/slurm/train.sbatch)"},
      {slurm({{"SLURM_NTASKS", "x"}}), "environment: SLURM_NTASKS='x' is not an integer"},
      {slurm({{"SLURM_NTASKS", "0"}}), "environment: SLURM_NTASKS=0 must be >= 1"},
      {slurm({{"SLURM_PROCID", "8"}}), "environment: SLURM_PROCID=8 is not below SLURM_NTASKS=8"},
      {slurm({{"SLURM_PROCID", "-1"}}), "environment: SLURM_PROCID=-1 must be >= 0"},
      {slurm({{"SLURM_LOCALID", "4"}}),
       "environment: SLURM_LOCALID=4 is not below SLURM_NTASKS_PER_NODE=4"},
      {slurm({{"SLURM_NTASKS_PER_NODE", "16"}}),
       "environment: SLURM_NTASKS_PER_NODE=16 exceeds SLURM_NTASKS=8"},
      {slurm({{"SLURM_RESTART_COUNT", "z"}}),
       "environment: SLURM_RESTART_COUNT='z' is not an integer"},
      {slurm_no_localid, "environment: SLURM_LOCALID is not set"},
      {slurm_no_tasks_per_node,
       "environment: none of SLURM_STEP_TASKS_PER_NODE, SLURM_NTASKS_PER_NODE and SLURM_TASKS_PER_NODE is set"},
      {slurm_no_nodeid,
       "environment: SLURM_NODEID is not set (needed to pick this node's count in "
       "SLURM_TASKS_PER_NODE='2(x3),1')"},
      {slurm_uneven,
       "environment: SLURM_LOCALID=2 is not below SLURM_TASKS_PER_NODE='2(x3),1' (node 1: 2)"},
      {[&] {
         Env env = tasks_per_node("2(x3),1");
         env["SLURM_NODEID"] = "4";
         return env;
       }(),
       "environment: SLURM_NODEID=4 is not below the 4 nodes of SLURM_TASKS_PER_NODE='2(x3),1'"},
      {tasks_per_node("4(x2"),
       "environment: SLURM_TASKS_PER_NODE='4(x2' is not a list like 4, "
       "4(x2) or 2(x3),1"},
      {tasks_per_node("4(2)"), "SLURM_TASKS_PER_NODE='4(2)' is not a list like"},
      {tasks_per_node("0"), "SLURM_TASKS_PER_NODE='0' is not a list like"},
      {tasks_per_node("4,"), "SLURM_TASKS_PER_NODE='4,' is not a list like"},
      {tasks_per_node("4(x0)"), "SLURM_TASKS_PER_NODE='4(x0)' is not a list like"},
      {slurm({{"SLURM_JOB_NODELIST", "gpu[01-"}}),
       "environment: SLURM_JOB_NODELIST: SLURM node list 'gpu[01-': '[' without ']'"},
      {slurm_no_hosts, "environment: MASTER_ADDR is not set and neither is SLURM_STEP_NODELIST"},
  };
  for (const auto& [env, expected] : cases) {
    std::string message = error_of(env);
    EXPECT_FALSE(message.empty()) << "no error; expected: " << expected;
    EXPECT_NE(message.find(expected), std::string::npos)
        << "expected: " << expected << "\nfound:    " << message;
  }
}

TEST(SlurmNodelist, PlainHosts) {
  EXPECT_EQ(expand("gpu07"), std::vector<std::string>({"gpu07"}));
  EXPECT_EQ(expand("host1,host2"), std::vector<std::string>({"host1", "host2"}));
}

TEST(SlurmNodelist, RangesKeepZeroPaddingOfTheStart) {
  EXPECT_EQ(expand("gpu[01-04,07]"),
            std::vector<std::string>({"gpu01", "gpu02", "gpu03", "gpu04", "gpu07"}));
  EXPECT_EQ(expand("gpu[8-10]"), std::vector<std::string>({"gpu8", "gpu9", "gpu10"}));
  EXPECT_EQ(expand("n[098-101]"), std::vector<std::string>({"n098", "n099", "n100", "n101"}));
  EXPECT_EQ(expand("n[5]"), std::vector<std::string>({"n5"}));
}

TEST(SlurmNodelist, CommasInsideBracketsDoNotSplitHosts) {
  EXPECT_EQ(expand("a[1-2],b3"), std::vector<std::string>({"a1", "a2", "b3"}));
  EXPECT_EQ(expand("x[1,3],y[2-3]z"), std::vector<std::string>({"x1", "x3", "y2z", "y3z"}));
}

TEST(SlurmNodelist, SuffixAfterBracket) {
  EXPECT_EQ(expand("node-[001-002]-ib"), std::vector<std::string>({"node-001-ib", "node-002-ib"}));
}

TEST(SlurmNodelist, SeveralGroupsInOneHost) {
  EXPECT_EQ(expand("r[1-2]n[1-2]"), std::vector<std::string>({"r1n1", "r1n2", "r2n1", "r2n2"}));
}

TEST(SlurmNodelist, MalformedListsAreErrorsQuotingTheList) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"gpu[01-", "'[' without ']'"},
      {"gpu[3-1]", "range 3-1 runs backwards"},
      {"gpu]1", "']' without '['"},
      {"gpu[[1]]", "nested '['"},
      {"gpu[]", "'' is not N or N-M"},
      {"gpu[a-b]", "'a-b' is not N or N-M"},
      {"gpu[1-2-3]", "'1-2-3' is not N or N-M"},
      {"gpu[1,]", "'' is not N or N-M"},
      {"n[1-99999999999]", "range 1-99999999999 is too long"},
      {"", "empty host name"},
      {"a,,b", "empty host name"},
      {"a,", "empty host name"},
  };
  for (const auto& [list, why] : cases) {
    EXPECT_EQ(nodelist_error(list), "SLURM node list '" + list + "': " + why);
  }
}
