#!/usr/bin/env bash
# Which CPU kernel and thread choices change the demo's trained weights? Trains the English demo
# for STEPS (30) steps under each variant below and prints a hash of the weights (the bytes that
# `sori export --format nemo-state-dict` writes), the wall time and the last logged loss.
# docs/RESULTS.md has a run's figures and why scripts/demo.sh pins what it pins.
#   ./scripts/demo_determinism.sh        (after ./scripts/demo.sh has built and made the data)
set -uo pipefail
cd "$(dirname "$0")/.."
STEPS=${STEPS:-30}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PINNED=(ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2)
run() {
  local name=$1; shift
  local dir=$work/$name start end
  start=$(date +%s.%N)
  if ! env "$@" build/sori train --config configs/demo_en.yaml trainer.max_steps="$STEPS" trainer.val_check_interval=100000 \
      checkpoint.every_n_steps=0 trainer.run_dir="$dir" --progress lines > "$work/$name.log" 2>&1; then
    echo "$name: FAILED"; tail -5 "$work/$name.log"; return
  fi
  end=$(date +%s.%N)
  build/sori export --checkpoint "$dir/checkpoints/last.ckpt" --format nemo-state-dict --output "$dir/w.ckpt" > /dev/null 2>&1
  printf '%-18s weights %s  %.1f s  %s\n' "$name" "$(sha256sum < "$dir/w.ckpt" | cut -c1-16)" "$(echo "$end - $start" | bc)" \
    "$(grep -o 'loss [0-9.]*' "$work/$name.log" | tail -1)"
}
run default SORI=1
run default_again SORI=1
run aten_avx2 ATEN_CPU_CAPABILITY=avx2
run aten_default ATEN_CPU_CAPABILITY=default
run blas_haswell OPENBLAS_CORETYPE=Haswell
run blas_sandybridge OPENBLAS_CORETYPE=Sandybridge
run dnnl_avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2
run pinned "${PINNED[@]}"
run pinned_again "${PINNED[@]}"
run pinned_2threads "${PINNED[@]}" OMP_NUM_THREADS=2
run pinned_blas1 "${PINNED[@]}" OPENBLAS_NUM_THREADS=1
