#!/usr/bin/env bash
# Inference latency on CPU for 10 s of audio (features in): ONNX Runtime on the exported demo
# model vs our LibTorch forward of the same architecture, batch 1 and 8, one thread each.
# Usage: bench/run_export_cpu.sh [checkpoint]   (default: the demo's averaged checkpoint)
set -euo pipefail
cd "$(dirname "$0")/.."
CKPT=${1:-runs/demo_en/averaged.ckpt}
[ -f "$CKPT" ] || { echo "no checkpoint $CKPT (run ./scripts/demo.sh first)" >&2; exit 1; }
build/sori export --checkpoint "$CKPT" --output /tmp/sori_bench.onnx > /dev/null
for batch in 1 8; do
  node bench/ort_latency.js /tmp/sori_bench.onnx "$batch" 10 20 1
  build/sori_bench --config configs/demo_en.yaml --forward-only --no-features --batch "$batch" --seconds 10 \
    --steps 20 --threads 1
done
