#!/usr/bin/env bash
# Sori's training step (sori_bench: the trainer's own step unit) against the PyTorch-eager
# reference (bench/train_step_reference.py) of the same model with the same weights and work:
# features, SpecAugment, forward, CTC, backward, clipping, AdamW; dropout off on both sides.
# First a parity check (same weights and audio -> log-probs within 1e-4, fp32, TF32 off), then
# ROUNDS rounds alternating Sori and eager (A B A B ...), each a fresh process timing
# WARMUP + STEPS steps. Prints one JSON object per run, a JSON summary (medians, the ratio of
# each pair and overall) and `ratio: X` = eager median / Sori median (> 1: Sori is faster).
#
# Settings (environment): CONFIG (configs/demo_en.yaml), BATCH (12), SECONDS_PER_UTT (2.5),
# DEVICE (cpu), PRECISION (32 | bf16), THREADS (1 on cpu, 0 = default), VOCAB (28), ROUNDS (5),
# STEPS (10), WARMUP (3), BIN (build/sori_bench), PYTHON (/usr/bin/python3 when it has torch),
# PEAK_TFLOPS (the device's dense peak for PRECISION: adds model FLOPs utilisation, PyTorch >= 2.1),
# COMPILE_ROUNDS (0: also time the reference under torch.compile, beside the ratio, not in it),
# SDPA (0; 1: attention through scaled_dot_product_attention on both sides, NeMo's use_pytorch_sdpa).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-configs/demo_en.yaml}
DEVICE=${DEVICE:-cpu}
PRECISION=${PRECISION:-32}
BIN=${BIN:-build/sori_bench}
# Debian's torch where it is installed (python3 first on PATH here has none), else the python3 on PATH.
PYTHON=${PYTHON:-$(/usr/bin/python3 -c 'import torch' 2>/dev/null && echo /usr/bin/python3 || echo python3)}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-$([[ $DEVICE == cpu ]] && echo 1 || echo 0)}
SIZE=(--batch "${BATCH:-12}" --seconds "${SECONDS_PER_UTT:-2.5}")
PEAK=(--peak-tflops "${PEAK_TFLOPS:-0}")
RUN=(--device "$DEVICE" --precision "$PRECISION" --threads "$THREADS" --warmup "${WARMUP:-3}" --steps "${STEPS:-10}")
SDPA_ON=false
[[ ${SDPA:-0} == 1 ]] && SDPA_ON=true
OVERRIDES=(model.encoder.dropout=0.0 model.encoder.dropout_att=0.0 model.encoder.dropout_pre_encoder=0.0
           model.encoder.dropout_emb=0.0 "model.encoder.use_pytorch_sdpa=$SDPA_ON")
REF=$(mktemp -d)
trap 'rm -rf "$REF"' EXIT

"$BIN" --config "$CONFIG" --device "$DEVICE" --vocab "${VOCAB:-28}" "${SIZE[@]}" --write-reference "$REF" "${OVERRIDES[@]}"
parity=$("$PYTHON" bench/train_step_reference.py --reference "$REF" --device "$DEVICE" --parity-only) || {
  echo "parity check failed: $parity" >&2
  exit 1
}

runs=("$parity")
echo "$parity"
for round in $(seq "$ROUNDS"); do
  sori=$("$BIN" --config "$CONFIG" --vocab "${VOCAB:-28}" "${SIZE[@]}" "${RUN[@]}" "${OVERRIDES[@]}")
  runs+=("{\"side\": \"sori\", \"round\": $round, \"median_s\": $(sed -nE 's/.*median step ([0-9.]+) s.*/\1/p' <<<"$sori")}")
  echo "${runs[-1]}"
  eager=$("$PYTHON" bench/train_step_reference.py --reference "$REF" "${SIZE[@]}" "${RUN[@]}" "${PEAK[@]}")
  runs+=("$(sed "s/^{/{\"round\": $round, /" <<<"$eager")")
  echo "${runs[-1]}"
done
for round in $(seq "${COMPILE_ROUNDS:-0}"); do
  compiled=$("$PYTHON" bench/train_step_reference.py --reference "$REF" "${SIZE[@]}" "${RUN[@]}" "${PEAK[@]}" --compile)
  runs+=("$(sed "s/^{/{\"round\": $round, /" <<<"$compiled")")
  echo "${runs[-1]}"
done
printf '%s\n' "${runs[@]}" | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
parity = rows[0]
sori = {r["round"]: r["median_s"] for r in rows[1:] if r["side"] == "sori"}
eager = {r["round"]: r["median_s"] for r in rows[1:] if r["side"] == "eager"}
s = {"config": "'"$CONFIG"'", "device": "'"$DEVICE"'", "precision": "'"$PRECISION"'", "sdpa": "'"${SDPA:-0}"'" == "1",
     "batch": '"${BATCH:-12}"', "seconds": '"${SECONDS_PER_UTT:-2.5}"', "rounds": len(sori),
     "parity_max_abs_diff": parity["parity_max_abs_diff"],
     "sori_median_s": statistics.median(sori.values()), "eager_median_s": statistics.median(eager.values()),
     "ratio_per_round": [round(eager[k] / sori[k], 3) for k in sorted(sori)]}
s["ratio"] = s["eager_median_s"] / s["sori_median_s"]
flops = next((r.get("step_flops") for r in rows[1:] if r["side"] == "eager"), None)
peak = float("'"${PEAK_TFLOPS:-0}"'") * 1e12
compiled = [r["median_s"] for r in rows[1:] if r["side"] == "compiled"]
if compiled:
    s["compiled_median_s"] = statistics.median(compiled)
    s["ratio_vs_compiled"] = s["compiled_median_s"] / s["sori_median_s"]
if flops:
    s["step_tflop"] = flops / 1e12
    if peak > 0:
        for side in ["sori", "eager", "compiled"]:
            if side + "_median_s" in s:
                s[side + "_mfu"] = round(flops / s[side + "_median_s"] / peak, 4)
print(json.dumps(s))
print("ratio: %.3f" % s["ratio"])'
