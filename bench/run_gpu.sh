#!/usr/bin/env bash
# On a CUDA machine (scripts/device/): FastConformer-CTC medium and large, fp32 (TF32) and bf16,
# batches of 32 x 10 s and 32 x 20 s, each bench/compare_step.sh against PyTorch eager.
# MODELS and PRECISIONS narrow the set (default "medium large" and "32 bf16").
set -euo pipefail
cd "$(dirname "$0")/.."
export DEVICE=cuda BIN=${BIN:-build-gpu/sori_bench} PYTHON=${PYTHON:-python3} VOCAB=1024 WARMUP=${WARMUP:-5} STEPS=${STEPS:-20}
# H100 SXM dense peaks: bf16 989 TFLOP/s, TF32 495 TFLOP/s (for model FLOPs utilisation).
for precision in ${PRECISIONS:-32 bf16}; do
  case $precision in bf16) export PEAK_TFLOPS=${PEAK_BF16:-989} ;; *) export PEAK_TFLOPS=${PEAK_TF32:-495} ;; esac
  for model in ${MODELS:-medium large}; do
    case $model in
      medium) BATCH=32 SECONDS_PER_UTT=10 ;;
      large) BATCH=32 SECONDS_PER_UTT=20 ;;  # 10.7 min of audio
    esac
    PRECISION=$precision CONFIG=configs/fastconformer_ctc_$model.yaml BATCH=$BATCH SECONDS_PER_UTT=$SECONDS_PER_UTT \
      ./bench/compare_step.sh
  done
done
