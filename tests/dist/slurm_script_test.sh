#!/usr/bin/env bash
# Runs scripts/slurm/train.sbatch with stub srun and scontrol first on PATH, simulating 2 nodes x
# 2 tasks, and checks what each task was started with. A stand-in for a real cluster, which CI
# does not have.
#
#   bash tests/dist/slurm_script_test.sh [REPO_ROOT]    (default: the current directory)
set -euo pipefail

root=$(cd "${1:-.}" && pwd)
script=$root/scripts/slurm/train.sbatch
fail() {
  echo "FAIL slurm_script_test: $*" >&2
  exit 1
}
[[ -f $script ]] || fail "$script not found (pass the repository root as \$1)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/build"

# srun: SLURM_NTASKS copies of the command, block-distributed over the nodes as SLURM would.
cat >"$tmp/bin/srun" <<'EOF'
#!/usr/bin/env bash
set -u
opts=()
while [[ $# -gt 0 && $1 == -* ]]; do opts+=("$1"); shift; done
if [[ " ${opts[*]} " != *" --kill-on-bad-exit=1 "* ]]; then
  echo "stub srun: expected --kill-on-bad-exit=1, found options: ${opts[*]}" >&2
  exit 1
fi
pids=()
trap 'kill -USR1 "${pids[@]}" 2>/dev/null' USR1  # srun relays SIGUSR1 to the tasks
for ((i = 0; i < SLURM_NTASKS; i++)); do
  SLURM_PROCID=$i SLURM_LOCALID=$((i % SLURM_NTASKS_PER_NODE)) \
    SLURM_NODEID=$((i / SLURM_NTASKS_PER_NODE)) "$@" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do
  until wait "$pid"; do
    kill -0 "$pid" 2>/dev/null && continue  # interrupted by the trap
    status=1
    break
  done
done
exit $status
EOF

cat >"$tmp/bin/scontrol" <<'EOF'
#!/usr/bin/env bash
if [[ $1 == requeue ]]; then
  echo "$*" >"$SORI_TEST_OUT/scontrol_requeue.txt"
  exit 0
fi
if [[ $* != "show hostnames gpu[01-02]" ]]; then
  echo "stub scontrol: expected 'show hostnames gpu[01-02]', found '$*'" >&2
  exit 1
fi
printf 'gpu01\ngpu02\n'
EOF

# The default SORI_BIN, build/sori relative to the job's directory: records what it was given.
cat >"$tmp/build/sori" <<'EOF'
#!/usr/bin/env bash
if [[ $1 == config ]]; then  # `config show`: the resolved config, of which the script reads run_dir
  printf 'trainer:\n  max_steps: 7\n  run_dir: %s\n' "$SORI_TEST_RUN_DIR"
  exit 0
fi
{
  printf 'arg=%s\n' "$@"
  for v in RANK SLURM_PROCID SLURM_LOCALID SLURM_NODEID MASTER_ADDR MASTER_PORT OMP_NUM_THREADS; do
    printf '%s=%s\n' "$v" "${!v-<unset>}"
  done
} >"$SORI_TEST_OUT/rank_$SLURM_PROCID.txt"
if [[ -n ${SORI_TEST_WAIT_USR1:-} ]]; then  # as sori train: SIGUSR1 -> checkpoint, marker, exit 0
  trap '[[ $SLURM_PROCID == 0 ]] && echo "step 5" >"$SORI_TEST_RUN_DIR/preempted"; exit 0' USR1
  while :; do sleep 0.05; done
fi
[[ $SLURM_PROCID != "${SORI_TEST_FAIL_RANK:-}" ]]
EOF
chmod +x "$tmp/bin/srun" "$tmp/bin/scontrol" "$tmp/build/sori"

cfg="$tmp/my config.yaml"  # a space, to catch missing quotes
touch "$cfg"

# Runs the script in $tmp with a clean launcher environment plus the given VAR=value words.
job_env=(env -u RANK -u WORLD_SIZE -u LOCAL_RANK -u MASTER_ADDR -u MASTER_PORT
  -u OMP_NUM_THREADS -u SORI_BIN -u SORI_CONFIG -u SLURM_RESTART_COUNT
  PATH="$tmp/bin:$PATH" SORI_TEST_OUT="$tmp/out" SORI_TEST_RUN_DIR="$tmp/run" SLURM_JOB_ID=12345
  SLURM_JOB_NODELIST='gpu[01-02]' SLURM_NNODES=2 SLURM_NTASKS=4 SLURM_NTASKS_PER_NODE=2
  SLURM_CPUS_PER_TASK=6)
run_job() {
  rm -rf "$tmp/out"
  mkdir "$tmp/out"
  (cd "$tmp" && exec "${job_env[@]}" "$@")
}

# expect_ranks PORT OMP_THREADS: every rank's record matches.
expect_ranks() {
  for r in 0 1 2 3; do
    local got=$tmp/out/rank_$r.txt
    [[ -f $got ]] || fail "rank $r did not run (no $got)"
    printf '%s\n' "arg=train" "arg=--config" "arg=$cfg" "arg=--resume" "arg=auto" \
      "arg=trainer.max_steps=7" "RANK=<unset>" "SLURM_PROCID=$r" "SLURM_LOCALID=$((r % 2))" \
      "SLURM_NODEID=$((r / 2))" "MASTER_ADDR=gpu01" "MASTER_PORT=$1" "OMP_NUM_THREADS=$2" \
      >"$tmp/expected"
    diff -u "$tmp/expected" "$got" >&2 || fail "rank $r was started differently (diff above)"
  done
  local n
  n=$(find "$tmp/out" -name 'rank_*.txt' | wc -l)
  [[ $n -eq 4 ]] || fail "expected 4 ranks, found $n"
}
mkdir "$tmp/run"

run_job bash "$script" "$cfg" trainer.max_steps=7 || fail "train.sbatch exited with $?"
expect_ranks 32345 6  # 20000 + 12345 % 20000; SLURM_CPUS_PER_TASK

# The config from SORI_CONFIG; a port and thread count of the user's own are kept.
run_job SORI_CONFIG="$cfg" MASTER_PORT=29999 OMP_NUM_THREADS=3 bash "$script" \
  trainer.max_steps=7 || fail "train.sbatch with SORI_CONFIG exited with $?"
expect_ranks 29999 3

# A failing rank fails the job.
if run_job SORI_TEST_FAIL_RANK=2 bash "$script" "$cfg" trainer.max_steps=7; then
  fail "train.sbatch exited 0 although rank 2 failed"
fi

# No config at all is an error before srun starts anything.
if run_job bash "$script" trainer.max_steps=7 2>"$tmp/err"; then
  fail "train.sbatch exited 0 without a config"
fi
grep -q "no config" "$tmp/err" || fail "expected a 'no config' message, found: $(cat "$tmp/err")"
[[ -z $(ls "$tmp/out") ]] || fail "ranks ran although the config was missing"

[[ ! -f $tmp/out/scontrol_requeue.txt ]] || fail "a job that was not preempted was requeued"

# SIGUSR1 before the time limit (#SBATCH --signal=B:USR1@90): relayed through srun to every task;
# rank 0 leaves the preempted marker, so the script requeues the job and exits 0.
rm -rf "$tmp/out"
mkdir "$tmp/out"
# Not through run_job: $! must be the script's own process (the subshell execs into it).
(cd "$tmp" && exec "${job_env[@]}" SORI_TEST_WAIT_USR1=1 bash "$script" "$cfg" trainer.max_steps=7) \
  >"$tmp/job.log" 2>&1 &
job=$!
for _ in $(seq 200); do
  [[ $(find "$tmp/out" -name 'rank_*.txt' 2>/dev/null | wc -l) -eq 4 ]] && break
  sleep 0.05
done
sleep 0.2  # the tasks set their traps
kill -USR1 "$job"
wait "$job" || fail "train.sbatch exited with $? after SIGUSR1: $(cat "$tmp/job.log")"
grep -qx "requeue 12345" "$tmp/out/scontrol_requeue.txt" 2>/dev/null ||
  fail "the preempted job was not requeued: $(cat "$tmp/job.log")"
grep -q "requeueing job 12345" "$tmp/job.log" || fail "no requeue message: $(cat "$tmp/job.log")"

# A requeued attempt starts without the old marker (sori removes it too; the script does so
# before srun, in case the attempt dies before sori starts).
run_job bash "$script" "$cfg" trainer.max_steps=7 || fail "the requeued attempt exited with $?"
[[ ! -f $tmp/run/preempted ]] || fail "the marker of the previous attempt survived"

echo "PASS slurm_script_test"
