#!/usr/bin/env bash
# On a CUDA machine: our C++ step vs PyTorch eager for FastConformer-CTC medium (d256 x16, 8x)
# on batches of 32 x 10 s, fp32 (TF32) and bf16, both from features and without dropout.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build-gpu/sori_bench}
NODROP=(model.encoder.dropout=0.0 model.encoder.dropout_att=0.0 model.encoder.dropout_pre_encoder=0.0)
for prec in 32 bf16; do
  for rep in 1 2 3; do
    "$BIN" --device cuda --precision $prec --config configs/fastconformer_ctc_medium.yaml --vocab 1024 \
      --batch 32 --seconds 10 --warmup 5 --steps 20 "${NODROP[@]}"
    python3 bench/train_step_reference.py --device cuda --precision $prec --d-model 256 --layers 16 --heads 4 \
      --factor 8 --channels 256 --vocab 1024 --batch 32 --seconds 10 --warmup 5 --steps 20
  done
done
