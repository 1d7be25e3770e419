#!/usr/bin/env bash
# libFuzzer on our own parsers (tests/fuzz/fuzz_targets.h), each for FUZZ_SECONDS (default 60),
# in a clang build of the whole project under -fsanitize=fuzzer-no-link,address,undefined
# (build-fuzz/). Starts from the committed corpus tests/fuzz/corpus/<target>/; every crash found
# is copied there as a regression input (the unit suite replays the corpora:
# FuzzCorpora.EveryCommittedInputIsAcceptedOrRefusedCleanly). New interesting inputs stay in
# build-fuzz/corpus/. Part of scripts/reliability.sh's long loops, not of CI.
#   ./scripts/fuzz.sh [target ...]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang++ > /dev/null || { echo "fuzz.sh needs clang (Debian: apt-get install clang)" >&2; exit 1; }
SECONDS_EACH=${FUZZ_SECONDS:-60}
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(manifest config nemo_pickle nemo_archive checkpoint checkpoint_index ksponspeech raw_pcm
  event_file metrics_history)
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DSORI_FUZZ=ON -DSORI_WITH_ONNX=OFF -DCMAKE_CXX_FLAGS="$SAN" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  > build-fuzz.configure.log 2>&1 || { tail -30 build-fuzz.configure.log; exit 1; }
cmake --build build-fuzz --parallel "$(nproc)" --target "${TARGETS[@]/#/fuzz_}"
status=0
# LibTorch is not instrumented; its allocations leak by design at exit.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
for t in "${TARGETS[@]}"; do
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/artifacts/$t"
  echo "== fuzz_$t for ${SECONDS_EACH} s"
  if ! build-fuzz/tests/fuzz_"$t" -max_total_time="$SECONDS_EACH" -max_len=262144 -rss_limit_mb=4096 \
       -artifact_prefix="build-fuzz/artifacts/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" \
       > "build-fuzz/fuzz_$t.log" 2>&1; then
    status=1
    echo "fuzz_$t FOUND A PROBLEM (build-fuzz/fuzz_$t.log):"
    grep -E "ERROR|SUMMARY|uncaught|terminate" "build-fuzz/fuzz_$t.log" | head -5
  fi
  grep -E "^Done [0-9]+ runs" "build-fuzz/fuzz_$t.log" | tail -1 || true
  for crash in build-fuzz/artifacts/"$t"/*; do
    [ -f "$crash" ] && cp "$crash" "tests/fuzz/corpus/$t/$(basename "$crash")" && echo "  regression input: tests/fuzz/corpus/$t/$(basename "$crash")"
  done
done
exit "$status"
