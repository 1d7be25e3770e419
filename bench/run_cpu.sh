#!/usr/bin/env bash
# Our C++ training step vs the PyTorch-eager reference, same architecture and batch, same run.
# Ours runs the trainer's step unit (features and SpecAugment included); the reference starts from
# features (issue: equalise the harness). No dropout in either. Prints both
# medians and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
ARGS=(--batch "${BATCH:-12}" --seconds "${SECONDS_PER_UTT:-2.5}" --steps "${STEPS:-15}" --threads "${THREADS:-1}")
ours=$(build/sori_bench --config configs/demo_en.yaml "${ARGS[@]}" \
  model.encoder.dropout=0.0 model.encoder.dropout_att=0.0 model.encoder.dropout_pre_encoder=0.0)
ref=$(/usr/bin/python3 bench/train_step_reference.py --d-model 96 --layers 4 --heads 4 --factor 4 --channels 96 "${ARGS[@]}")
echo "$ours"
echo "$ref"
o=$(echo "$ours" | sed -E 's/.*median step ([0-9.]+) s.*/\1/')
r=$(echo "$ref" | sed -E 's/.*median step ([0-9.]+) s.*/\1/')
awk -v o="$o" -v r="$r" 'BEGIN { printf "ratio sori / eager = %.3f (below 1: sori faster)\n", o / r }'
