#!/usr/bin/env bash
# Inference latency on CPU for 10 s of audio (features in): ONNX Runtime on the exported demo
# model vs our LibTorch forward of the same architecture, batch 1 and 8, one thread each.
# Usage: bench/run_export_cpu.sh [checkpoint]   (default: the demo's averaged checkpoint)
# Settings (environment): RUNS (20), WARMUP (3), AUDIO_SECONDS (10), BIN_DIR (build), CONFIG (configs/demo_en.yaml: the
# architecture of the LibTorch side; it must be the checkpoint's for the figures to compare).
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${1:-runs/demo_en/averaged.ckpt}
BIN_DIR=${BIN_DIR:-build}
RUNS=${RUNS:-20}
AUDIO_SECONDS=${AUDIO_SECONDS:-10}
[ -f "$CKPT" ] || { echo "no checkpoint $CKPT (run ./scripts/demo.sh first)" >&2; exit 1; }
model=$(mktemp --suffix .onnx)
trap 'rm -f "$model"' EXIT
"$BIN_DIR"/sori export --checkpoint "$CKPT" --output "$model" > /dev/null
for batch in 1 8; do
  node bench/ort_latency.js "$model" "$batch" "$AUDIO_SECONDS" "$RUNS" 1
  "$BIN_DIR"/sori_bench --config "${CONFIG:-configs/demo_en.yaml}" --forward-only --no-features --batch "$batch" \
    --seconds "$AUDIO_SECONDS" --steps "$RUNS" --warmup "${WARMUP:-3}" --threads 1
done
