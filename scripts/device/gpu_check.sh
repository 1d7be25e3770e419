#!/usr/bin/env bash
# Run on the GPU machine (PyTorch wheel with CUDA, no package registry), from the repo root, with
# device_debs/ carried along (scripts/device/fetch_debs.sh). Builds Sori against the wheel's
# LibTorch with C++20, then in this order, each stage timed in $OUT/stages.txt:
#   tests      the whole suite (CUDA tests included; CTEST_REGEX narrows it; SORI_SKIP_TESTS skips)
#   bench      with SORI_GPU_BENCH=1: the step against PyTorch eager (bench/run_gpu.sh; RUNS narrows it)
#   stall      with SORI_GPU_BENCH=1: the checkpoint stall of the large model in bf16 (bench/checkpoint_stall.sh)
#   nccl       NCCL under torchrun, world size 1: train, then resume (needs the demo slice, device_data/)
# SORI_BUILD_TARGET builds only the named targets. SORI_DEADLINE_S starts no stage (and no bench
# run) later than that many seconds after the start, so that a call under the device tool's time
# limit still brings back what it measured: leave a run's length (a minute or two) below the
# limit; a run cut off by the limit still leaves its output in $OUT. Results go to $OUT (or
# ./device_out).
#
# With 15 minutes of device time in all, one call (timeout_s 600) of
#   SORI_DEADLINE_S=420 SORI_GPU_BENCH=1 SORI_BUILD_TARGET="sori sori_tests sori_bench" \
#   CTEST_REGEX='Cuda|Attention' ROUNDS=3 STEPS=10 WARMUP=3 ./scripts/device/gpu_check.sh
# measures as much as the build leaves time for, the runs never measured first.
set -uo pipefail
OUT=${OUT:-device_out}
mkdir -p "$OUT"
START=$(date +%s)
export SORI_DEADLINE=${SORI_DEADLINE_S:+$((START + SORI_DEADLINE_S))}

# stage NAME FUNCTION: runs FUNCTION unless the deadline has passed, logs its exit and time, and
# returns its exit status (0 when skipped).
stage() {
  if [[ -n $SORI_DEADLINE ]] && (( $(date +%s) >= SORI_DEADLINE )); then
    echo "$1: skipped (deadline)" | tee -a "$OUT/stages.txt"
    return 0
  fi
  local t0 rc
  t0=$(date +%s)
  "$2"
  rc=$?
  echo "$1: exit $rc, $(( $(date +%s) - t0 )) s" | tee -a "$OUT/stages.txt"
  return "$rc"
}

PREFIX=/tmp/sori-deps
mkdir -p "$PREFIX"
for f in device_debs/*.deb; do dpkg -x "$f" "$PREFIX"; done
# Only shared linking here: the .pc files' private requirements (static codec libraries) are
# not carried, so drop them rather than let pkg-config reject the package.
sed -i '/^Requires.private/d' "$PREFIX"/usr/lib/x86_64-linux-gnu/pkgconfig/*.pc
export LD_LIBRARY_PATH="$PREFIX/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
export PKG_CONFIG_PATH="$PREFIX/usr/lib/x86_64-linux-gnu/pkgconfig:$PREFIX/usr/share/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$PREFIX"
TORCH_PREFIX=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'
  nproc
} > "$OUT/machine.txt" 2>&1

build() {
  cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=20 \
    -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DSORI_WITH_ONNX=OFF > "$OUT/configure.log" 2>&1 || { tail -50 "$OUT/configure.log"; return 1; }
  # shellcheck disable=SC2086  # SORI_BUILD_TARGET is a list of targets
  cmake --build build-gpu --parallel "$(nproc)" ${SORI_BUILD_TARGET:+--target $SORI_BUILD_TARGET} -- -k 0 \
    > "$OUT/build.log" 2>&1 || { grep -B2 -A12 "error" "$OUT/build.log" | head -150; return 1; }
}
tests() {
  (cd build-gpu && ctest --output-on-failure --parallel 8 --timeout 300 ${CTEST_REGEX:+-R "$CTEST_REGEX"}) > "$OUT/ctest.log" 2>&1
  local rc=$?
  tail -15 "$OUT/ctest.log"
  return $rc
}
bench() {
  ./bench/run_gpu.sh > "$OUT/bench.txt" 2>&1
  local rc=$?
  grep -E '^==|^ratio|"ratio"|failed|skipped' "$OUT/bench.txt"
  return $rc
}
stall() {
  DEVICE=cuda PRECISION=bf16 THREADS=4 SECONDS_PER_UTT=10 BIN=build-gpu/sori ./bench/checkpoint_stall.sh \
    > "$OUT/checkpoint_stall.txt" 2>&1
  local rc=$?
  grep -E '^median' "$OUT/checkpoint_stall.txt"
  return $rc
}
nccl() {  # 2 NCCL ranks cannot share one GPU: world size 1 under torchrun
  [ -f data/manifests/demo_en_train.jsonl ] || SORI_BIN=build-gpu/sori EN_TRAIN=200 EN_EVAL=40 KO_TRAIN=20 KO_EVAL=10 \
    ./scripts/make_demo_data.sh > "$OUT/demo_data.log" 2>&1 || return 1
  local steps
  for steps in 20 40; do
    torchrun --standalone --nproc_per_node 1 --no_python build-gpu/sori train --config configs/demo_en.yaml --resume auto \
      trainer.device=cuda trainer.max_steps=40 trainer.run_dir=/tmp/sori_nccl --stop-after-steps=$steps >> "$OUT/nccl.log" 2>&1
    echo "NCCL world size 1, up to step $steps: exit $?"
  done
  grep -E "data-parallel|resumed at|NCCL" "$OUT/nccl.log" | head -5
}

stage build build || exit 1
echo "build ok"
[ -n "${SORI_BUILD_ONLY:-}" ] && exit 0
# The demo slice carried as device_data/ (scripts/device/pack_demo_subset.sh): no synthesiser here.
[ -d device_data/data ] && cp -r device_data/data/. data/
[ -z "${SORI_SKIP_TESTS:-}" ] && stage tests tests
[ -n "${SORI_GPU_BENCH:-}" ] && stage bench bench
[ -n "${SORI_GPU_BENCH:-}" ] && stage stall stall
stage nccl nccl
exit 0
