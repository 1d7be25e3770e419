#!/usr/bin/env bash
# On a CUDA machine (scripts/device/): FastConformer-CTC medium and large, fp32 (TF32) and bf16,
# batches of 32 x 10 s and 16 x 20 s, each bench/compare_step.sh against PyTorch eager.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEVICE=cuda BIN=${BIN:-build-gpu/sori_bench} PYTHON=${PYTHON:-python3} VOCAB=1024 WARMUP=5 STEPS=20
for precision in 32 bf16; do
  PRECISION=$precision CONFIG=configs/fastconformer_ctc_medium.yaml BATCH=32 SECONDS_PER_UTT=10 ./bench/compare_step.sh
  PRECISION=$precision CONFIG=configs/fastconformer_ctc_large.yaml BATCH=16 SECONDS_PER_UTT=20 ./bench/compare_step.sh
done
