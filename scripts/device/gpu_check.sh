#!/usr/bin/env bash
# Run on the GPU machine (PyTorch wheel with CUDA, no package registry), from the repo root, with
# device_debs/ carried along (scripts/device/fetch_debs.sh). Builds Sori against the wheel's
# LibTorch with C++20, runs the whole test suite (CUDA tests included; CTEST_REGEX narrows it),
# NCCL under torchrun and, with SORI_GPU_BENCH=1, the step comparison (bench/run_gpu.sh) and the
# checkpoint stall of the large model in bf16 (bench/checkpoint_stall.sh).
# SORI_BUILD_TARGET builds one target, SORI_SKIP_TESTS skips ctest. Results go to $OUT (or ./device_out).
set -uo pipefail
OUT=${OUT:-device_out}
mkdir -p "$OUT"
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
cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=20 \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$PREFIX/usr;$PREFIX/usr/lib/x86_64-linux-gnu/cmake" \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DSORI_WITH_ONNX=OFF > "$OUT/configure.log" 2>&1 || { tail -50 "$OUT/configure.log"; exit 1; }
cmake --build build-gpu --parallel "$(nproc)" ${SORI_BUILD_TARGET:+--target "$SORI_BUILD_TARGET"} -- -k 0 > "$OUT/build.log" 2>&1 || { grep -B2 -A12 "error" "$OUT/build.log" | head -150; exit 1; }
echo "build ok"
[ -n "${SORI_BUILD_ONLY:-}" ] && exit 0
# The demo slice carried as device_data/ (scripts/device/pack_demo_subset.sh): no synthesiser here.
[ -d device_data/data ] && cp -r device_data/data/. data/
[ -z "${SORI_SKIP_TESTS:-}" ] && (cd build-gpu && ctest --output-on-failure --parallel 8 --timeout 300 ${CTEST_REGEX:+-R "$CTEST_REGEX"}) > "$OUT/ctest.log" 2>&1
tail -15 "$OUT/ctest.log"
# NCCL with world size 1 (needs the demo slice; skipped without it) under torchrun (2 NCCL ranks cannot share one GPU): train, then resume.
if [ -f data/manifests/demo_en_train.jsonl ] || SORI_BIN=build-gpu/sori EN_TRAIN=200 EN_EVAL=40 KO_TRAIN=20 KO_EVAL=10 ./scripts/make_demo_data.sh > "$OUT/demo_data.log" 2>&1; then
  for steps in 20 40; do
    torchrun --standalone --nproc_per_node 1 --no_python build-gpu/sori train --config configs/demo_en.yaml --resume auto \
      trainer.device=cuda trainer.max_steps=40 trainer.run_dir=/tmp/sori_nccl --stop-after-steps=$steps >> "$OUT/nccl.log" 2>&1
    echo "NCCL world size 1, up to step $steps: exit $?"
  done
  grep -E "data-parallel|resumed at|NCCL" "$OUT/nccl.log" | head -5
fi
# The step comparison against PyTorch eager (bench/run_gpu.sh; MODELS and PRECISIONS narrow it).
[ -n "${SORI_GPU_BENCH:-}" ] && ./bench/run_gpu.sh > "$OUT/bench.txt" 2>&1
grep -E '^ratio|"ratio"|failed' "$OUT/bench.txt" 2>/dev/null
[ -n "${SORI_GPU_BENCH:-}" ] && DEVICE=cuda PRECISION=bf16 THREADS=4 SECONDS_PER_UTT=10 BIN=build-gpu/sori \
  ./bench/checkpoint_stall.sh > "$OUT/checkpoint_stall.txt" 2>&1
grep -E '^median' "$OUT/checkpoint_stall.txt" 2>/dev/null
