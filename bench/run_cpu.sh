#!/usr/bin/env bash
# The CPU comparisons of docs/PERFORMANCE.md (2 cores, Debian's LibTorch 1.13 on both sides, one
# intra-op thread each): the demo model compute-bound (12 x 2.5 s) and overhead-bound (one 1 s
# utterance), and FastConformer small compute-bound. Each is bench/compare_step.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
./bench/compare_step.sh
BATCH=1 SECONDS_PER_UTT=1 STEPS=30 ./bench/compare_step.sh
CONFIG=configs/fastconformer_ctc_small.yaml BATCH=4 SECONDS_PER_UTT=4 VOCAB=128 STEPS=5 ./bench/compare_step.sh
