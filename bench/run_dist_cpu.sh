#!/usr/bin/env bash
# Data-parallel scaling on CPU: the trainer's step unit on 1 rank vs 2 ranks under torchrun (Gloo),
# at the same per-rank batch and one intra-op thread per rank, with the Reducer's overlap on and
# off and sync BatchNorm on (the default) and off, plus the gradient all-reduce timed alone, and
# two independent single processes side by side (what sharing the machine's cores, caches and
# memory bandwidth costs without any communication). Rounds alternate the variants; the summary
# uses medians over rounds:
#   scaling efficiency = step(1 rank) / step(2 ranks, overlap on)   (1.0: perfect)
#   communication efficiency = step(2 independent processes) / step(2 ranks, overlap on)
#   hidden share      = (step(off) - step(on)) / all-reduce alone   (1.0: communication fully
#                       hidden behind backward; noisy when the all-reduce is small against a step)
# Prints one JSON object per variant and round, then a JSON summary and `efficiency: X`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
BIN=${BIN:-build/sori_bench}
PORT=${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
ARGS=(--config "${CONFIG:-configs/demo_en.yaml}" --batch "${BATCH:-12}" --seconds "${SECONDS_PER_UTT:-2.5}"
      --steps "${STEPS:-8}" --warmup 3 --threads 1)
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT

two_ranks() {
  torchrun -r 1 -t 1 --log_dir "$LOGS" --master_addr 127.0.0.1 --master_port "$PORT" \
    --nproc_per_node 2 --no_python "$BIN" "${ARGS[@]}" "$@" 2>&1 | grep '^\[default0\]:' | sed 's/^\[default0\]://'
}
step_of() { sed -nE 's/.*median step ([0-9.]+) s.*/\1/p' <<<"$1"; }
allreduce_of() { sed -nE 's/.*all-reduce alone ([0-9.]+) s.*/\1/p' <<<"$1"; }

results=()
for round in $(seq "$ROUNDS"); do
  one=$("$BIN" "${ARGS[@]}")
  results+=("{\"round\": $round, \"variant\": \"1 rank\", \"step_s\": $(step_of "$one")}")
  "$BIN" "${ARGS[@]}" > "$LOGS/side.txt" &
  side=$("$BIN" "${ARGS[@]}")
  wait
  results+=("{\"round\": $round, \"variant\": \"2 independent processes\", \"step_s\": $(step_of "$side")}")
  for variant in "overlap true" "overlap false" "overlap true, sync BN off"; do
    overrides=(trainer.ddp_overlap=$([[ $variant == "overlap false" ]] && echo false || echo true))
    [[ $variant == *"sync BN off" ]] && overrides+=(trainer.sync_batchnorm=false)
    out=$(two_ranks "${overrides[@]}")
    results+=("{\"round\": $round, \"variant\": \"2 ranks $variant\", \"step_s\": $(step_of "$out"), \"allreduce_s\": $(allreduce_of "$out")}")
  done
done
printf '%s\n' "${results[@]}"
printf '%s\n' "${results[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
med = lambda v, k="step_s": statistics.median(r[k] for r in rows if r["variant"] == v)
one, on, off = med("1 rank"), med("2 ranks overlap true"), med("2 ranks overlap false")
ar = med("2 ranks overlap true", "allreduce_s")
no_sync_bn, side = med("2 ranks overlap true, sync BN off"), med("2 independent processes")
s = {"rounds": len(rows) // 5, "step_1_rank_s": one, "step_2_independent_processes_s": side,
     "step_2_ranks_overlap_on_s": on,
     "step_2_ranks_overlap_off_s": off, "step_2_ranks_sync_bn_off_s": no_sync_bn, "allreduce_alone_s": ar,
     "scaling_efficiency": one / on, "scaling_efficiency_sync_bn_off": one / no_sync_bn,
     "communication_efficiency": side / on,
     "hidden_share": (off - on) / ar}
print(json.dumps(s))
print("efficiency: %.3f (%.3f without sync BN; %.3f against two independent processes)  hidden share of "
      "all-reduce: %.2f" % (s["scaling_efficiency"], s["scaling_efficiency_sync_bn_off"],
                            s["communication_efficiency"], s["hidden_share"]))'
