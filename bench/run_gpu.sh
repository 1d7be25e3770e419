#!/usr/bin/env bash
# On a CUDA machine (scripts/device/): bench/compare_step.sh against PyTorch eager for each run of
# RUNS, in order: MODEL:PRECISION:SDPA with MODEL medium (32 x 10 s per batch) or large
# (32 x 20 s, 10.7 min of audio), PRECISION 32 (TF32) or bf16, SDPA 1 for attention through
# scaled_dot_product_attention on both sides. The default order puts first what was never
# measured. SORI_DEADLINE (epoch seconds) stops starting runs after it, so that a device call
# with a time limit still returns what it measured. A failed run does not stop the others.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEVICE=cuda BIN=${BIN:-build-gpu/sori_bench} PYTHON=${PYTHON:-python3} VOCAB=1024 WARMUP=${WARMUP:-5} STEPS=${STEPS:-20}
RUNS=${RUNS:-"large:bf16:0 medium:bf16:1 large:bf16:1 medium:bf16:0 medium:32:0 large:32:0"}
for run in $RUNS; do
  IFS=: read -r model precision sdpa <<<"$run"
  if [[ -n ${SORI_DEADLINE:-} ]] && (( $(date +%s) >= SORI_DEADLINE )); then
    echo "skipped $run: deadline"
    continue
  fi
  # H100 SXM dense peaks: bf16 989 TFLOP/s, TF32 495 TFLOP/s (for model FLOPs utilisation).
  case $precision in bf16) peak=${PEAK_BF16:-989} ;; *) peak=${PEAK_TF32:-495} ;; esac
  case $model in
    medium) batch=32 seconds=10 ;;
    large) batch=32 seconds=20 ;;
    *) echo "run_gpu.sh: unknown model '$model' in RUNS (medium | large)" >&2; exit 2 ;;
  esac
  echo "== $model $precision sdpa=$sdpa"
  PEAK_TFLOPS=$peak PRECISION=$precision SDPA=$sdpa CONFIG=configs/fastconformer_ctc_$model.yaml BATCH=$batch \
    SECONDS_PER_UTT=$seconds ./bench/compare_step.sh || { echo "failed $run"; failed=1; }
done
exit "${failed:-0}"
